#!/usr/bin/env bash
# make bench: Terraform with this provider vs. the plain-ssh floor vs.
# Ansible, on the same sandbox hosts (real sshd on loopback addresses, see
# internal/testhost), for each fleet size. Prints one table, then the CPU
# split of a changing apply and, with the options below, the split-state and
# baseline comparisons.
#
#   bench/bench.sh [N ...]         default: $BENCH_SIZES, else 10 50 200
#   RUNS=5 bench/bench.sh 50       runs per measurement (median), default 3
#
# Options (environment):
#   BENCH_SPLIT=4        after the runs of each N: the same hosts as 4 states
#                        of N/4, planned and applied by 4 concurrent
#                        `terraform -chdir=...` runs (-parallelism=10 each),
#                        beside the one state's plan and apply; wall time and
#                        CPU (user+sys, /usr/bin/time) of each run.
#   BENCH_BASELINE=REV   also builds the provider at git revision REV (a git
#                        worktree in .cache/bench-baseline-src), installs it
#                        as version 0.0.1 in the same filesystem mirror, and
#                        measures its plan and changing apply on the same
#                        hosts in every run, in a working directory and state
#                        of its own (created once, like the main one).
#   BENCH_ANS_NC_MAX=200 measures Ansible's no-change run only up to this N
#                        (it is no target; at 1000 hosts it takes ~6 minutes).
#   YAMA_CPU_PROFILE_DIR=DIR  every provider process writes its CPU, heap and
#                        goroutine profiles there (cpu-PID.pprof...; read
#                        with `go tool pprof .cache/bench/bin/terraform-provider-yama-0.1.0 FILE`).
#                        For Terraform core's own profile, run one command
#                        under `perf record -g` with a Terraform built from
#                        source (release binaries have no symbol table).
#
# Every measurement is a whole command, wall clock, median of RUNS; cells
# read "seconds (ms per host)":
#   floor         plain OpenSSH: `ssh host cat /proc/sys/kernel/yama/ptrace_scope`, 10 at a time (xargs -P10)
#   tf plan       terraform plan (refresh of every host, no changes), -parallelism=10,
#                 for_each over a map (bench/main.tf, the form the fleet guide recommends)
#   tf plan (set) the same plan of the same state with for_each over a set of
#                 the same host names (bench/main-set.tf); -detailed-exitcode
#                 proves that it sees no changes either
#   tf apply      terraform apply that changes every host (scope 1 <-> 2)
#   tf apply nc   terraform apply with nothing to change
#   ans check     ansible-playbook --check (forks=10)
#   ans apply     ansible-playbook that changes every host
#   ans apply nc  ansible-playbook with nothing to change
# plus the state file after the create (total and per host), the provider's
# peak RSS (largest of every provider process, from GNU time's maximum RSS:
# the mirror's provider is a wrapper that execs the real binary under
# /usr/bin/time) and the SSH logins and exec sessions per host per terraform
# command, counted from the hosts' sshd logs.
#
# What large N takes (measured on the 2-core, 24 GiB build machine):
#   - 1000 sandbox hosts start in about 33 s while other work loads the
#     machine (200 in about 3.5 s quiet), stop in about 2.5 s, and hold about
#     2 GiB: 1.2 GiB PSS of 1000 sshd listeners (8.6 GiB RSS, mostly shared)
#     plus kernel memory for 1000 mount namespaces of ~300 mounts each;
#     59 MiB of host trees on /dev/shm, plus the sshd logs (LogLevel VERBOSE).
#     Open connections add two sshd processes per host on top.
#   - open files: the sandbox CLI holds one pidfd per host (1010 at N=1000),
#     the provider one socket per host, each sshd listener 5: the script
#     raises the soft limit to the hard one (20000 here) and needs 2*N+1024.
#   - processes/threads: 1000 listeners, 1000 threads in the sandbox CLI
#     (one per waiting host), two sshd processes per open connection, one ssh
#     master per host Ansible touched in the last 60 s (ControlPersist):
#     about 5*N+2000 pids; kernel.pid_max (32768 here) is checked.
#   - MaxStartups is no limit here: every sandbox host runs its own sshd
#     (MaxStartups 100:30:200) and sees one connection at a time from the
#     bench; known_hosts is one line per host (~95 KB at 1000), read once by
#     the provider and once per `ssh` spawn.
#   - time, estimated from the N=10/50 smoke runs and earlier 1000-host
#     runs: BENCH_SIZES="50 200 1000" RUNS=1 BENCH_SPLIT=4 BENCH_ANS_NC_MAX=200
#     takes about 35 minutes on a quiet 2-core machine (1000 hosts: ~25 min,
#     of which Ansible's check and changing run ~12 min; 200: ~5 min; builds
#     and make bench's per-host Go benchmarks ~3 min); BENCH_BASELINE adds
#     ~9 min (its create, plan and two changing applies at each N).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("${@:-${BENCH_SIZES:-10 50 200}}")
read -r -a sizes <<<"${sizes[*]}"
runs=${RUNS:-3}
split=${BENCH_SPLIT:-0}
baseline=${BENCH_BASELINE:-}
ans_nc_max=${BENCH_ANS_NC_MAX:-}
tf=$(scripts/deps.sh)
if ! command -v ansible-playbook >/dev/null || ! command -v bc >/dev/null || [ ! -x /usr/bin/time ] || ! command -v python3 >/dev/null; then
	echo "bench: installing ansible, bc, time (Debian packages)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible bc time python3 >/dev/null
