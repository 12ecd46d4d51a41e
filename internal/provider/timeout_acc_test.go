package provider

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Hosts whose login setup is broken or hostile: every failure ends fast,
// names the host, and says what to do about that failure (through the
// real terraform CLI, as a user sees it).

// dataSourceOnly is a configuration that only reads the host.
func dataSourceOnly(h *testhost.Host, ssh string) string {
	return providerConfig() + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  host = %q
  %s
}
`, h.Addr, ssh)
}

// TestAccHostileLogins: a login shell that runs nothing, login files that
// read the command's input, hang or flood, and each way sudo fails. Each
// case gets its own diagnostic naming the host, instead of "See the error
// above" or a bare exit status, and a sudo refusal never tells a user who
// set sudo_password to set it.
func TestAccHostileLogins(t *testing.T) {
	sudoHome := "/home/" + testhost.UserSudo
	bashSudo := map[string]string{testhost.UserSudo: "/bin/bash"}
	cases := []struct {
		name   string
		opts   testhost.Options
		config func(*testhost.Host) string
		want   string // regexp on the flattened output
		not    string // must not appear
		prep   func(*testing.T, *testhost.Host)
	}{
		{"nologin", testhost.Options{Shells: map[string]string{testhost.UserSudo: "/usr/sbin/nologin"}},
			func(h *testhost.Host) string { return dataSourceOnly(h, `ssh { user = "yamasudo" }`) },
			`Login shell does not run commands on ADDR:22 .*This account is currently not available.*usermod -s /bin/sh`, "", nil},
		{"false", testhost.Options{Shells: map[string]string{testhost.UserSudo: "/bin/false"}},
			func(h *testhost.Host) string { return dataSourceOnly(h, `ssh { user = "yamasudo" }`) },
			`Login shell does not run commands on ADDR:22 .*exited with status 1 without running it`, "See the error above", nil},
		{"bashrc reads stdin (cat)", testhost.Options{Shells: bashSudo, Files: map[string]string{sudoHome + "/.bashrc": "cat >/dev/null\n"}},
			func(h *testhost.Host) string { return dataSourceOnly(h, `ssh { user = "yamasudo" }`) },
			`A login file read the command's input on ADDR:22 .*interactive shells`, "status 90", nil},
		{"bashrc reads stdin (read)", testhost.Options{Shells: bashSudo, Files: map[string]string{sudoHome + "/.bashrc": "read x\n"}},
			func(h *testhost.Host) string { return dataSourceOnly(h, `ssh { user = "yamasudo" }`) },
			`A login file read the command's input on ADDR:22`, "status 90", nil},
		{"bashrc floods", testhost.Options{Shells: bashSudo, Files: map[string]string{sudoHome + "/.bashrc": "head -c 1000000000 /dev/zero\n"}},
			func(h *testhost.Host) string { return dataSourceOnly(h, `ssh { user = "yamasudo" }`) },
			`Too much output from host on ADDR:22 .*more than 8 MiB`, "", nil},
		{"sudo not installed", testhost.Options{Shells: bashSudo, Files: map[string]string{sudoHome + "/.bashrc": "PATH=" + noSudoPath + "; export PATH\n"}},
			func(h *testhost.Host) string {
				return resourceConfig(h, `scope = 2
  ssh {
    user = "yamasudo"
    sudo = true
  }`)
			},
			`sudo not found on ADDR:22 .*apt-get install sudo`, "Grant NOPASSWD", pathWithoutSudo},
		{"requiretty", testhost.Options{Files: map[string]string{"/etc/sudoers.d/requiretty": "Defaults:yamapw requiretty\n"}},
			func(h *testhost.Host) string {
				return resourceConfig(h, fmt.Sprintf(`scope = 2
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %q
  }`, testhost.PasswordPW))
			},
			`sudo requires a terminal on ADDR:22 .*requiretty`, "set `sudo_password`", nil},
		{"not allowed, sudo_password set", testhost.Options{},
			func(h *testhost.Host) string {
				return resourceConfig(h, fmt.Sprintf(`scope = 2
  ssh {
    user          = "yamauser"
    sudo          = true
    sudo_password = %q
  }`, testhost.PasswordUser))
			},
			`sudo refused on ADDR:22 .*not in the sudoers file.*sudoers rule`, "set `sudo_password`", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Scope = "1"
			h := startHost(t, tc.opts)
			if tc.prep != nil {
				tc.prep(t, h)
			}
			w := newTFWorkdir(t, tc.config(h))
			start := time.Now()
			out, code := w.run("apply", "-auto-approve")
			took := time.Since(start)
			want := strings.ReplaceAll(tc.want, "ADDR", regexp.QuoteMeta(h.Addr))
			if code != 1 || !regexp.MustCompile(want).MatchString(flat(out)) {
				t.Fatalf("apply: exit %d, want 1 and %q:\n%s", code, want, out)
			}
			if tc.not != "" && strings.Contains(flat(out), tc.not) {
				t.Errorf("output says %q, which does not apply here:\n%s", tc.not, out)
			}
			if took > 30*time.Second {
				t.Errorf("took %s: a broken login must fail fast", took)
			}
			if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
				t.Errorf("live value changed to %q", got)
			}
		})
	}
}

