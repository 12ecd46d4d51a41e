package testhost_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// run executes command on h as user with the real OpenSSH client, checking
// the host key strictly against the Env's known_hosts.
func run(e *testhost.Env, h *testhost.Host, user, command string) (stdout, stderr string, err error) {
	cmd := exec.Command("ssh", "-F", "/dev/null", "-i", e.ClientKeyPath(),
		"-o", "UserKnownHostsFile="+e.KnownHostsPath(), "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(h.Port), user+"@"+h.Addr, command)
	var o, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eb
	err = cmd.Run()
	return o.String(), eb.String(), err
}

// must runs a command that has to succeed and returns its trimmed stdout.
func must(t *testing.T, e *testhost.Env, h *testhost.Host, user, command string) string {
	t.Helper()
	out, errOut, err := run(e, h, user, command)
	if err != nil {
		t.Fatalf("%s@%s %q: %v\n%s", user, h.Name, command, err, errOut)
	}
	return strings.TrimSpace(out)
}

// fails runs a command that has to fail and returns its stderr.
func fails(t *testing.T, e *testhost.Env, h *testhost.Host, user, command string) string {
	t.Helper()
	out, errOut, err := run(e, h, user, command)
	if err == nil {
		t.Fatalf("%s@%s %q succeeded: %s", user, h.Name, command, out)
	}
	return errOut
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// realState captures what the sandboxes must never change on this machine.
func realState() string {
	var b strings.Builder
	yama, err := os.ReadFile(testhost.YamaPath)
	fmt.Fprintf(&b, "yama=%q err=%v\n", yama, err)
	for _, p := range []string{"/etc/sysctl.conf", "/proc/sys/kernel/hostname", "/proc/sys/vm/swappiness", "/etc/passwd", "/etc/sudoers"} {
		c, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "%s=%q\n", p, c)
	}
	for _, d := range []string{"/etc/sysctl.d", "/usr/lib/sysctl.d", "/usr/local/lib/sysctl.d", "/run/sysctl.d", "/etc/ssh"} {
		ents, err := os.ReadDir(d)
		fmt.Fprintf(&b, "%s: %v", d, err)
		for _, e := range ents {
			b.WriteString(" " + e.Name())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestSandboxHosts(t *testing.T) {
	before := realState()
	if _, err := os.Stat(testhost.YamaPath); err == nil {
		t.Log("this kernel has Yama: checking only that its value is unchanged")
	}
	e := testhost.NewTestEnv(t)
	defer func() {
		if after := realState(); after != before {
			t.Errorf("real system changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}()

	start := func(o testhost.Options) *testhost.Host {
		t.Helper()
		h, err := e.Start(o)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := start(testhost.Options{
		Files:    map[string]string{"/etc/sysctl.d/10-ptrace.conf": "kernel.yama.ptrace_scope = 1\n"},
		Symlinks: map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"},
	})
	b := start(testhost.Options{Scope: "0"})
	noYama := start(testhost.Options{NoYama: true, NoSysctlConf: true})
	roYama := start(testhost.Options{ReadOnlyProcSys: true, Scope: "2"})
	port := start(testhost.Options{Port: 2222, Scope: "3"})
	yp := testhost.YamaPath

	t.Run("InitialScope", func(t *testing.T) {
		for h, want := range map[*testhost.Host]string{a: "1", b: "0", roYama: "2"} {
			if got := must(t, e, h, "root", "cat "+yp); got != want {
				t.Errorf("%s: scope %q, want %q", h.Name, got, want)
			}
		}
	})
	t.Run("Hostname", func(t *testing.T) {
		if got := must(t, e, a, "root", "hostname; cat /proc/sys/kernel/hostname"); got != a.Name+"\n"+a.Name {
			t.Errorf("hostname %q, want %s", got, a.Name)
		}
	})
	t.Run("SysctlWriteIsolated", func(t *testing.T) {
		if got := must(t, e, a, "root", "sysctl -w kernel.yama.ptrace_scope=2"); got != "kernel.yama.ptrace_scope = 2" {
			t.Errorf("sysctl -w: %q", got)
		}
		if got := readTrim(t, a.Path(yp)); got != "2" {
			t.Errorf("%s file %q after sysctl -w", a.Name, got)
		}
		if got := readTrim(t, b.Path(yp)); got != "0" {
			t.Errorf("other host changed: %q", got)
		}
		if got := must(t, e, b, "root", "sysctl -n kernel.yama.ptrace_scope"); got != "0" {
			t.Errorf("other host reads %q", got)
		}
	})
	t.Run("ChangeBehindTheBack", func(t *testing.T) {
		if err := os.WriteFile(a.Path(yp), []byte("3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := must(t, e, a, "root", "cat "+yp); got != "3" {
			t.Errorf("sandbox reads %q after outside write", got)
		}
	})
	t.Run("SysctlDirs", func(t *testing.T) {
		got := must(t, e, a, "root", "ls -A /etc/sysctl.d; echo --; ls -A /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d; readlink /etc/sysctl.d/99-sysctl.conf; wc -c </etc/sysctl.conf")
		want := "10-ptrace.conf\n99-sysctl.conf\n--\n/run/sysctl.d:\n\n/usr/lib/sysctl.d:\n\n/usr/local/lib/sysctl.d:\n../sysctl.conf\n0"
		if got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
		// sysctl --system sees only the sandbox's files: 10-ptrace.conf sets 1.
		must(t, e, a, "root", "sysctl --system")
		if got := readTrim(t, a.Path(yp)); got != "1" {
			t.Errorf("after sysctl --system: %q", got)
		}
	})
	t.Run("RenameInEtc", func(t *testing.T) {
		// The provider writes with mktemp + mv in the target's directory.
		must(t, e, a, "root", `t=$(mktemp /etc/.sysctl.conf.XXXXXX) && echo 'kernel.yama.ptrace_scope = 2' >"$t" && mv -f "$t" /etc/sysctl.conf`)
		if got := readTrim(t, a.Path("/etc/sysctl.conf")); got != "kernel.yama.ptrace_scope = 2" {
			t.Errorf("sysctl.conf seen outside: %q", got)
		}
		if err := os.WriteFile(a.Path("/etc/sysctl.d/20-x.conf"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := must(t, e, a, "root", "cat /etc/sysctl.d/20-x.conf"); got != "x" {
			t.Errorf("file created outside reads %q inside", got)
		}
	})
	t.Run("RealSystemReadOnly", func(t *testing.T) {
		for _, c := range []string{
			"touch /usr/testhost-probe",
			"touch /etc/ssh/testhost-probe",
			"v=$(cat /proc/sys/vm/swappiness) && echo $v >/proc/sys/vm/swappiness", // same value: harmless even if it got through
			"cat /proc/sys/kernel/hostname >/proc/sys/kernel/hostname",
		} {
			if msg := fails(t, e, a, "root", c); !strings.Contains(msg, "Read-only file system") {
				t.Errorf("%q: %s", c, msg)
			}
		}
	})
	t.Run("Sudo", func(t *testing.T) {
		if got := must(t, e, a, testhost.UserSudo, "sudo -n cat "+yp); got != readTrim(t, a.Path(yp)) {
			t.Errorf("yamasudo reads %q", got)
		}
		if msg := fails(t, e, a, testhost.UserPlain, "sudo -n true"); !strings.Contains(msg, "password is required") {
			t.Errorf("yamauser sudo: %s", msg)
		}
		if msg := fails(t, e, a, testhost.UserPlain, "echo 0 >"+yp); !strings.Contains(msg, "Permission denied") {
			t.Errorf("yamauser write: %s", msg)
		}
		fails(t, e, a, testhost.UserPW, "sudo -n true")
		if got := must(t, e, a, testhost.UserPW, fmt.Sprintf("printf '%%s\\n' '%s' | sudo -S -p '' id -u", testhost.PasswordPW)); got != "0" {
			t.Errorf("yamapw sudo -S: %q", got)
		}
	})
	t.Run("PasswordLogin", func(t *testing.T) {
		hk, err := knownhosts.New(e.KnownHostsPath())
		if err != nil {
			t.Fatal(err)
		}
		dial := func(user, pw string) (*ssh.Client, error) {
			return ssh.Dial("tcp", a.Endpoint(), &ssh.ClientConfig{
				User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: hk, Timeout: 10 * time.Second,
			})
		}
		c, err := dial(testhost.UserPlain, testhost.PasswordUser)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if out, err := s.Output("id -un"); err != nil || strings.TrimSpace(string(out)) != testhost.UserPlain {
			t.Errorf("id -un: %q %v", out, err)
		}
		if c, err := dial("root", testhost.PasswordUser); err == nil {
			c.Close()
			t.Error("root logged in with a password")
		}
	})
	t.Run("NoYama", func(t *testing.T) {
		if got := must(t, e, noYama, "root", "for f in /proc/sys/kernel/yama /etc/sysctl.conf; do test -e $f && echo present || echo absent; done"); got != "absent\nabsent" {
			t.Errorf("yama dir, sysctl.conf: %q", got)
		}
		if msg := fails(t, e, noYama, "root", "sysctl -n kernel.yama.ptrace_scope"); !strings.Contains(msg, "cannot stat") {
			t.Errorf("sysctl -n: %s", msg)
		}
	})
	t.Run("ReadOnlyYama", func(t *testing.T) {
		if msg := fails(t, e, roYama, "root", "echo 1 >"+yp); !strings.Contains(msg, "Read-only file system") {
			t.Errorf("write: %s", msg)
		}
		if got := readTrim(t, roYama.Path(yp)); got != "2" {
			t.Errorf("value %q", got)
		}
	})
	t.Run("Port", func(t *testing.T) {
		if !strings.Contains(readTrim(t, e.KnownHostsPath()), "["+port.Addr+"]:2222 ") {
			t.Error("no [addr]:2222 known_hosts line")
		}
		if got := must(t, e, port, "root", "cat "+yp); got != "3" {
			t.Errorf("scope %q", got)
		}
	})
	t.Run("BadFileOption", func(t *testing.T) {
		if _, err := e.Start(testhost.Options{Files: map[string]string{"/usr/share/x": ""}}); err == nil {
			t.Error("Files outside the private dirs accepted")
		}
	})
	t.Run("SSHLog", func(t *testing.T) {
		if n := strings.Count(a.SSHLog(), "Connection from "); n < 10 {
			t.Errorf("%d connections logged:\n%s", n, a.SSHLog())
		}
	})
	t.Run("Stop", func(t *testing.T) {
		// A session that outlives the listener must die with the host.
		sleeper := exec.Command("ssh", "-F", "/dev/null", "-i", e.ClientKeyPath(), "-o", "UserKnownHostsFile="+e.KnownHostsPath(),
			"-o", "BatchMode=yes", "root@"+b.Addr, "sleep 60")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := b.Stop(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sleeper.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = sleeper.Process.Kill()
			t.Error("session survived Stop")
		}
		if b.Running() {
			t.Error("still running")
		}
		if msg := fails(t, e, b, "root", "true"); !strings.Contains(msg, "Connection refused") {
			t.Errorf("after Stop: %s", msg)
		}
	})
}

// TestManyHosts starts hosts concurrently (TESTHOST_HOSTS, default 50),
// logs the time and the memory per sshd, and checks every host over SSH.
func TestManyHosts(t *testing.T) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("TESTHOST_HOSTS")); err == nil {
		n = v
	}
	e := testhost.NewTestEnv(t)
	t0 := time.Now()
	hosts, err := e.StartMany(n, testhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started %d hosts in %v", n, time.Since(t0).Round(time.Millisecond))

	var rss, pss int
	for _, h := range hosts {
		rss += statusKB(t, fmt.Sprintf("/proc/%d/status", h.Pid), "VmRSS:")
		pss += statusKB(t, fmt.Sprintf("/proc/%d/smaps_rollup", h.Pid), "Pss:")
	}
	t.Logf("per idle sshd: RSS %d KiB, PSS %d KiB", rss/n, pss/n)

	t0 = time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	for _, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, errOut, err := run(e, h, "root", "hostname; cat "+testhost.YamaPath)
			if want := h.Name + "\n1\n"; err != nil || out != want {
				t.Errorf("%s: %q %v %s", h.Name, out, err, errOut)
			}
		}()
	}
	wg.Wait()
	t.Logf("ssh to %d hosts (10 at a time): %v", n, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %v", time.Since(t0).Round(time.Millisecond))
}

func statusKB(t *testing.T, file, field string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	t.Fatalf("%s: no %s", file, field)
	return 0
}
