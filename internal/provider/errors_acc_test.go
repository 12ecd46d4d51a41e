package provider

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Every failure names the host and says what to do. Each case is a
// create that must fail with its own message; none may change the host.
func TestAccPtraceScope_errors(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	up := startHost(t, testhost.Options{Scope: "1"})
	down := startHost(t, testhost.Options{Scope: "1"})
	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	noYama := startHost(t, testhost.Options{NoYama: true})
	roProc := startHost(t, testhost.Options{Scope: "1", ReadOnlyProcSys: true})
	stall := stallingListener(t)
	dir := t.TempDir()
	emptyKnownHosts := writeTemp(t, dir, "empty_known_hosts", "")
	// A known_hosts entry for up's address with another host's key.
	changedKnownHosts := writeTemp(t, dir, "changed_known_hosts", fmt.Sprintf("%s %s\n", up.Addr, noYama.HostKey))
	otherKey := writeTemp(t, dir, "other_key", newPrivateKeyPEM(t))

	cases := []struct {
		name  string
		addr  string
		body  string
		match string
	}{
		{"host unreachable", down.Addr, `scope = 2`, `Host unreachable on ` + regexp.QuoteMeta(down.Addr) + `(?s).*host is up`},
		{"handshake timeout", "127.0.0.1", fmt.Sprintf(`
  scope = 2
  ssh {
    port    = %d
    timeout = "2s"
  }`, stall), `SSH handshake timed out on 127\.0\.0\.1:\d+(?s).*raise .timeout.`},
		{"auth refused", up.Addr, fmt.Sprintf(`
  scope = 2
  ssh {
    private_key = file(%q)
  }`, otherKey), `SSH authentication refused on ` + regexp.QuoteMeta(up.Addr) + `(?s).*authorized_keys`},
		{"host key unknown", up.Addr, fmt.Sprintf(`
  scope = 2
  ssh {
    known_hosts_file = %q
  }`, emptyKnownHosts), `Host key unknown on ` + regexp.QuoteMeta(up.Addr) + `(?s).*SHA256:.*host_key = `},
		{"host key changed", up.Addr, fmt.Sprintf(`
  scope = 2
  ssh {
    known_hosts_file = %q
  }`, changedKnownHosts), `Host key changed on ` + regexp.QuoteMeta(up.Addr) + `(?s).*man-in-the-middle`},
		{"sudo refused", up.Addr, `
  scope = 2
  ssh {
    user = "yamauser"
    sudo = true
  }`, `sudo refused on ` + regexp.QuoteMeta(up.Addr) + `(?s).*NOPASSWD`},
		{"permission denied", up.Addr, `
  scope = 2
  ssh {
    user = "yamauser"
  }`, `Permission denied on ` + regexp.QuoteMeta(up.Addr) + `(?s).*sudo = true`},
		{"yama absent", noYama.Addr, `scope = 2`, `Yama is not enabled on ` + regexp.QuoteMeta(noYama.Addr) + `(?s).*ptrace_scope does not\s+exist`},
		{"read-only proc", roProc.Addr, `
  scope   = 2
  persist = false`, `Read-only file system on ` + regexp.QuoteMeta(roProc.Addr)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: providerConfig() + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host = %q
  %s
}
`, c.addr, c.body),
					ExpectError: regexp.MustCompile(c.match),
				}},
			})
		})
	}
	t.Cleanup(func() {
		// None of the failures may have changed a host.
		for _, h := range []*testhost.Host{up, roProc} {
			if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
				t.Errorf("%s: live value changed to %q by a failed apply", h.Addr, got)
			}
			if hostExists(h, yama.DefaultFile) {
				t.Errorf("%s: drop-in written by a failed apply", h.Addr)
			}
		}
	})
}

// Non-root users reach root through sudo, with or without a password; a
// password-only login works too.
func TestAccPtraceScope_sudoAndPassword(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	cases := []struct{ name, provider, ssh string }{
		{"nopasswd sudo", providerConfig(), `
  ssh {
    user = "yamasudo"
    sudo = true
  }`},
		{"sudo with password", providerConfig(), fmt.Sprintf(`
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %q
  }`, testhost.PasswordPW)},
		{"password login and sudo", fmt.Sprintf(`
provider "yama" {
  known_hosts_file = %q
  agent            = false
}
`, accEnv.KnownHostsPath()), fmt.Sprintf(`
  ssh {
    user          = "yamapw"
    password      = %q
    sudo          = true
    sudo_password = %q
  }`, testhost.PasswordPW, testhost.PasswordPW)},
	}
	for i, c := range cases {
		scope := fmt.Sprint(i % 3)
		t.Run(c.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: c.provider + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host       = %q
  scope      = %s
  on_destroy = "keep"
  %s
}
`, h.Addr, scope, c.ssh),
					Check: hostHolds(t, h, scope+"\n", "kernel.yama.ptrace_scope = "+scope+"\n"),
				}},
			})
		})
	}
}

// stallingListener accepts TCP connections and never speaks SSH.
func stallingListener(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newPrivateKeyPEM(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}