fi
die() { echo "bench: $*" >&2; exit 1; }
# say MSG: progress on stderr, with the minutes:seconds since the start.
say() { printf 'bench: [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# Limits for the largest N (see the header).
maxn=0
for n in "${sizes[@]}"; do [ "$n" -gt "$maxn" ] && maxn=$n; done
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * maxn + 1024)) ] ||
	die "N=$maxn needs $((2 * maxn + 1024)) open files; the hard limit is $(ulimit -Hn)"
ulimit -u "$(ulimit -Hu)"
[ "$(cat /proc/sys/kernel/pid_max)" -ge $((5 * maxn + 2000)) ] ||
	die "N=$maxn needs kernel.pid_max >= $((5 * maxn + 2000)) (now $(cat /proc/sys/kernel/pid_max))"
avail=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
[ "$avail" -ge $((maxn * 6 + 1024)) ] ||
	echo "bench: warning: N=$maxn may need about $((maxn * 6 + 1024)) MiB of memory; $avail MiB available" >&2
if [ -d /dev/shm ]; then
	shm=$(df -Pm /dev/shm | awk 'NR == 2 {print $4}')
	[ "$shm" -ge $((maxn / 4 + 64)) ] || die "N=$maxn needs about $((maxn / 4 + 64)) MiB free on /dev/shm ($shm MiB)"
fi

