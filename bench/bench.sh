#!/usr/bin/env bash
# make bench: Terraform with this provider vs. the plain-ssh floor vs.
# Ansible, on the same sandbox hosts (real sshd on loopback addresses, see
# internal/testhost), for each fleet size. Prints one table.
#
#   bench/bench.sh [N ...]        default: 10 50 200
#   RUNS=5 bench/bench.sh 50      runs per measurement (median), default 3
#
# Every measurement is a whole command, wall clock, median of RUNS:
#   floor         plain OpenSSH: `ssh host cat /proc/sys/kernel/yama/ptrace_scope`, 10 at a time (xargs -P10)
#   tf plan       terraform plan (refresh of every host, no changes), -parallelism=10
#   tf apply      terraform apply that changes every host (scope 1 <-> 2)
#   tf apply nc   terraform apply with nothing to change
#   ans check     ansible-playbook --check (forks=10)
#   ans apply     ansible-playbook that changes every host
#   ans apply nc  ansible-playbook with nothing to change
# plus the provider's peak RSS and the SSH logins and exec sessions per
# host per terraform command, counted from the hosts' sshd logs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("${@:-10 50 200}")
read -r -a sizes <<<"${sizes[*]}"
runs=${RUNS:-3}
tf=$(scripts/deps.sh)
if ! command -v ansible-playbook >/dev/null || ! command -v bc >/dev/null || [ ! -x /usr/bin/time ]; then
	echo "bench: installing ansible, bc, time (Debian packages)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible bc time >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

