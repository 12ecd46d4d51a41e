package sshclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Hostile and unusual login setups, on real sshd sandbox hosts (root).

func sandboxConfig(e *testhost.Env, h *testhost.Host, user string) Config {
	return Config{Host: h.Addr, Port: h.Port, User: user, PrivateKey: e.ClientKeyPEM(), KnownHostsFile: e.KnownHostsPath()}
}

func startSandbox(t *testing.T, e *testhost.Env, o testhost.Options) *testhost.Host {
	t.Helper()
	h, err := e.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A login shell that is not a shell: the command fails with ErrLoginShell,
// carrying what the shell printed, instead of an unexplained exit status.
func TestLoginShellDoesNotRunCommands(t *testing.T) {
	e := testhost.NewTestEnv(t)
	h := startSandbox(t, e, testhost.Options{Shells: map[string]string{
		testhost.UserSudo: "/usr/sbin/nologin", testhost.UserPlain: "/bin/false", testhost.UserPW: "/bin/true"}})
	for user, want := range map[string]string{
		testhost.UserSudo:  "This account is currently not available",
		testhost.UserPlain: "exited with status 1 without running it, and printed nothing",
		testhost.UserPW:    "exited with status 0 without running it",
	} {
		t.Run(user, func(t *testing.T) {
			cfg := sandboxConfig(e, h, user)
			_, _, err := mustHost(t, newTestPool(t), cfg).Run(context.Background(), "echo hi", nil, false)
			checkErr(t, err, ErrLoginShell)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "user "+user) {
				t.Errorf("err = %v, want it to name the user and say %q", err, want)
			}
		})
	}
}

// A login file that reads standard input takes the command's input: the
// command says so (ErrInputConsumed) instead of failing on missing lines,
// for an unprivileged run and for one through sudo.
func TestLoginFileReadsStdin(t *testing.T) {
	e := testhost.NewTestEnv(t)
	for name, rc := range map[string]string{"cat": "cat >/dev/null\n", "read": "read x\n"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := startSandbox(t, e, testhost.Options{
				Shells: map[string]string{"root": "/bin/bash", testhost.UserSudo: "/bin/bash"},
				Files:  map[string]string{"/root/.bashrc": rc, "/home/" + testhost.UserSudo + "/.bashrc": rc},
			})
			for _, tc := range []struct {
				user       string
				privileged bool
			}{{"root", false}, {testhost.UserSudo, true}} {
				cfg := sandboxConfig(e, h, tc.user)
				cfg.Sudo = tc.privileged
				_, _, err := mustHost(t, newTestPool(t), cfg).Run(context.Background(), "IFS= read -r a; echo $a", []byte("data\n"), tc.privileged)
				checkErr(t, err, ErrInputConsumed)
			}
		})
	}
}

// processesLeft waits up to 5s for no process of the sandbox to match
// marker, and returns the ones still there.
func processesLeft(t *testing.T, h *testhost.Host, marker string) []string {
	t.Helper()
	left, err := h.ProcessesLeft(marker, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// command_timeout bounds a command that hangs, wherever it hangs: in a
// login file, in the script, as root or through sudo. The error says which
// (the login shell had not started it, or it was running), Run returns
// within the timeout plus a little, and the remote processes are gone
// (except where no SSH mechanism can reach them: a root login file).
func TestCommandTimeoutStopsTheRemoteCommand(t *testing.T) {
	e := testhost.NewTestEnv(t)
	const timeout = 3 * time.Second
	cases := []struct {
		name, user, rc, script string
		privileged             bool
		want                   string
		survives               bool // no way to stop it (see abort)
	}{
		{name: "hung login file", user: testhost.UserSudo, rc: "sleep 100001\n", script: "echo hi", want: "login shell had not started the command"},
		{name: "hung script", user: testhost.UserSudo, script: "sleep 100002", want: "still running"},
		{name: "hung script as root", user: "root", script: "sleep 100003", want: "still running"},
		{name: "hung script through sudo", user: testhost.UserSudo, script: "sleep 100004", privileged: true, want: "still running"},
		{name: "hung login file of root", user: "root", rc: "sleep 100005\n", script: "echo hi", want: "login shell had not started the command", survives: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := "/root"
			if tc.user != "root" {
				home = "/home/" + tc.user
			}
			o := testhost.Options{Shells: map[string]string{tc.user: "/bin/bash"}}
			if tc.rc != "" {
				o.Files = map[string]string{home + "/.bashrc": tc.rc}
			}
			h := startSandbox(t, e, o)
			cfg := sandboxConfig(e, h, tc.user)
			cfg.CommandTimeout, cfg.Sudo = timeout, tc.privileged
			start := time.Now()
			_, _, err := mustHost(t, newTestPool(t), cfg).Run(context.Background(), tc.script, nil, tc.privileged)
			took := time.Since(start)
			checkErr(t, err, ErrCommandTimeout)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), h.Addr) {
				t.Errorf("err = %v, want it to name the host and say %q", err, tc.want)
			}
			t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("took %s, want command_timeout (%s) and little more", took, timeout)
			}
			if tc.survives {
				ps, _ := h.Processes()
				t.Logf("as documented, OpenSSH refuses signals to root's sessions and nothing of ours runs yet: %q stays", ps)
				return
			}
			if left := processesLeft(t, h, "sleep 10000"); len(left) > 0 {
				t.Errorf("the remote command still runs after the timeout: %q", left)
			}
		})
	}
}

