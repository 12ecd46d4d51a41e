#!/usr/bin/env bash
# Lints the remote scripts (internal/yama/scripts, POSIX sh; settings in
# its .shellcheckrc) with shellcheck, installed with apt-get when missing
# and run as root; then the Go code with golangci-lint and .golangci.yml
# (the vmtest build tag included), built once with `go install` into the
# tool cache ($YAMA_TOOL_CACHE, default ~/.cache/terraform-provider-yama).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v shellcheck >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "lint: need shellcheck; run as root or install it first (Debian package shellcheck)" >&2
		exit 1
	fi
	echo "lint: installing shellcheck" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends shellcheck >&2
fi
shellcheck -s sh -x internal/yama/scripts/*.sh

version=v2.15.0
bin=${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}/bin
lint=$bin/golangci-lint-$version
if [ ! -x "$lint" ]; then
	echo "lint: building golangci-lint $version (once)" >&2
	GOBIN=$bin GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
	mv "$bin/golangci-lint" "$lint"
fi
"$lint" run ./...