work=$root/.cache/bench
rm -rf "$work"
mkdir -p "$work"
version=0.1.0
mirror=$work/mirror/registry.terraform.io/terraform-yama/yama/$version/linux_amd64
mkdir -p "$mirror"
go build -trimpath -ldflags "-X main.version=$version" -o "$mirror/terraform-provider-yama_v$version" .
go build -o "$work/yama-sandbox" ./internal/testhost/cmd/yama-sandbox
cat >"$work/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/terraform-yama/yama"]
  }
  direct {
    exclude = ["registry.terraform.io/terraform-yama/yama"]
  }
}
RC
export TF_CLI_CONFIG_FILE=$work/terraformrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# Ansible's persistent connections (ControlPersist) live in a directory of
# the benchmark's own (short: socket paths are limited to 108 bytes), so it
# can end them without touching anyone else's.
cpdir=$(mktemp -d /tmp/yama-bench-cp.XXXXXX)
trap 'pkill -f "$cpdir/" || true; rm -rf "$cpdir"' EXIT
export ANSIBLE_SSH_CONTROL_PATH_DIR=$cpdir
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_FORKS=10 ANSIBLE_STDOUT_CALLBACK=null ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
unset SSH_AUTH_SOCK

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed CMD...: runs CMD, prints its wall time in seconds; output to $log.
timed() {
	local t0 t1
	t0=$(now)
	"$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -n 30 "$log" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
# Counters summed over every host's sshd log.
count() { cat "$sbx"/hosts/*/fs/run/testhost/sshd.log 2>/dev/null | grep -c "$1" || true; }
# sshd_cpu: CPU seconds used so far by the hosts' sshd listeners and every
# process they spawned and reaped (logins, shells, the scripts' tools).
sshd_cpu() {
	local tot=0 p a f
	for p in $(pgrep -f "sshd -D -f /run/testhost/sshd_config" || true); do
		read -r a 2>/dev/null <"/proc/$p/stat" || continue
		read -r -a f <<<"${a##*) }"
		tot=$((tot + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$tot / $(getconf CLK_TCK)" | bc -l
}
# sshd_settle: a connection's CPU reaches its listener only when its sshd
# process is reaped; wait (at most 10 s) until no connection is left.
sshd_settle() {
	local listeners
	listeners=$(pgrep -d, -f "sshd -D -f /run/testhost/sshd_config" || true)
	[ -n "$listeners" ] || return 0
	for _ in $(seq 100); do
		pgrep -P "$listeners" >/dev/null || return 0
		sleep 0.1
	done
	echo "bench: sshd connections still open after 10 s; CPU split may be low" >&2
}
# cpu_split ARGS...: runs terraform ARGS (a changing apply) like tfr and
# records the CPU seconds of terraform with its provider processes, and of
# the hosts.
cpu_split() {
	local s0
	sshd_settle
	s0=$(sshd_cpu)
	(cd "$tfd" && /usr/bin/time -f "%U %S" -o "$work/time" "$tf" "$@" -input=false -no-color -parallelism=10) >>"$log" 2>&1 ||
		{ echo "bench: failed: terraform $*" >&2; tail -n 30 "$log" >&2; exit 1; }
	R[$n,cpu_tf]=$(awk '{printf "%.1f", $1 + $2}' "$work/time")
	sshd_settle
	R[$n,cpu_sshd]=$(printf '%.1f' "$(echo "$(sshd_cpu) - $s0" | bc -l)")
}
# peak_rss_start / peak_rss_stop: sample the provider's VmHWM (peak RSS).
peak_rss_start() {
	: >"$work/rss"
	(while :; do
		for p in $(pgrep -f terraform-provider-yama_v || true); do
			awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null >>"$work/rss" || true
		done
		sleep 0.05
	done) &
	sampler=$!
}
peak_rss_stop() {
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	sort -n "$work/rss" | tail -n 1 | awk '{printf "%.0f", $1/1024}'
}

declare -A R
for n in "${sizes[@]}"; do
	echo "bench: N=$n: starting sandbox hosts" >&2
	sbx=$work/sandbox-$n
	log=$work/log-$n
	: >"$log"
	"$work/yama-sandbox" -n "$n" -dir "$sbx" -scope 1 >"$work/sandbox-$n.out" 2>"$work/sandbox-$n.err" &
	spid=$!
	for _ in $(seq 600); do grep -q ready "$work/sandbox-$n.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$work/sandbox-$n.out" || { cat "$work/sandbox-$n.err" >&2; exit 1; }
	grep '"address"' "$sbx/env.json" | sed 's/.*: "\(.*\)".*/\1/' >"$work/hosts-$n"
	# The sandbox CLI keeps host trees in /dev/shm; Dir/hosts points there.
	key=$sbx/id_ed25519
	kh=$sbx/known_hosts
	ssh_opts=(-i "$key" -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR)

	# Terraform working directory.
	tfd=$work/tf-$n
	mkdir -p "$tfd"
	cp bench/main.tf "$tfd/"
	{
		printf 'hosts = ['
		sed 's/.*/"&",/' "$work/hosts-$n" | tr -d '\n'
		printf ']\nprivate_key_file = "%s"\nknown_hosts_file = "%s"\n' "$key" "$kh"
	} >"$tfd/terraform.tfvars"
	(cd "$tfd" && "$tf" init -input=false >>"$log" 2>&1)
	tfr() { (cd "$tfd" && "$tf" "$@" -input=false -no-color -parallelism=10); }

	# Ansible inventory.
	{
		echo "[fleet]"
		cat "$work/hosts-$n"
		echo "[fleet:vars]"
		echo "ansible_user=root"
		echo "ansible_ssh_private_key_file=$key"
		echo "ansible_ssh_common_args='-o UserKnownHostsFile=$kh -o StrictHostKeyChecking=yes'"
	} >"$work/inventory-$n"
	ans() { ansible-playbook -i "$work/inventory-$n" bench/playbook.yml "$@"; }

	floor=() plan=() apply=() applync=() check=() aapply=() aapplync=()
	echo "bench: N=$n: terraform create (once)" >&2
	R[$n,create]=$(timed tfr apply -auto-approve -var scope=2)
	scope=2
	logins0=$(count "Accepted publickey") sessions0=$(count "Starting session")
	peak_rss_start
	for i in $(seq "$runs"); do
		echo "bench: N=$n: run $i/$runs" >&2
		floor+=("$(timed sh -c "xargs -P10 -I{} ssh ${ssh_opts[*]} root@{} cat /proc/sys/kernel/yama/ptrace_scope <'$work/hosts-$n'")")
		l0=$(count "Accepted publickey") s0=$(count "Starting session")
		plan+=("$(timed tfr plan -detailed-exitcode -var scope=$scope)")
		R[$n,plan_logins]=$(( $(count "Accepted publickey") - l0 )) R[$n,plan_sessions]=$(( $(count "Starting session") - s0 ))
		scope=$((3 - scope))
		l0=$(count "Accepted publickey") s0=$(count "Starting session")
		apply+=("$(timed tfr apply -auto-approve -var scope=$scope)")
		R[$n,apply_logins]=$(( $(count "Accepted publickey") - l0 )) R[$n,apply_sessions]=$(( $(count "Starting session") - s0 ))
		applync+=("$(timed tfr apply -auto-approve -var scope=$scope)")
		scope=$((3 - scope))
		check+=("$(timed ans --check -e scope=$scope)")
		aapply+=("$(timed ans -e scope=$scope)")
		aapplync+=("$(timed ans -e scope=$scope)")
		# Ansible keeps its SSH connections 60 s (ControlPersist); end them
		# now, or their sessions' CPU would be counted for terraform's apply.
		pkill -f "$cpdir/" || true
		# Leave the hosts where terraform's state says they are; measure
		# where the CPU of this changing apply goes.
		cpu_split apply -auto-approve -var scope=$scope
	done
	R[$n,rss]=$(peak_rss_stop)
	R[$n,floor]=$(printf '%s\n' "${floor[@]}" | median)
	R[$n,plan]=$(printf '%s\n' "${plan[@]}" | median)
	R[$n,apply]=$(printf '%s\n' "${apply[@]}" | median)
	R[$n,applync]=$(printf '%s\n' "${applync[@]}" | median)
	R[$n,check]=$(printf '%s\n' "${check[@]}" | median)
	R[$n,aapply]=$(printf '%s\n' "${aapply[@]}" | median)
	R[$n,aapplync]=$(printf '%s\n' "${aapplync[@]}" | median)
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
done

f() { printf '%.2f' "$1"; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
echo
echo "Wall time in seconds, median of $runs runs; -parallelism=10 / forks=10 / xargs -P10; $(nproc) cores."
echo
printf '| %-5s | %-6s | %-7s | %-8s | %-11s | %-9s | %-9s | %-12s | %-10s | %-14s | %-15s | %-8s | %-14s | %-15s |\n' \
	N floor "tf plan" "tf apply" "tf apply nc" "ans check" "ans apply" "ans apply nc" "plan/floor" "ans check/plan" "ans apply/apply" "peak RSS" "plan ssh/host" "apply ssh/host"
echo "|-------|--------|---------|----------|-------------|-----------|-----------|--------------|------------|----------------|-----------------|----------|----------------|-----------------|"
for n in "${sizes[@]}"; do
	printf '| %-5s | %-6s | %-7s | %-8s | %-11s | %-9s | %-9s | %-12s | %-10s | %-14s | %-15s | %-8s | %-14s | %-15s |\n' \
		"$n" "$(f "${R[$n,floor]}")" "$(f "${R[$n,plan]}")" "$(f "${R[$n,apply]}")" "$(f "${R[$n,applync]}")" \
		"$(f "${R[$n,check]}")" "$(f "${R[$n,aapply]}")" "$(f "${R[$n,aapplync]}")" \
		"$(ratio "${R[$n,plan]}" "${R[$n,floor]}")" "$(ratio "${R[$n,check]}" "${R[$n,plan]}")" "$(ratio "${R[$n,aapply]}" "${R[$n,apply]}")" \
		"${R[$n,rss]} MB" \
		"$(ratio "${R[$n,plan_logins]}" "$n") / $(ratio "${R[$n,plan_sessions]}" "$n")" \
		"$(ratio "${R[$n,apply_logins]}" "$n") / $(ratio "${R[$n,apply_sessions]}" "$n")"
done
echo
echo
echo "CPU seconds of one changing terraform apply (last run), $(nproc) cores:"
echo
echo "| N     | terraform + provider | hosts (sshd, shells, tools) |"
echo "|-------|----------------------|-----------------------------|"
for n in "${sizes[@]}"; do
	printf '| %-5s | %-20s | %-27s |\n' "$n" "${R[$n,cpu_tf]}" "${R[$n,cpu_sshd]}"
done
echo
echo "ssh/host: SSH logins / exec sessions per host for one terraform command, from the hosts' sshd logs."
echo "tf apply includes terraform's own plan (refresh) before applying."
