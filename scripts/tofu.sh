#!/usr/bin/env bash
# Prints the path of an OpenTofu CLI for `make testacc-tofu`: $TOFU if set,
# else OpenTofu $version built once from its source on the Go module proxy
# into the tool cache ($YAMA_TOOL_CACHE, default ~/.cache/terraform-provider-yama).
# `go install` refuses the module (it has replace directives), so the
# source is copied out of the module cache and built with `go build`.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.12.6
if [ -n "${TOFU:-}" ]; then echo "$TOFU"; exit 0; fi
bin=${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}/bin
tofu=$bin/tofu-$version
if [ ! -x "$tofu" ]; then
	echo "tofu: building OpenTofu $version from source (once; about 10-15 minutes on 2 cores)" >&2
	src=$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	cp -r "$src/." "$work"
	chmod -R u+w "$work"
	mkdir -p "$bin"
	(cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$tofu.tmp" ./cmd/tofu) >&2
	mv "$tofu.tmp" "$tofu"
fi
echo "$tofu"