work=$root/.cache/bench
rm -rf "$work"
mkdir -p "$work/bin"
mirrors=$work/mirror/registry.terraform.io/terraform-yama/yama
# install_provider VERSION SRC_DIR: builds the provider from SRC_DIR into
# the filesystem mirror behind a wrapper that records, per provider
# process, "user sys maxrss_kb" into $YAMA_BENCH_RUSAGE (GNU time; the
# provider exits on terraform's graceful shutdown, so every run is counted).
install_provider() {
	local v=$1 src=$2 dir=$mirrors/$1/linux_amd64
	mkdir -p "$dir"
	(cd "$src" && go build -trimpath -ldflags "-X main.version=$v" -o "$work/bin/terraform-provider-yama-$v" .)
	cat >"$dir/terraform-provider-yama_v$v" <<WRAP
#!/bin/sh
exec /usr/bin/time -a -o "\${YAMA_BENCH_RUSAGE:-/dev/null}" -f "%U %S %M" "$work/bin/terraform-provider-yama-$v" "\$@"
WRAP
	chmod +x "$dir/terraform-provider-yama_v$v"
}
version=0.1.0
install_provider "$version" "$root"
# Ansible's persistent connections (ControlPersist) live in a directory of
# the benchmark's own (short: socket paths are limited to 108 bytes); the
# bench ends them through their control sockets (ssh -O exit).
cpdir=$(mktemp -d /tmp/yama-bench-cp.XXXXXX)
cp_close() {
	local s
	for s in "$cpdir"/*; do
		if [ -S "$s" ]; then ssh -o ControlPath="$s" -O exit bench >/dev/null 2>&1 || true; fi
	done
}
bsrc=$root/.cache/bench-baseline-src
spid=
cleanup() {
	if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; fi
	cp_close
	rm -rf "$cpdir"
	if [ -n "$baseline" ] && [ -d "$bsrc" ]; then git worktree remove --force "$bsrc" 2>/dev/null || true; fi
}
trap cleanup EXIT
if [ -n "$baseline" ]; then
	brev=$(git rev-parse --short "$baseline^{commit}") || die "BENCH_BASELINE=$baseline is no git revision"
	rm -rf "$bsrc"
	git worktree prune
	git worktree add --detach --force "$bsrc" "$brev" >/dev/null 2>&1 || die "git worktree add $bsrc $brev failed"
	say "building the baseline provider at $brev"
	install_provider 0.0.1 "$bsrc"
fi
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
export ANSIBLE_SSH_CONTROL_PATH_DIR=$cpdir
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_FORKS=10 ANSIBLE_STDOUT_CALLBACK=null ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
unset SSH_AUTH_SOCK

now() { date +%s.%N; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A R S

# timed KEY CMD...: runs CMD (output to $log), adds its wall time to the
# samples of KEY; fails the bench if CMD fails.
timed() {
	local key=$1 t0 t1
	shift
	t0=$(now)
	"$@" >>"$log" 2>&1 || { echo "bench: failed: $*" >&2; tail -n 30 "$log" >&2; exit 1; }
	t1=$(now)
	S[$n,$key]+=" $(echo "$t1 - $t0" | bc -l)"
}
# Counters summed over every host's sshd log.
count() { cat "$sbx"/hosts/*/fs/run/testhost/sshd.log 2>/dev/null | grep -c "$1" || true; }

# tfx KEY DIR ARGS...: one terraform command in DIR, timed like `timed`,
# and for its last run: R[$n,KEY.cpu] CPU seconds of terraform and its
# provider processes, R[$n,KEY.pcpu] of the provider processes alone,
# R[$n,KEY.rss] the largest provider's peak RSS (MiB), R[$n,KEY.ssh]
# "logins / sessions" per host; tfx returns terraform's exit status
# (-detailed-exitcode: 2 = changes).
tfx() {
	local key=$1 dir=$2 l0 s0 t0 t1 rc=0
	shift 2
	l0=$(count "Accepted publickey") s0=$(count "Starting session")
	: >"$work/rusage"
	t0=$(now)
	YAMA_BENCH_RUSAGE=$work/rusage /usr/bin/time -f "%U %S" -o "$work/time" \
		"$tf" -chdir="$dir" "$@" -input=false -no-color -parallelism=10 >>"$log" 2>&1 || rc=$?
	t1=$(now)
	S[$n,$key]+=" $(echo "$t1 - $t0" | bc -l)"
	R[$n,$key.cpu]=$(awk '/^[0-9.]+ [0-9.]+$/ {printf "%.1f", $1 + $2}' "$work/time")
	R[$n,$key.pcpu]=$(awk 'NF == 3 && $1 ~ /^[0-9.]+$/ {c += $1 + $2} END {printf "%.1f", c}' "$work/rusage")
	R[$n,$key.rss]=$(awk 'NF == 3 && $3 ~ /^[0-9]+$/ && $3 > m {m = $3} END {printf "%.0f", m / 1024}' "$work/rusage")
	R[$n,$key.ssh]="$(ratio $(($(count "Accepted publickey") - l0)) "$n") / $(ratio $(($(count "Starting session") - s0)) "$n")"
	[ "${R[$n,$key.rss]}" -le "$rss_max" ] || rss_max=${R[$n,$key.rss]}
	return $rc
}
# tfok KEY DIR ARGS...: tfx that must succeed (exit 0: no changes for a
# plan with -detailed-exitcode).
tfok() {
	local rc=0
	tfx "$@" || rc=$?
	[ $rc = 0 ] && return 0
	echo "bench: terraform ${*:3} in $2 exited $rc (with -detailed-exitcode, 2: the plan has changes)" >&2
	tail -n 40 "$log" >&2
	exit 1
}
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }

