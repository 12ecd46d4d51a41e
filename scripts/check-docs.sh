#!/usr/bin/env bash
# docs/ is generated: regenerate it and fail if that changes anything, then
# run tfplugindocs' own validation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/docs.sh >/dev/null
if ! git diff --exit-code --stat -- docs/ || [ -n "$(git status --porcelain -- docs/)" ]; then
	git status --porcelain -- docs/
	echo "docs/ is stale: run 'make docs' and commit the result" >&2
	exit 1
fi
go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.25.0 validate --provider-name yama 2>&1 | grep -v '\[DEBUG\]'
echo "docs: up to date and valid"
