package provider

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// accept_new_host_key through the real terraform CLI. One loopback port,
// forwarded by socat to one sandbox host or another, plays "the same
// address presenting another key".

// forwarder forwards 127.0.0.1:port to a sandbox host's sshd with socat.
type forwarder struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func newForwarder(t *testing.T) *forwarder {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat is not installed (apt-get install socat)")
	}
	f := &forwarder{t: t, port: loopbackFreePort(t)}
	t.Cleanup(f.stop)
	return f
}

// to (re)starts the forwarding to h and waits until the port listens.
func (f *forwarder) to(h *testhost.Host) {
	f.stop()
	f.cmd = exec.Command("socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork", f.port), "TCP:"+h.Endpoint())
	// Its own process group: the forked children that serve connections
	// hold the listening socket too, and must go with it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", f.port), time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatal("socat does not listen")
}

func (f *forwarder) stop() {
	if f.cmd != nil && f.cmd.Process != nil {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL) // socat's own group (Setpgid)
		_ = f.cmd.Wait()
		f.cmd = nil
	}
}

func emptyKnownHosts(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func tofuConfig(port int, knownHosts string) string {
	return providerConfig() + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host  = "127.0.0.1"
  scope = 2
  ssh {
    port                = %d
    known_hosts_file    = %q
    accept_new_host_key = true
  }
}
`, port, knownHosts)
}

func fingerprint(t *testing.T, authorizedKey string) string {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

// TestAccTOFUPinned: first contact with an unknown key succeeds and pins
// it; the next plan, with known_hosts still empty, is clean; the same
// address presenting another key is refused at plan time, naming both
// fingerprints; back to the first key, the plan is clean again.
func TestAccTOFUPinned(t *testing.T) {
	a := startHost(t, testhost.Options{})
	b := startHost(t, testhost.Options{})
	f := newForwarder(t)
	kh := emptyKnownHosts(t)
	var start time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() { f.to(a); start = time.Now() },
				Config:    tofuConfig(f.port, kh),
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttr("yama_ptrace_scope.test", "host_key_pinned", a.HostKey),
					hostHolds(t, a, "2\n", "kernel.yama.ptrace_scope = 2\n"),
					func(*terraform.State) error {
						t.Logf("first contact: plan+apply (accepting and pinning the key) took %s", time.Since(start).Round(10*time.Millisecond))
						return nil
					},
				),
			},
			{Config: tofuConfig(f.port, kh), PlanOnly: true},
			{
				PreConfig: func() { f.to(b) },
				Config:    tofuConfig(f.port, kh),
				PlanOnly:  true,
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(fingerprint(t, b.HostKey)) + `.*` +
					regexp.QuoteMeta(fingerprint(t, a.HostKey))),
			},
			{
				PreConfig: func() { f.to(a) },
				Config:    tofuConfig(f.port, kh),
				PlanOnly:  true,
			},
		},
	})
	if got, _ := os.ReadFile(kh); len(got) != 0 {
		t.Errorf("known_hosts was written: %q", got)
	}
}

// TestAccTOFUKnownHostsWins: a known_hosts entry that disagrees is refused
// even with accept_new_host_key.
func TestAccTOFUKnownHostsWins(t *testing.T) {
	a := startHost(t, testhost.Options{})
	b := startHost(t, testhost.Options{})
	f := newForwarder(t)
	kh := emptyKnownHosts(t)
	line := fmt.Sprintf("[127.0.0.1]:%d %s\n", f.port, b.HostKey)
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig:   func() { f.to(a) },
			Config:      tofuConfig(f.port, kh),
			ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(fingerprint(t, a.HostKey)) + `.*` + regexp.QuoteMeta(fingerprint(t, b.HostKey))),
		}},
	})
	if got, _ := os.ReadFile(kh); string(got) != line {
		t.Errorf("known_hosts was changed: %q", got)
	}
}