# Our hosts' sshd listeners (pids from env.json, not every sandbox on the
# machine: other test suites may run theirs).
listeners() { tr '\n' ',' <"$work/pids-$n" | sed 's/,$//'; }
# sshd_cpu: CPU seconds used so far by the hosts' sshd listeners and every
# process they spawned and reaped (logins, shells, the scripts' tools).
sshd_cpu() {
	local tot=0 p a f
	while read -r p; do
		read -r a 2>/dev/null <"/proc/$p/stat" || continue
		read -r -a f <<<"${a##*) }"
		tot=$((tot + f[11] + f[12] + f[13] + f[14]))
	done <"$work/pids-$n"
	echo "$tot / $(getconf CLK_TCK)" | bc -l
}
# sshd_settle: a connection's CPU reaches its listener only when its sshd
# process is reaped; wait (at most 20 s) until no connection is left.
sshd_settle() {
	local l
	l=$(listeners)
	for _ in $(seq 200); do
		pgrep -P "$l" >/dev/null || return 0
		sleep 0.1
	done
	echo "bench: sshd connections still open after 20 s; CPU split may be low" >&2
}

# tfdir DIR CONFIG FORM HOSTS_FILE: a working directory with CONFIG and a
# tfvars of the hosts in HOSTS_FILE as a map (FORM=map) or a set (set).
tfdir() {
	local dir=$1 form=$3 hosts=$4
	mkdir -p "$dir"
	cp "$2" "$dir/main.tf"
	{
		if [ "$form" = map ]; then
			printf 'hosts = {\n'
			sed 's/.*/  "&" = {}/' "$hosts"
			printf '}\n'
		else
			printf 'hosts = [\n'
			sed 's/.*/  "&",/' "$hosts"
			printf ']\n'
		fi
		printf 'private_key_file = "%s"\nknown_hosts_file = "%s"\n' "$key" "$kh"
	} >"$dir/terraform.tfvars"
}

