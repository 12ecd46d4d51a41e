#!/usr/bin/env bash
# make demo: build the provider, start a throwaway sandbox host (a real sshd
# in its own mount namespace, see internal/testhost), then run Terraform on
# examples/demo: apply, a no-change plan, a change behind Terraform's back
# that the next plan catches, and an apply that converges. Everything lives
# under .demo/ and is cleaned up at the end; this machine's own kernel
# settings are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tf=$(scripts/deps.sh)
version=0.1.0
demo=$root/.demo
rm -rf "$demo"
mkdir -p "$demo/work" "$demo/sandbox"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Building the provider into a local filesystem mirror"
mirror=$demo/mirror/registry.terraform.io/terraform-yama/yama/$version/linux_amd64
mkdir -p "$mirror"
go build -trimpath -ldflags "-X main.version=$version" -o "$mirror/terraform-provider-yama_v$version" .
go build -o "$demo/yama-sandbox" ./internal/testhost/cmd/yama-sandbox
cat >"$demo/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$demo/mirror"
    include = ["registry.terraform.io/terraform-yama/yama"]
  }
  direct {
    exclude = ["registry.terraform.io/terraform-yama/yama"]
  }
}
RC
export TF_CLI_CONFIG_FILE=$demo/terraformrc TF_IN_AUTOMATION=1
unset SSH_AUTH_SOCK

say "Starting a sandbox host (sshd on a loopback address, Yama stand-in at scope 1)"
"$demo/yama-sandbox" -n 1 -dir "$demo/sandbox" -scope 1 >"$demo/sandbox.out" 2>"$demo/sandbox.log" &
sandbox=$!
cleanup() {
	kill "$sandbox" 2>/dev/null || true
	wait "$sandbox" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
	grep -q ready "$demo/sandbox.out" 2>/dev/null && break
	kill -0 "$sandbox" 2>/dev/null || { cat "$demo/sandbox.log" >&2; exit 1; }
	sleep 0.2
done
grep -q ready "$demo/sandbox.out" || { echo "sandbox did not start" >&2; cat "$demo/sandbox.log" >&2; exit 1; }
env_json=$demo/sandbox/env.json
field() { grep -m1 "\"$1\"" "$env_json" | sed 's/.*": *"\{0,1\}\([^",]*\)"\{0,1\},\{0,1\}$/\1/'; }
host=$(field address)
key=$(field client_key)
known_hosts=$(field known_hosts)
echo "host $host, key $key, known_hosts $known_hosts"
remote() {
	ssh -i "$key" -o UserKnownHostsFile="$known_hosts" -o StrictHostKeyChecking=yes \
		-o BatchMode=yes -o LogLevel=ERROR "root@$host" "$@"
}

cd "$demo/work"
cp "$root/examples/demo/main.tf" .
cat >terraform.tfvars <<VARS
host             = "$host"
private_key_file = "$key"
known_hosts_file = "$known_hosts"
scope            = 2
VARS

say "terraform init"
"$tf" init -input=false -no-color | grep -v '^$'

say "terraform apply: scope 1 -> 2 (admin-only), live and persisted"
"$tf" apply -input=false -auto-approve -no-color

say "On the host now"
remote 'echo "live value: $(cat /proc/sys/kernel/yama/ptrace_scope)"; echo "--- /etc/sysctl.d/10-ptrace.conf"; cat /etc/sysctl.d/10-ptrace.conf'

say "terraform plan again: nothing to do"
"$tf" plan -input=false -detailed-exitcode -no-color || { echo "expected no changes" >&2; exit 1; }

say "Changing the host behind Terraform's back: live value 0, drop-in edited"
remote 'echo 0 > /proc/sys/kernel/yama/ptrace_scope && echo "kernel.yama.ptrace_scope = 0" > /etc/sysctl.d/10-ptrace.conf'

say "terraform plan catches the drift"
set +e
"$tf" plan -input=false -detailed-exitcode -no-color
rc=$?
set -e
[ "$rc" = 2 ] || { echo "expected plan to show changes (exit 2), got $rc" >&2; exit 1; }

say "terraform apply converges the host"
"$tf" apply -input=false -auto-approve -no-color
"$tf" plan -input=false -detailed-exitcode -no-color >/dev/null && echo "converged: the next plan shows no changes"
remote 'echo "live value: $(cat /proc/sys/kernel/yama/ptrace_scope)"'

say "terraform destroy: on_destroy = restore puts back scope 1 and removes the drop-in"
"$tf" destroy -input=false -auto-approve -no-color | tail -n 3
remote 'echo "live value: $(cat /proc/sys/kernel/yama/ptrace_scope)"; ls /etc/sysctl.d/'

say "Demo done"
