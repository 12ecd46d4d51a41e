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
#   - terraform: the one on PATH, else Terraform 1.5.7 (MPL) built from
#     source with the Go toolchain into the tool cache (about 3-6 minutes,
#     once per machine; $YAMA_TOOL_CACHE, default ~/.cache/terraform-provider-yama,
#     outside the clone so clean CI clones reuse it).
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

if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then
	echo "$TF_ACC_TERRAFORM_PATH"
elif command -v terraform >/dev/null; then
	command -v terraform
else
	bin="${YAMA_TOOL_CACHE:-$HOME/.cache/terraform-provider-yama}/bin"
	if [ ! -x "$bin/terraform" ]; then
		echo "deps: no terraform on PATH; building Terraform 1.5.7 into $bin (once, ~3 min)" >&2
		GOBIN="$bin" GOFLAGS=-mod=mod go install github.com/hashicorp/terraform@v1.5.7 >&2
	fi
	echo "$bin/terraform"
fi
