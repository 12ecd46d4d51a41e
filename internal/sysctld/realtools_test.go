package sysctld

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestAgainstRealTools replays resolveCases against the host's own procps
// "sysctl --system" and systemd-sysctl, and checks that the
// sequence of values they write to one key is the one Resolve predicts.
//
// The testdata layouts are replayed too.
//
// It is opt-in (SYSCTLD_REAL_TOOLS=1, root, Linux, merged /usr) because it
// runs each case in a private mount namespace (unshare) with the case's
// tree bind-mounted over /etc/sysctl.d, /usr/lib/sysctl.d, /usr/local,
// /opt, /srv, /etc/sysctl.conf and a tmpfs /run. /proc/sys is re-bound
// read-only in there and a scratch regular file is bound over
// /proc/sys/kernel/pid_max, so nothing reaches the kernel: the tools write
// the scratch file; procps prints "key = value" after each write and
// systemd-sysctl logs "Setting ..." (debug). (--dry-run is no help: procps
// 4.0.2 still opens the key for writing.)
//
// The key is kernel.pid_max, which every kernel has (the build hosts have no
// Yama), so the cases' ptrace lines and patterns are rewritten to it.
// The kernel lock is not observable this way: cases are resolved without
// Options.
func TestAgainstRealTools(t *testing.T) {
	if os.Getenv("SYSCTLD_REAL_TOOLS") == "" {
		t.Skip("set SYSCTLD_REAL_TOOLS=1 to compare with the real sysctl and systemd-sysctl (root, Linux, unshare)")
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux")
	}
	systemdSysctl := "/usr/lib/systemd/systemd-sysctl"
	for _, tool := range []string{"unshare", "sysctl", systemdSysctl} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s: %v", tool, err)
		}
	}
	if l, _ := os.Readlink("/lib"); l != "usr/lib" {
		t.Skip("needs a merged-/usr host (/lib -> usr/lib)")
	}
	const key = "kernel.pid_max"
	rewrite := strings.NewReplacer(
		"kernel.yama.ptrace_scope", "kernel.pid_max",
		"kernel/yama/ptrace_scope", "kernel/pid_max",
		"kernel.yama.ptrace_scop[de]", "kernel.pid_ma[xy]",
		"kernel.*.ptrace_scope", "kernel.pid_m?x",
		"kernel.yama.*", "kernel.pid_ma*",
	)
	setting := regexp.MustCompile(`^Setting '(?:/proc/sys/)?([^']*)' to '([^']*)'`)

	cases := slices.Clone(resolveCases)
	layouts, _ := filepath.Glob("testdata/layouts/*")
	for _, dir := range layouts {
		cases = append(cases, resolveCase{name: "layout " + filepath.Base(dir), tree: layoutTree(t, dir)})
	}
	for _, c := range cases {
		if why := unreplayable(c.tree); why != "" {
			t.Logf("%s: skipped: %s", c.name, why)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			tr := tree{}
			for p, v := range c.tree {
				tr[p] = rewrite.Replace(v)
			}
			root := t.TempDir()
			materialize(t, root, tr)
			for _, mode := range []Mode{ModeProcps, ModeSystemd} {
				r, err := Resolve(tr.memFS(t), key, mode)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, s := range r.Applied {
					if s.Outcome == Written {
						want = append(want, s.Effective)
					}
				}
				cmd := "sysctl --system"
				if mode == ModeSystemd {
					cmd = "SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console " + systemdSysctl
				}
				out, err := exec.Command("unshare", "--mount", "--propagation", "private",
					"sh", "-ec", sandboxScript+cmd, "sh", root).CombinedOutput()
				_ = err // both exit non-zero when a pattern also hits read-only keys
				var got []string
				sc := bufio.NewScanner(bytes.NewReader(out))
				for sc.Scan() {
					line := sc.Text()
					if v, ok := strings.CutPrefix(line, key+" = "); ok && mode == ModeProcps {
						got = append(got, v)
					}
					if m := setting.FindStringSubmatch(line); m != nil && mode == ModeSystemd && m[1] == "kernel/pid_max" {
						got = append(got, m[2])
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s writes %q, Resolve predicts %q\n%s\n%s", mode, got, want, out, dump(r))
				}
			}
		})
	}
}

// sandboxScript prepares the namespace; $1 is the materialized root.
const sandboxScript = `R=$1
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
: > "$R/pid_max"
mount --bind "$R/pid_max" /proc/sys/kernel/pid_max
mount -t tmpfs tmpfs /run
cp -a "$R/run/." /run/
for d in etc/sysctl.d usr/lib/sysctl.d usr/local opt srv; do
	mount --bind "$R/$d" "/$d"
done
if [ -f "$R/etc/sysctl.conf" ]; then
	mount --bind "$R/etc/sysctl.conf" /etc/sysctl.conf
else
	mount --bind /dev/null /etc/sysctl.conf
fi
`

// unreplayable says why a tree cannot be set up by sandboxScript.
func unreplayable(tr tree) string {
	for p, v := range tr {
		switch {
		case p == "/lib" && v == "-> usr/lib":
			// the host's own layout
		case p == "/etc/sysctl.conf" && v != "-> /dev/null" && strings.HasPrefix(v, "-> "):
			return "/etc/sysctl.conf is a symlink"
		case v == "<dev>":
			return "device nodes"
		case p == "/etc/sysctl.d" || p == "/lib" || strings.HasPrefix(p, "/lib/"):
			return p + " cannot be replaced on this host"
		case !slices.ContainsFunc([]string{"/etc/sysctl.d/", "/run/", "/usr/lib/sysctl.d/", "/usr/local/", "/opt/", "/srv/", "/etc/sysctl.conf"},
			func(pre string) bool { return strings.HasPrefix(p, pre) }):
			return p + " is outside the mounted paths"
		}
	}
	return ""
}

// materialize writes tr below root as real files, directories and symlinks.
func materialize(t *testing.T, root string, tr tree) {
	t.Helper()
	for _, d := range []string{"etc/sysctl.d", "usr/lib/sysctl.d", "usr/local", "opt", "srv", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, v := range tr {
		if p == "/lib" || p == "/etc/sysctl.conf" && strings.HasPrefix(v, "-> ") {
			continue // host's /lib; /dev/null sysctl.conf is bound by the script
		}
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(v, "-> "):
			err = os.Symlink(v[3:], full)
		case v == "<dir>":
			err = os.MkdirAll(full, 0o755)
		default:
			err = os.WriteFile(full, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
