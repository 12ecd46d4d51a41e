package provider

import (
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// wait_for_ssh through the real terraform CLI, against sandbox sshd hosts.
// A booting VM is imitated by a port on which nothing listens until socat
// starts forwarding it to the sandbox's sshd.

// loopbackFreePort returns a 127.0.0.1 port on which nothing listens.
func loopbackFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// lateForwarder starts socat on 127.0.0.1:port, forwarding to h's sshd,
// after delay; it is stopped (by its pid) when the test ends.
func lateForwarder(t *testing.T, h *testhost.Host, port int, delay time.Duration) {
	t.Helper()
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	cmd := exec.Command(socat, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", port), "TCP:"+h.Endpoint())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its forked children go with it
	timer := time.AfterFunc(delay, func() {
		if err := cmd.Start(); err != nil {
			t.Errorf("socat: %v", err)
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // socat's own group
			_ = cmd.Wait()
		}
	})
}

func waitResourceConfig(h *testhost.Host, port int, wait string) string {
	return providerConfig() + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host  = "127.0.0.1"
  scope = 2
  ssh {
    port         = %d
    host_key     = %q
    wait_for_ssh = %q
  }
}
`, port, h.HostKey, wait)
}

// TestAccWaitForSSHLateHost: a host whose sshd becomes reachable 10 s after
// the run begins is waited for (by the plan, which reads it, and so by the
// whole apply), and the scope is set.
func TestAccWaitForSSHLateHost(t *testing.T) {
	h := startHost(t, testhost.Options{})
	port := loopbackFreePort(t)
	var start time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				start = time.Now()
				lateForwarder(t, h, port, 10*time.Second)
			},
			Config: waitResourceConfig(h, port, "2m"),
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("yama_ptrace_scope.test", "scope", "2"),
				hostHolds(t, h, "2\n", "kernel.yama.ptrace_scope = 2\n"),
				func(*terraform.State) error {
					took := time.Since(start)
					t.Logf("late host (up after 10 s): plan and apply done after %s", took.Round(100*time.Millisecond))
					if took < 10*time.Second {
						return fmt.Errorf("done after %s, before the host was up", took)
					}
					return nil
				},
			),
		}},
	})
}

// TestAccWaitForSSHNeverAnswers: a host that never comes up fails after
// wait_for_ssh, not before and not much after, naming the host, how long
// it waited and the last error.
func TestAccWaitForSSHNeverAnswers(t *testing.T) {
	h := startHost(t, testhost.Options{})
	port := loopbackFreePort(t)
	var start time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig:   func() { start = time.Now() },
			Config:      waitResourceConfig(h, port, "8s"),
			ExpectError: regexp.MustCompile(`127\.0\.0\.1:` + strconv.Itoa(port) + `(.|\n)*waited\s+8s\s+for\s+SSH(.|\n)*connection\s+refused`),
		}},
	})
	took := time.Since(start)
	t.Logf("never-answering host: failed after %s (wait_for_ssh = 8s)", took.Round(100*time.Millisecond))
	if took < 8*time.Second || took > 20*time.Second {
		t.Errorf("failed after %s; want just over 8s", took)
	}
}

// TestAccWaitForSSHNoRetryOnAuth: a key the host does not accept fails at
// once, even with a long wait_for_ssh.
func TestAccWaitForSSHNoRetryOnAuth(t *testing.T) {
	h := startHost(t, testhost.Options{})
	_, wrongKey := keyForTest(t, "not-authorized")
	var start time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: func() { start = time.Now() },
			Config: providerConfig() + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  host = %q
  ssh {
    private_key  = %q
    wait_for_ssh = "2m"
  }
}
`, h.Addr, wrongKey),
			ExpectError: regexp.MustCompile(`(?i)authenticat`),
		}},
	})
	took := time.Since(start)
	t.Logf("wrong key with wait_for_ssh = 2m: failed after %s", took.Round(100*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("failed after %s: an authentication failure was retried", took)
	}
}
