package testhost_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

func TestFaultOptions(t *testing.T) {
	e := testhost.NewTestEnv(t)
	start := func(o testhost.Options) *testhost.Host {
		t.Helper()
		h, err := e.Start(o)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	const drop = "/etc/sysctl.d/10-ptrace.conf"
	seed := map[string]string{drop: "kernel.yama.ptrace_scope = 1\n"}

	t.Run("ReadOnlySysctlD", func(t *testing.T) {
		h := start(testhost.Options{ReadOnlySysctlD: true, Files: seed})
		if got := must(t, e, h, "root", "cat "+drop); got != "kernel.yama.ptrace_scope = 1" {
			t.Errorf("seeded drop-in reads %q", got)
		}
		if msg := fails(t, e, h, "root", "mktemp /etc/sysctl.d/.x.XXXXXX"); !strings.Contains(msg, "Read-only file system") {
			t.Errorf("mktemp: %s", msg)
		}
		// The rest of the sandbox stays writable.
		must(t, e, h, "root", "echo 2 >"+testhost.YamaPath+" && touch /etc/sysctl.conf /run/sysctl.d/x.conf")
		if err := os.WriteFile(h.Path("/etc/sysctl.d/20-x.conf"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := must(t, e, h, "root", "cat /etc/sysctl.d/20-x.conf"); got != "x" {
			t.Errorf("file written outside reads %q inside", got)
		}
	})

	t.Run("SysctlDSize", func(t *testing.T) {
		h := start(testhost.Options{SysctlDSize: 64 << 10, Files: seed, Symlinks: map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}})
		if got := must(t, e, h, "root", "cat "+drop+"; readlink /etc/sysctl.d/99-sysctl.conf; stat -f -c %T /etc/sysctl.d"); got != "kernel.yama.ptrace_scope = 1\n../sysctl.conf\ntmpfs" {
			t.Errorf("sized sysctl.d: %q", got)
		}
		if got := readTrim(t, h.Path(drop)); got != "kernel.yama.ptrace_scope = 1" {
			t.Errorf("Path(%s) reads %q", drop, got)
		}
		must(t, e, h, "root", "echo 'a = 1' >/etc/sysctl.d/20-a.conf")
		if got := readTrim(t, h.Path("/etc/sysctl.d/20-a.conf")); got != "a = 1" {
			t.Errorf("file written inside reads %q through Path", got)
		}
		if err := h.FillSysctlD(); err != nil {
			t.Fatal(err)
		}
		if msg := fails(t, e, h, "root", "echo 'kernel.yama.ptrace_scope = 2' >/etc/sysctl.d/30-b.conf"); !strings.Contains(msg, "No space left on device") {
			t.Errorf("write to a full sysctl.d: %s", msg)
		}
		// The machine's tree under Host.Dir never saw the tmpfs files.
		if _, err := os.Stat(h.Dir + "/fs/etc/sysctl.d/20-a.conf"); !os.IsNotExist(err) {
			t.Errorf("tmpfs file leaked to the tree: %v", err)
		}
	})

	t.Run("AuditCommands", func(t *testing.T) {
		h := start(testhost.Options{AuditCommands: true})
		cmd := `printf '%s\n' "it's" "$(id -un)"; exit 3`
		out, _, err := run(e, h, testhost.UserSudo, cmd)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || out != "it's\nyamasudo\n" {
			t.Errorf("audited command: out %q, err %v; want the output and exit status 3", out, err)
		}
		must(t, e, h, testhost.UserSudo, "sudo -n true")
		got := h.CommandLog()
		if len(got) != 2 || got[0] != cmd || got[1] != "sudo -n true" {
			t.Errorf("command log: %q", got)
		}
		if log := h.SudoLog(); !strings.Contains(log, "yamasudo") || !strings.Contains(log, "COMMAND=/usr/bin/true") {
			t.Errorf("sudo log: %q", log)
		}
	})

	t.Run("Locale", func(t *testing.T) {
		if err := testhost.CanBuildLocale("de_DE.UTF-8"); err != nil {
			t.Skip(err)
		}
		h := start(testhost.Options{Locale: "de_DE.UTF-8", ReadOnlySysctlD: true})
		if msg := fails(t, e, h, "root", "mktemp /etc/sysctl.d/.x.XXXXXX"); !strings.Contains(msg, "nur lesbar") {
			t.Errorf("German session: %s", msg)
		}
		if msg := fails(t, e, h, "root", "LC_ALL=C mktemp /etc/sysctl.d/.x.XXXXXX"); !strings.Contains(msg, "Read-only file system") {
			t.Errorf("LC_ALL=C: %s", msg)
		}
	})

	t.Run("DropConnections", func(t *testing.T) {
		h := start(testhost.Options{})
		sleeper := exec.Command("ssh", "-F", "/dev/null", "-i", e.ClientKeyPath(), "-o", "UserKnownHostsFile="+e.KnownHostsPath(),
			"-o", "BatchMode=yes", "root@"+h.Addr, "echo started; exec sleep 60")
		// Read "started" from a pipe: polling a bytes.Buffer that exec's
		// copier writes to is a data race.
		stdout, err := sleeper.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		started := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			started <- strings.Contains(line, "started")
			_, _ = io.Copy(io.Discard, stdout)
		}()
		select {
		case ok := <-started:
			if !ok {
				t.Fatal("the remote command did not start")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the remote command did not start within 20s")
		}
		n, err := h.DropConnections()
		if err != nil || n == 0 {
			t.Fatalf("DropConnections: %d killed, %v", n, err)
		}
		done := make(chan error, 1)
		go func() { done <- sleeper.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("ssh exited 0 after its connection was cut")
			}
		case <-time.After(10 * time.Second):
			_ = sleeper.Process.Kill()
			t.Fatal("session survived DropConnections")
		}
		if got := must(t, e, h, "root", "echo again"); got != "again" || !h.Running() {
			t.Errorf("host after DropConnections: %q, running %v", got, h.Running())
		}
	})

	t.Run("GateYamaWrites", func(t *testing.T) {
		h := start(testhost.Options{Scope: "1"})
		g, err := h.GateYamaWrites()
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		type result struct {
			out, errOut string
			err         error
		}
		res := make(chan result, 1)
		go func() {
			o, eo, err := run(e, h, "root", "cat "+testhost.YamaPath+"; echo 3 | tee "+testhost.YamaPath+" >/dev/null; echo status $?")
			res <- result{o, eo, err}
		}()
		select {
		case <-g.Held():
		case r := <-res:
			t.Fatalf("write was not held: %+v", r)
		case <-time.After(30 * time.Second):
			t.Fatal("no write held within 30s")
		}
		if by := g.HeldBy(); len(by) != 1 || !strings.Contains(by[0], "tee") {
			t.Errorf("held: %q", by)
		}
		// Reads still pass while a write is held, from outside too.
		if got := readTrim(t, h.Path(testhost.YamaPath)); got != "1" {
			t.Errorf("value while held: %q", got)
		}
		g.Release(false)
		r := <-res
		if r.out != "1\nstatus 1\n" || !strings.Contains(r.errOut, "Operation not permitted") {
			t.Errorf("denied write: %+v", r)
		}
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		if got := must(t, e, h, "root", "echo 2 >"+testhost.YamaPath+"; cat "+testhost.YamaPath); got != "2" {
			t.Errorf("after Close: %q", got)
		}
	})
}
