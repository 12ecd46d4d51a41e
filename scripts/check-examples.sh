#!/usr/bin/env bash
# Every directory under examples/ must pass `terraform fmt -check` and
# `terraform validate` against the provider built from this tree (through
# dev_overrides, so no registry and no init are needed).
set -euo pipefail
cd "$(dirname "$0")/.."
tf=$(scripts/deps.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/bin/terraform-provider-yama" .
cat >"$tmp/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/terraform-yama/yama" = "$tmp/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE=$tmp/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
"$tf" fmt -check -recursive -diff examples
fail=0
for dir in $(find examples -name '*.tf' -printf '%h\n' | sort -u); do
	# Examples of a single resource or data source are validated together
	# with the provider example, as the docs present them.
	work="$tmp/validate/$dir"
	mkdir -p "$work"
	cp "$dir"/*.tf "$work/"
	[ -f "$work/provider.tf" ] || [ -f "$work/main.tf" ] || cp examples/provider/provider.tf "$work/"
	if out=$(cd "$work" && "$tf" validate -no-color 2>&1); then
		echo "ok   $dir"
	else
		echo "FAIL $dir"
		echo "$out" | sed 's/^/     /'
		fail=1
	fi
done
exit "$fail"
