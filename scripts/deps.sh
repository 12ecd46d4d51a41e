#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, and
# prints the terraform binary to use on its last line.
#
#   - openssh-server and sudo: sandbox hosts run real sshd and sudo;
#   - busybox: the remote scripts are proven under busybox sh as well as
#     dash and bash (internal/yama/yamatest; a failure under TF_ACC);
#   - zsh, fish, tcsh, mksh (and busybox, bash, dash): every command must
#     work whatever the login user's shell (TestCommandLineUnderEveryShell,
#     TestAccLoginShells);
#   - terraform: the one on PATH when it is 1.11 or newer (write-only
#     attributes, which the ssh blocks' secrets are), else Terraform 1.13.3
#     (BUSL; resource identity too) built from its module source with the
#     Go toolchain into the tool cache (about 3-6 minutes, once per machine;
#     $YAMA_TOOL_CACHE, default ~/.cache/terraform-provider-yama, outside
#     the clone so clean CI clones reuse it). `go install` refuses it (its
#     go.mod has replace directives), and its module zip lacks the
#     remote-state backends: they are cut out before building.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v sudo >/dev/null || need+=(sudo)
command -v busybox >/dev/null || need+=(busybox)
for sh in zsh fish tcsh mksh; do
	command -v "$sh" >/dev/null || need+=("$sh")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: need ${need[*]}; run as root or install them first" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

tf_version=1.13.3
# recent_enough TF: Terraform 1.11 or newer (write-only attributes).
recent_enough() {
	local v
	v=$("$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9]*\.[0-9]*\).*/\1/p' | head -n 1)
	[ -n "$v" ] && [ "${v%%.*}" -ge 1 ] && { [ "${v%%.*}" -gt 1 ] || [ "${v#*.}" -ge 11 ]; }
}
# build_terraform BIN: Terraform $tf_version from its module source.
build_terraform() {
	local src work cut='azure|consul|cos|gcs|kubernetes|oci|oss|pg|s3'
	src=$(GOFLAGS=-mod=mod go mod download -json "github.com/hashicorp/terraform@v$tf_version" | sed -n 's/.*"Dir": *"\(.*\)",*/\1/p')
	[ -d "$src" ] || { echo "deps: could not download github.com/hashicorp/terraform@v$tf_version" >&2; exit 1; }
	work=$(mktemp -d)
	trap 'rm -rf "$work"' RETURN
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	sed -i -E "/internal\/backend\/remote-state\/($cut)( |\$)/d" "$work/go.mod"
	sed -i -E '/backend(Azure|Consul|Cos|GCS|Kubernetes|OCI|OSS|Pg|S3)[ .]/d' "$work/internal/backend/init/init.go"
	(cd "$work" && go build -mod=mod -o "$1" .) >&2
}

if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then
	echo "$TF_ACC_TERRAFORM_PATH"
elif command -v terraform >/dev/null && recent_enough "$(command -v terraform)"; then
	command -v terraform
else
	bin="${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}/bin"
	if [ ! -x "$bin/terraform-$tf_version" ]; then
		echo "deps: no terraform >= 1.11 on PATH; building Terraform $tf_version into $bin (once, ~3-6 min)" >&2
		mkdir -p "$bin"
		build_terraform "$bin/terraform-$tf_version"
	fi
	echo "$bin/terraform-$tf_version"
fi
