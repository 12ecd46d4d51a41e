package provider

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// TestAccTerraformKilledMidApply: terraform is killed (SIGKILL) while an
// apply runs a command on the host (the live write is held, as a stuck
// write or slow disk would hold it). The provider process it started must
// notice, end its SSH sessions and exit within seconds, and the remote
// command must be gone, instead of an orphan holding its SSH connection
// for minutes. The login is root's, whose sessions OpenSSH will not
// signal: the remote command ends because its channel closed.
func TestAccTerraformKilledMidApply(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	w := newTFWorkdir(t, resourceConfig(h, `scope = 2`))
	gate, err := h.GateYamaWrites()
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()

	cmd := exec.Command(terraformPath(t), "apply", "-auto-approve", "-no-color")
	cmd.Dir, cmd.Env = w.dir, w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.Held():
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the apply never reached the live write:\n%s", out.String())
	}
	provider := childProcess(t, cmd.Process.Pid, "terraform-provider-yama")
	if provider == 0 {
		_ = cmd.Process.Kill()
		t.Fatalf("no provider process under terraform (pid %d)", cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait() // reap terraform; the provider is now an orphan

	// The provider exits.
	for processAlive(provider) {
		if time.Since(killed) > 20*time.Second {
			_ = syscall.Kill(provider, syscall.SIGKILL)
			t.Fatalf("the provider (pid %d) still runs 20s after terraform was killed", provider)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("provider exited %s after terraform was killed", time.Since(killed).Round(time.Millisecond))
	if d := time.Since(killed); d > 5*time.Second {
		t.Errorf("the provider took %s to exit", d)
	}
	// Its SSH session, connection and remote command are gone.
	if left := sandboxProcesses(t, h, ""); len(left) > 0 {
		t.Errorf("the host still runs %q after the provider went", left)
	}
	t.Logf("host clean %s after terraform was killed", time.Since(killed).Round(time.Millisecond))
}

// childProcess returns the pid of the child of parent whose command line
// contains name, or 0.
func childProcess(t *testing.T, parent int, name string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(st)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue
		}
		if cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); strings.Contains(string(cl), name) {
			return pid
		}
	}
	return 0
}

// processAlive reports whether pid runs (a zombie has ended).
func processAlive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