// noSudoPath is a directory of the tools the remote scripts use, without
// sudo: a host where sudo is not installed, as far as a login is concerned.
const noSudoPath = "/run/testhost/nosudo"

func pathWithoutSudo(t *testing.T, h *testhost.Host) {
	if err := os.MkdirAll(h.Path(noSudoPath), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() == "sudo" || strings.HasPrefix(e.Name(), "sudo") {
				continue
			}
			_ = os.Symlink(filepath.Join(dir, e.Name()), h.Path(noSudoPath+"/"+e.Name())) // the first of two same names wins
		}
	}
}

// TestAccCommandTimeout_hungLoginFile: `sleep 100000` in the login user's
// ~/.bashrc hung every run until Ctrl-C. With command_timeout = "3s" the
// plan fails about 3s into the read, says the login shell never started
// the command, names the host, and the remote sleep is gone.
func TestAccCommandTimeout_hungLoginFile(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1", Shells: map[string]string{testhost.UserSudo: "/bin/bash"},
		Files: map[string]string{"/home/" + testhost.UserSudo + "/.bashrc": "sleep 100007\n"}})
	w := newTFWorkdir(t, dataSourceOnly(h, `ssh {
    user            = "yamasudo"
    command_timeout = "3s"
  }`))
	start := time.Now()
	out, code := w.run("plan")
	took := time.Since(start)
	want := `Command timed out on ` + regexp.QuoteMeta(h.Addr) + `:22 .*login shell had not started the command after command_timeout \(3s\).*~/.bashrc`
	if code != 1 || !regexp.MustCompile(want).MatchString(flat(out)) {
		t.Fatalf("plan: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	t.Logf("terraform plan failed %s after it started (command_timeout 3s)", took.Round(time.Millisecond))
	if took > 3*time.Second+15*time.Second {
		t.Errorf("plan took %s", took)
	}
	if left := sandboxProcesses(t, h, "sleep 100007"); len(left) > 0 {
		t.Errorf("the hung login file still runs on the host: %q", left)
	}
}

// TestAccCommandTimeout_hungApply: the apply's live write hangs on the host
// (held open by the test, as a stuck kernel write or a slow disk would);
// command_timeout stops it, the error names the host and the step, and the
// stuck remote command (root's, where sshd ignores signals) is killed.
func TestAccCommandTimeout_hungApply(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	w := newTFWorkdir(t, providerConfig(`command_timeout = "3s"`)+fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host  = %q
  scope = 2
}
`, h.Addr))
	gate, err := h.GateYamaWrites()
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	start := time.Now()
	out, code := w.run("apply", "-auto-approve")
	took := time.Since(start)
	want := `Command timed out on ` + regexp.QuoteMeta(h.Addr) + `:22 .*set runtime.*still running after command_timeout \(3s\); it was stopped`
	if code != 1 || !regexp.MustCompile(want).MatchString(flat(out)) {
		t.Fatalf("apply: exit %d, want 1 and %q (held: %q):\n%s", code, want, gate.HeldBy(), out)
	}
	t.Logf("terraform apply failed %s after it started (command_timeout 3s)", took.Round(time.Millisecond))
	select {
	case <-gate.Held():
	default:
		t.Fatal("the live write was never held: the test proves nothing")
	}
	if left := sandboxProcesses(t, h, "sh -c"); len(left) > 0 {
		t.Errorf("the stuck apply still runs on the host: %q", left)
	}
}

// sandboxProcesses waits up to 5s for the host's processes matching marker
// to go, and returns those left.
func sandboxProcesses(t *testing.T, h *testhost.Host, marker string) []string {
	t.Helper()
	left, err := h.ProcessesLeft(marker, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// TestAccOutputFlood_providerMemory: a login file that prints 1 GB of junk
// used to drive the provider to 2-3 GB of memory. Now the read stops at
// 8 MiB of output and the provider process's peak RSS (VmHWM, sampled
// until it exits) stays far below that.
func TestAccOutputFlood_providerMemory(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1", Shells: map[string]string{testhost.UserSudo: "/bin/bash"},
		Files: map[string]string{"/home/" + testhost.UserSudo + "/.bashrc": "head -c 1000000000 /dev/zero | tr '\\0' x\n"}})
	w := newTFWorkdir(t, dataSourceOnly(h, `ssh { user = "yamasudo" }`))
	cmd := exec.Command(terraformPath(t), "plan", "-no-color")
	cmd.Dir, cmd.Env = w.dir, w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	provider := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-time.After(10 * time.Millisecond):
		}
		if provider == 0 {
			provider = childProcess(t, cmd.Process.Pid, "terraform-provider-yama")
		}
		if provider != 0 {
			if hwm := statusKiB(provider, "VmHWM:"); hwm > peak {
				peak = hwm
			}
		}
	}
	if !regexp.MustCompile(`Too much output from host on ` + regexp.QuoteMeta(h.Addr) + `:22`).MatchString(flat(out.String())) {
		t.Fatalf("plan: want Too much output:\n%s", out.String())
	}
	if provider == 0 || peak == 0 {
		t.Fatal("never saw the provider process")
	}
	t.Logf("provider peak RSS: %d MiB", peak>>10)
	if peak > 200<<10 {
		t.Errorf("provider peak RSS %d MiB under a 1 GB flood", peak>>10)
	}
}

// statusKiB reads a "kB" field of /proc/PID/status (0 if gone).
func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
