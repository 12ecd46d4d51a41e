#!/usr/bin/env bash
# Regenerates docs/ from the provider schema, examples/ and templates/ with
# tfplugindocs. Works offline: tfplugindocs builds the provider and asks
# terraform (from scripts/deps.sh) for the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
tf=$(scripts/deps.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/terraformrc"
# tfplugindocs runs `terraform` from PATH; the fallback build is named
# terraform-<version>.
mkdir "$tmp/bin"
ln -s "$tf" "$tmp/bin/terraform"
PATH="$tmp/bin:$PATH" TF_CLI_CONFIG_FILE="$tmp/terraformrc" \
	go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.25.0 \
	generate --provider-name yama --rendered-provider-name "Yama"