// vmHWM returns the peak resident set size of this process (VmHWM), and
// resets it first when reset is set (clear_refs 5).
func vmHWM(t *testing.T, reset bool) int64 {
	t.Helper()
	if reset {
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			t.Skipf("cannot reset the peak RSS: %v", err)
		}
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// A host that sends far more than MaxOutput (1 GB of junk from a login
// file, or from the command itself) has the command stopped with
// ErrOutputLimit, and this process's memory stays near MaxOutput: its peak
// RSS grows by less than MaxOutput plus slack.
func TestOutputFloodIsCapped(t *testing.T) {
	e := testhost.NewTestEnv(t)
	const flood = "head -c 1000000000 /dev/zero | tr '\\0' x"
	for _, tc := range []struct{ name, rc, script string }{
		{"login file", flood + " >&2\n", "echo hi"},
		{"stdout", "", flood},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testhost.Options{Shells: map[string]string{testhost.UserSudo: "/bin/bash"}}
			if tc.rc != "" {
				o.Files = map[string]string{"/home/" + testhost.UserSudo + "/.bashrc": tc.rc}
			}
			h := startSandbox(t, e, o)
			p := newTestPool(t)
			// Warm up the pool's machinery on a login without the flood.
			if _, _, err := mustHost(t, p, sandboxConfig(e, h, "root")).Run(context.Background(), "true", nil, false); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			host := mustHost(t, p, sandboxConfig(e, h, testhost.UserSudo))
			runtime.GC()
			base := vmHWM(t, true)
			start := time.Now()
			stdout, stderr, err := host.Run(context.Background(), tc.script, nil, false)
			took := time.Since(start)
			peak := vmHWM(t, false)
			checkErr(t, err, ErrOutputLimit)
			if !strings.Contains(err.Error(), fmt.Sprintf("%d MiB", MaxOutput>>20)) {
				t.Errorf("err = %v: want the bound in it", err)
			}
			if len(stdout)+len(stderr) > MaxOutput {
				t.Errorf("returned %d bytes, more than MaxOutput", len(stdout)+len(stderr))
			}
			grew := peak - base
			t.Logf("stopped after %s; peak RSS %d MiB (grew %d MiB during the run, bound %d MiB)", took.Round(time.Millisecond), peak>>20, grew>>20, MaxOutput>>20)
			if limit := int64(MaxOutput + 24<<20); grew > limit {
				t.Errorf("peak RSS grew by %d MiB, want under %d MiB", grew>>20, limit>>20)
			}
			if left := processesLeft(t, h, "head -c 1000000000"); len(left) > 0 {
				t.Errorf("the flood still runs: %q", left)
			}
		})
	}
}

// Each way sudo can fail has its own error, so the provider can say what
// to do about that one.
func TestSudoFailuresAreTold(t *testing.T) {
	e := testhost.NewTestEnv(t)
	h := startSandbox(t, e, testhost.Options{})
	tty := startSandbox(t, e, testhost.Options{
		// requiretty for the user with a sudo password.
		Files: map[string]string{"/etc/sudoers.d/requiretty": "Defaults:" + testhost.UserPW + " requiretty\n"},
	})
	if err := os.Chmod(tty.Path("/etc/sudoers.d/requiretty"), 0o440); err != nil {
		t.Fatal(err)
	}
	// A PATH with what the command line needs, but no sudo.
	const noSudoPath = "/run/testhost/nosudo"
	noSudo := startSandbox(t, e, testhost.Options{
		Shells: map[string]string{testhost.UserSudo: "/bin/bash"},
		Files:  map[string]string{"/home/" + testhost.UserSudo + "/.bashrc": "PATH=" + noSudoPath + "; export PATH\n"},
	})
	if err := os.MkdirAll(noSudo.Path(noSudoPath), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"sh", "env", "base64", "sleep", "id"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, noSudo.Path(noSudoPath+"/"+tool)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		host     *testhost.Host
		user, pw string
		want     error
	}{
		{"sudo not on PATH", noSudo, testhost.UserSudo, "", ErrSudoMissing},
		{"requiretty", tty, testhost.UserPW, testhost.PasswordPW, ErrSudoTTY},
		{"needs a password", h, testhost.UserPW, "", ErrSudoNeedsPassword},
		{"not allowed, with a password", h, testhost.UserPlain, testhost.PasswordUser, ErrSudoNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sandboxConfig(e, tc.host, tc.user)
			cfg.Sudo, cfg.SudoPassword = true, tc.pw
			_, _, err := mustHost(t, newTestPool(t), cfg).Run(context.Background(), "id -u", nil, true)
			checkErr(t, err, tc.want)
			t.Logf("%v", err)
			for _, other := range []error{ErrSudoMissing, ErrSudoTTY, ErrSudoNeedsPassword, ErrSudoNotAllowed, ErrSudoPassword} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("also %v", other)
				}
			}
		})
	}
}