rss_max=0
for n in "${sizes[@]}"; do
	say "N=$n: starting sandbox hosts"
	sbx=$work/sandbox-$n
	log=$work/log-$n
	: >"$log"
	t0=$(now)
	"$work/yama-sandbox" -n "$n" -dir "$sbx" -scope 1 >"$work/sandbox-$n.out" 2>"$work/sandbox-$n.err" &
	spid=$!
	for _ in $(seq $((600 + n))); do grep -q ready "$work/sandbox-$n.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$work/sandbox-$n.out" || { cat "$work/sandbox-$n.err" >&2; exit 1; }
	R[$n,start]=$(echo "$(now) - $t0" | bc -l)
	grep '"address"' "$sbx/env.json" | sed 's/.*: "\(.*\)".*/\1/' >"$work/hosts-$n"
	grep '"pid"' "$sbx/env.json" | sed 's/[^0-9]//g' >"$work/pids-$n"
	# The sandbox CLI keeps host trees in /dev/shm; Dir/hosts points there.
	key=$sbx/id_ed25519
	kh=$sbx/known_hosts
	ssh_opts=(-i "$key" -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR)

	# Terraform working directories: the map form (main), the set form
	# sharing its state, and the baseline provider's with a state of its own.
	tfd=$work/tf-$n
	tfs=$work/tf-$n-set
	tfb=$work/tf-$n-base
	tfdir "$tfd" bench/main.tf map "$work/hosts-$n"
	tfdir "$tfs" bench/main-set.tf set "$work/hosts-$n"
	ln -s "$tfd/terraform.tfstate" "$tfs/terraform.tfstate"
	"$tf" -chdir="$tfd" init -input=false >>"$log" 2>&1
	"$tf" -chdir="$tfs" init -input=false >>"$log" 2>&1
	if [ -n "$baseline" ]; then
		tfdir "$tfb" bench/main.tf map "$work/hosts-$n"
		sed -i 's/version = "~> 0.1"/version = "0.0.1"/' "$tfb/main.tf"
		"$tf" -chdir="$tfb" init -input=false >>"$log" 2>&1
	fi

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

	say "N=$n: terraform create (once)"
	rss_max=0
	tfok create "$tfd" apply -auto-approve -var scope=2
	R[$n,state]=$(stat -c %s "$tfd/terraform.tfstate")
	if [ -n "$baseline" ]; then
		say "N=$n: baseline create (once)"
		tfok bcreate "$tfb" apply -auto-approve -var scope=2
		R[$n,bstate]=$(stat -c %s "$tfb/terraform.tfstate")
	fi
	scope=2
	for i in $(seq "$runs"); do
		say "N=$n: run $i/$runs"
		# Here the hosts are at $scope and every state agrees.
		timed floor sh -c "xargs -P10 -I{} ssh ${ssh_opts[*]} root@{} cat /proc/sys/kernel/yama/ptrace_scope <'$work/hosts-$n'"
		m=$rss_max
		tfok plan "$tfd" plan -detailed-exitcode -var scope=$scope
		# The set form sees the same instances: -detailed-exitcode fails the
		# bench if its plan of the map form's state has any change.
		tfok setplan "$tfs" plan -detailed-exitcode -var scope=$scope
		rss_max=$m # the set form's provider does the same work; keep the column the map form's
		if [ -n "$baseline" ]; then
			m=$rss_max
			tfok bplan "$tfb" plan -detailed-exitcode -var scope=$scope
			rss_max=$m
		fi
		# The changing apply, and where its CPU goes: terraform with its
		# provider processes (GNU time) and the hosts (their sshd listeners'
		# reaped children), counted once every connection has closed.
		scope=$((3 - scope))
		sshd_settle
		h0=$(sshd_cpu)
		tfok apply "$tfd" apply -auto-approve -var scope=$scope
		sshd_settle
		R[$n,cpu_sshd]=$(printf '%.1f' "$(echo "$(sshd_cpu) - $h0" | bc -l)")
		tfok applync "$tfd" apply -auto-approve -var scope=$scope
		if [ -n "$baseline" ]; then
			# Two changing applies (there and back) leave the hosts at $scope.
			m=$rss_max
			tfok bapply "$tfb" apply -auto-approve -var scope=$((3 - scope))
			tfok bapply "$tfb" apply -auto-approve -var scope=$scope
			rss_max=$m
		fi
		scope=$((3 - scope))
		timed check ans --check -e scope=$scope
		timed aapply ans -e scope=$scope
		if [ -z "$ans_nc_max" ] || [ "$n" -le "$ans_nc_max" ]; then
			timed aapplync ans -e scope=$scope
		fi
		# Ansible keeps its SSH connections 60 s (ControlPersist); end them
		# now, or their sessions would be counted in what follows.
		cp_close
		# Ansible rewrote the hosts; when anything follows, let terraform
		# write them again so that its states agree (not a measurement).
		if [ "$i" -lt "$runs" ] || [ "$split" -gt 1 ]; then
			m=$rss_max
			tfok resync "$tfd" apply -auto-approve -var scope=$scope
			# The baseline's state too, or its next plan sees Ansible's value.
			[ -z "$baseline" ] || tfok resync "$tfb" apply -auto-approve -var scope=$scope
			rss_max=$m
		fi
	done
	R[$n,rss]=$rss_max
	for k in floor plan setplan apply applync check aapply aapplync bplan bapply; do
		[ -n "${S[$n,$k]:-}" ] && R[$n,$k]=$(echo "${S[$n,$k]}" | median)
	done

	if [ "$split" -gt 1 ]; then
		say "N=$n: $split states of about $((n / split)) hosts, concurrently"
		# Shard k holds every split-th host from k on; its state is the
		# main state's instances of those hosts (a plan proves it agrees).
		python3 - "$tfd/terraform.tfstate" "$work/hosts-$n" "$split" "$work/tf-$n-shard" <<'PY'
