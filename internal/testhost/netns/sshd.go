package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// SSHD changes a running sandbox host's sshd (see Reconfigure).
type SSHD struct {
	// Options are sshd_config lines placed before the sandbox's own, so
	// they win: sshd keeps the first value of most keywords, and collects
	// every ListenAddress and HostKey line.
	Options []string
	// Files are written to the host's private /run/testhost/<name> (mode
	// 0600) before sshd restarts, for HostKey, HostCertificate,
	// TrustedUserCAKeys and the like.
	Files map[string][]byte
}

// RunDir is where SSHD.Files live inside a sandbox.
const RunDir = "/run/testhost"

// Reconfigure rewrites a sandbox host's sshd_config and restarts sshd in
// place (SIGHUP makes sshd re-execute itself with the same pid, so the
// sandbox, PID 1 of its namespace, survives). The new configuration is
// checked with `sshd -t` inside the host's mount namespace first. Calls do
// not accumulate: each starts from the sandbox's original configuration.
//
// This relies on how internal/testhost lays a host out: sshd_config and
// sshd.pid in /run/testhost, sshd as the host's Pid.
func Reconfigure(h *testhost.Host, c SSHD) error {
	dir := h.Path(RunDir)
	for name, b := range c.Files {
		if strings.Contains(name, "/") {
			return fmt.Errorf("netns: file name %q must not contain /", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	origPath := cfgPath + ".testhost"
	orig, err := os.ReadFile(origPath)
	if errors.Is(err, os.ErrNotExist) {
		if orig, err = os.ReadFile(cfgPath); err == nil {
			err = os.WriteFile(origPath, orig, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("netns: %s: %w", h.Name, err)
	}
	text := "# netns.Reconfigure\n" + strings.Join(c.Options, "\n") + "\n\n" + string(orig)
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		return err
	}
	// Check inside the sandbox, where the config's paths resolve.
	check := exec.Command("nsenter", "--mount", "--target", strconv.Itoa(h.Pid), "/usr/sbin/sshd", "-t", "-f", RunDir+"/sshd_config")
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("netns: %s: sshd rejects the configuration: %v\n%s", h.Name, err, out)
	}
	pid := filepath.Join(dir, "sshd.pid")
	if err := os.Remove(pid); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := syscall.Kill(h.Pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("netns: SIGHUP %s: %w", h.Name, err)
	}
	// sshd writes its pid file once it listens again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(pid); err == nil {
			return nil
		}
		if !h.Running() {
			return fmt.Errorf("netns: %s: sshd exited after SIGHUP:\n%s", h.Name, h.SSHLog())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns: %s: sshd did not come back after SIGHUP:\n%s", h.Name, h.SSHLog())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
