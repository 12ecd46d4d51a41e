package testhost_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Options.Shells gives sandbox users their login shell: sshd runs their
// commands with it, and Processes shows what a session runs.
func TestShells(t *testing.T) {
	e := testhost.NewTestEnv(t)
	h, err := e.Start(testhost.Options{Shells: map[string]string{
		testhost.UserSudo:  "/bin/tcsh",
		testhost.UserPlain: testhost.BusyboxShell,
		testhost.UserPW:    "/usr/sbin/nologin",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/bin/tcsh"); err != nil {
		t.Skip("tcsh is not installed (scripts/deps.sh installs it)")
	}
	// csh syntax, which no POSIX shell accepts.
	if got := must(t, e, h, testhost.UserSudo, "set x = csh; echo $x"); got != "csh" {
		t.Errorf("yamasudo's shell ran %q, want tcsh", got)
	}
	// busybox ash's help builtin; dash has none, bash's says otherwise.
	if got := must(t, e, h, testhost.UserPlain, "help 2>&1 | head -n 1"); got != "Built-in commands:" {
		t.Errorf("yamauser's shell says %q, want busybox ash", got)
	}
	if out, _, err := run(e, h, testhost.UserPW, "echo hi"); err == nil || out != "This account is currently not available.\n" {
		t.Errorf("nologin ran the command: %q, %v", out, err)
	}
	if got := must(t, e, h, "root", "echo $0"); got != "bash" && !strings.HasSuffix(got, "sh") {
		t.Errorf("root's shell changed: %q", got)
	}
	// A sleeping session shows in Processes.
	done := make(chan struct{})
	go func() { defer close(done); _, _, _ = run(e, h, "root", "exec sleep 2") }()
	found := false
	for i := 0; i < 200 && !found; i++ {
		ps, err := h.Processes()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			found = found || p == "sleep 2"
		}
		if !found {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !found {
		t.Error("Processes never showed the session's sleep")
	}
	<-done

	if _, err := e.Start(testhost.Options{Shells: map[string]string{"nobody-here": "/bin/sh"}}); err == nil {
		t.Error("a login shell for a user that does not exist was accepted")
	}
	if _, err := e.Start(testhost.Options{Shells: map[string]string{"root": "/bin/no-such-shell"}}); err == nil {
		t.Error("a login shell that does not exist was accepted")
	}
}