import json, os, sys
state_file, hosts_file, k, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
state = json.load(open(state_file))
hosts = [h.strip() for h in open(hosts_file) if h.strip()]
for i in range(k):
    mine = set(hosts[i::k])
    d = "%s%d" % (prefix, i + 1)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hosts"), "w") as f:
        f.write("".join(h + "\n" for h in hosts[i::k]))
    s = dict(state)
    s["resources"] = [dict(r, instances=[x for x in r["instances"] if x.get("index_key") in mine]) for r in state["resources"]]
    with open(os.path.join(d, "terraform.tfstate"), "w") as f:
        json.dump(s, f, indent=2)
PY
		for k in $(seq "$split"); do
			d=$work/tf-$n-shard$k
			tfdir "$d" bench/main.tf map "$d/hosts"
			cp -r "$tfd/.terraform" "$tfd/.terraform.lock.hcl" "$d/"
		done
		# shards ARGS...: every shard runs terraform ARGS at once; records
		# each one's wall and CPU, and the wall until the last one ended.
		shards() {
			local what=$1 k d t0 pids=() bad=0
			shift
			t0=$(now)
			for k in $(seq "$split"); do
				d=$work/tf-$n-shard$k
				(
					t1=$(now)
					YAMA_BENCH_RUSAGE=$d/rusage /usr/bin/time -f "%U %S" -o "$d/time" \
						"$tf" -chdir="$d" "$@" -input=false -no-color -parallelism=10 >"$d/log" 2>&1
					rc=$?
					echo "$(now) - $t1" | bc -l >"$d/wall"
					exit $rc
				) &
				pids+=($!)
			done
			for k in $(seq "$split"); do wait "${pids[$((k - 1))]}" || bad=$k; done
			R[$n,split_$what]=$(echo "$(now) - $t0" | bc -l)
			[ "$bad" = 0 ] || { echo "bench: shard $bad: terraform $* failed" >&2; tail -n 30 "$work/tf-$n-shard$bad/log" >&2; exit 1; }
			for k in $(seq "$split"); do
				d=$work/tf-$n-shard$k
				R[$n,split_$what.$k]=$(cat "$d/wall")
				R[$n,split_$what.$k.cpu]=$(awk '/^[0-9.]+ [0-9.]+$/ {printf "%.1f", $1 + $2}' "$d/time")
			done
		}
		shards plan plan -detailed-exitcode -var scope=$scope
		shards apply apply -auto-approve -var scope=$((3 - scope))
	fi
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	spid=
done

# cell SECONDS: "s.ss (ms per host)", or "-" when not measured.
cell() {
	[ -n "${1:-}" ] || { echo "-"; return; }
	printf '%.2f (%.0f)' "$1" "$(echo "$1 * 1000 / $n" | bc -l)"
}
size() {
	awk -v b="$1" -v n="$2" 'BEGIN {
		t = b >= 1048576 ? sprintf("%.1f MB", b / 1048576) : sprintf("%.0f KB", b / 1024)
		printf "%s (%.1f KB)", t, b / n / 1024 }'
}
row() { printf '| %s ' "$@"; echo '|'; }
echo
echo "Wall time in seconds (ms per host), median of $runs runs; -parallelism=10 / forks=10 / xargs -P10; $(nproc) cores; $("$tf" version | head -n 1)."
echo
row N floor "tf plan" "tf plan (set)" "tf apply" "tf apply nc" "ans check" "ans apply" "ans apply nc" \
	"plan / floor" "ans apply / tf apply" "state (per host)" "provider peak RSS" "ssh/host plan" "ssh/host apply"
row --- --- --- --- --- --- --- --- --- --- --- --- --- --- ---
for n in "${sizes[@]}"; do
	row "$n" "$(cell "${R[$n,floor]}")" "$(cell "${R[$n,plan]}")" "$(cell "${R[$n,setplan]}")" \
		"$(cell "${R[$n,apply]}")" "$(cell "${R[$n,applync]}")" \
		"$(cell "${R[$n,check]}")" "$(cell "${R[$n,aapply]}")" "$(cell "${R[$n,aapplync]:-}")" \
		"$(ratio "${R[$n,plan]}" "${R[$n,floor]}")" "$(ratio "${R[$n,aapply]}" "${R[$n,apply]}")" \
		"$(size "${R[$n,state]}" "$n")" "${R[$n,rss]} MB" "${R[$n,plan.ssh]}" "${R[$n,apply.ssh]}"
