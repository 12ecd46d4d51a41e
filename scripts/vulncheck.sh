#!/usr/bin/env bash
# govulncheck against an offline vulnerability database built from the
# golang.org/x/vulndb module (the default database is not reachable here).
# The database and the tool are cached per version in the tool cache
# ($YAMA_TOOL_CACHE, default ~/.cache/terraform-provider-yama).
set -euo pipefail
cd "$(dirname "$0")/.."
# go.mod pins a patched toolchain: scan with it, not with whatever Go the
# machine defaults to (GOTOOLCHAIN=local would report its stdlib's holes).
export GOTOOLCHAIN=auto
vulndb=v0.0.0-20261105234957-e22db6528018
vuln=v1.9.0
cache=${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}
bin=$cache/bin
db=$cache/vulndb/$vulndb
[ -x "$bin/govulncheck-$vuln" ] || { GOBIN=$bin GOFLAGS=-mod=mod go install "golang.org/x/vuln/cmd/govulncheck@$vuln" && mv "$bin/govulncheck" "$bin/govulncheck-$vuln"; }
if [ ! -f "$db/index/db.json" ]; then
	src=$(GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$vulndb" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	rm -rf "$db" && mkdir -p "$db"
	GOFLAGS=-mod=mod go run "golang.org/x/vulndb/cmd/indexdb@$vulndb" -vulns "$src/data/osv" -out "$db"
fi
"$bin/govulncheck-$vuln" -db "file://$db" ./...
