#!/usr/bin/env bash
# golangci-lint with .golangci.yml (the vmtest build tag included), built
# once with `go install` into the tool cache ($YAMA_TOOL_CACHE, default
# ~/.cache/terraform-provider-yama).
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
bin=${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}/bin
lint=$bin/golangci-lint-$version
if [ ! -x "$lint" ]; then
	echo "lint: building golangci-lint $version (once)" >&2
	GOBIN=$bin GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
	mv "$bin/golangci-lint" "$lint"
fi
"$lint" run ./...