done
echo
echo "ssh/host: SSH logins / exec sessions per host for one terraform command, from the hosts' sshd logs."
echo "tf apply includes terraform's own plan (refresh) before applying. state: terraform.tfstate after the create."
echo
echo "CPU seconds of one changing terraform apply (last run) and of one plan, $(nproc) cores:"
echo
row N "apply: terraform core" "apply: provider" "apply: hosts (sshd, shells, tools)" "plan: terraform core" "plan: provider" "plan (set): terraform core" "plan (set): provider"
row --- --- --- --- --- --- --- ---
for n in "${sizes[@]}"; do
	core() { echo "${R[$n,$1.cpu]} - ${R[$n,$1.pcpu]}" | bc -l | xargs printf '%.1f'; }
	row "$n" "$(core apply)" "${R[$n,apply.pcpu]}" "${R[$n,cpu_sshd]}" "$(core plan)" "${R[$n,plan.pcpu]}" "$(core setplan)" "${R[$n,setplan.pcpu]}"
done
echo
echo "Sandbox start: $(for n in "${sizes[@]}"; do printf '%s hosts %.1f s; ' "$n" "${R[$n,start]}"; done)"

if [ "$split" -gt 1 ]; then
	echo
	echo "One state vs. $split states run concurrently (terraform -chdir=..., -parallelism=10 each), same hosts; wall s / CPU s (user+sys, terraform and provider):"
	echo
	row N layout "plan wall" "plan CPU" "changing apply wall" "changing apply CPU"
	row --- --- --- --- --- ---
	for n in "${sizes[@]}"; do
		row "$n" "1 state of $n" "$(printf '%.2f' "${R[$n,plan]}")" "${R[$n,plan.cpu]}" "$(printf '%.2f' "${R[$n,apply]}")" "${R[$n,apply.cpu]}"
		tp=0 ta=0
		for k in $(seq "$split"); do
			row "$n" "state $k of $split ($(wc -l <"$work/tf-$n-shard$k/hosts") hosts)" \
				"$(printf '%.2f' "${R[$n,split_plan.$k]}")" "${R[$n,split_plan.$k.cpu]}" \
				"$(printf '%.2f' "${R[$n,split_apply.$k]}")" "${R[$n,split_apply.$k.cpu]}"
			tp=$(echo "$tp + ${R[$n,split_plan.$k.cpu]}" | bc -l) ta=$(echo "$ta + ${R[$n,split_apply.$k.cpu]}" | bc -l)
		done
		row "$n" "all $split, concurrent" "$(printf '%.2f' "${R[$n,split_plan]}")" "$(printf '%.1f' "$tp")" \
			"$(printf '%.2f' "${R[$n,split_apply]}")" "$(printf '%.1f' "$ta")"
	done
fi

if [ -n "$baseline" ]; then
	echo
	echo "Baseline $brev vs. this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' ':!templates' || echo ', with uncommitted changes')), same hosts, same run; seconds (ms per host), median; CPU of the last run:"
	echo
	row N provider "tf plan" "tf apply" "plan CPU" "apply CPU" "ssh/host apply" "state (per host)" "peak RSS (plan / apply)"
	row --- --- --- --- --- --- --- --- ---
	for n in "${sizes[@]}"; do
		row "$n" "this tree" "$(cell "${R[$n,plan]}")" "$(cell "${R[$n,apply]}")" "${R[$n,plan.cpu]}" "${R[$n,apply.cpu]}" \
			"${R[$n,apply.ssh]}" "$(size "${R[$n,state]}" "$n")" "${R[$n,plan.rss]} / ${R[$n,apply.rss]} MB"
		row "$n" "$brev" "$(cell "${R[$n,bplan]}")" "$(cell "${R[$n,bapply]}")" "${R[$n,bplan.cpu]}" "${R[$n,bapply.cpu]}" \
			"${R[$n,bapply.ssh]}" "$(size "${R[$n,bstate]}" "$n")" "${R[$n,bplan.rss]} / ${R[$n,bapply.rss]} MB"
	done
fi
