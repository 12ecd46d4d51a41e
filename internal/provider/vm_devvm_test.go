//go:build vmtest

package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVMDevVMExample runs examples/dev-vm as a user would: one apply boots a
// real Debian guest under qemu (through terraform_data + local-exec), waits
// for its sshd, accepts its new host key (pinned in state; known_hosts does
// not exist) and sets scope 0 persisted. Then, with the OpenSSH client: the
// guest kernel holds 0, the pinned key is the guest's real key, and 0
// survives a reboot; a regenerated guest host key makes the next plan fail
// with the host-key-changed error. One boot plus one reboot.
func TestVMDevVMExample(t *testing.T) {
	img := os.Getenv("YAMA_VM_IMAGE")
	if img == "" {
		img = vmImageDir(t, &vmTimings{start: time.Now()}, "bookworm", "")
	}
	_, thisFile, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(thisFile), "..", "..", "examples", "dev-vm")
	w := newTFWorkdir(t, "")
	for _, f := range []string{"main.tf", "vm.sh"} {
		b, err := os.ReadFile(filepath.Join(example, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := vmFreePort(t)
	vars := []string{"-var", "image_dir=" + img, "-var", fmt.Sprintf("ssh_port=%d", port)}
	t.Cleanup(func() {
		// The VM goes whatever happened to the resource (its state may
		// have been removed below); qemu is stopped by its own pid.
		_, _ = w.run(append([]string{"destroy", "-auto-approve"}, vars...)...)
		if raw, err := os.ReadFile(filepath.Join(w.dir, ".vm", "qemu.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(raw), &pid); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	start := time.Now()
	out, code := w.run(append([]string{"apply", "-auto-approve"}, vars...)...)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	t.Logf("dev-vm apply (boot, wait for SSH, accept the key, scope 0): %s", time.Since(start).Round(100*time.Millisecond))
	if out, code := w.run(append([]string{"plan", "-detailed-exitcode"}, vars...)...); code != 0 {
		t.Errorf("plan after apply: exit %d, want 0 (clean)\n%s", code, out)
	}
	pinned, code := w.run("output", "-raw", "host_key_pinned")
	if code != 0 || !strings.HasPrefix(pinned, "ssh-") {
		t.Fatalf("host_key_pinned: %q", pinned)
	}

	// The OpenSSH client, verifying the guest with the pinned key.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%d %s\n", port, pinned)), 0o600); err != nil {
		t.Fatal(err)
	}
	ssh := func(script string) (string, error) {
		cmd := exec.Command("ssh", "-i", filepath.Join(img, "id_ed25519"), "-p", fmt.Sprint(port),
			"-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
			"-o", "ConnectTimeout=10", "root@127.0.0.1", script)
		b, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	if got, err := ssh("cat /proc/sys/kernel/yama/ptrace_scope"); err != nil || got != "0" {
		t.Fatalf("guest kernel holds %q (%v), want 0", got, err)
	}

	// Reboot: the drop-in brings 0 back.
	_, _ = ssh("systemctl reboot")
	rebooted := time.Now()
	time.Sleep(5 * time.Second)
	var got string
	var err error
	for time.Since(rebooted) < 4*time.Minute {
		if got, err = ssh("cat /proc/sys/kernel/yama/ptrace_scope"); err == nil {
			break
		}
		time.Sleep(3 * time.Second)
	}
	t.Logf("reboot: SSH back after %s", time.Since(rebooted).Round(100*time.Millisecond))
	if err != nil || got != "0" {
		t.Fatalf("after reboot the guest kernel holds %q (%v), want 0", got, err)
	}

	// A regenerated host key: the next plan refuses the host.
	if out, err := ssh("rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -A >/dev/null && (systemctl restart ssh || systemctl restart sshd)"); err != nil {
		t.Fatalf("regenerating the guest host key: %v\n%s", err, out)
	}
	out, code = w.run(append([]string{"plan"}, vars...)...)
	if code == 0 || !strings.Contains(out, "Host key changed") || !strings.Contains(out, "accept_new_host_key") {
		t.Errorf("plan after the host key changed: exit %d, want the host-key-changed error\n%s", code, out)
	}
	// The pinned key cannot reach the guest any more: forget the resource
	// so that the cleanup's destroy stops the VM.
	if out, code := w.run("state", "rm", "yama_ptrace_scope.dev"); code != 0 {
		t.Errorf("state rm: %s", out)
	}
}
