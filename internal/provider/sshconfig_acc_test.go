package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// TestAccSSHConfigFile: a generated OpenSSH client config, as `vagrant
// ssh-config` or a user's ~/.ssh/config would give it, with an alias, a
// two-hop ProxyJump chain, an IdentityFile and a UserKnownHostsFile, is
// all the provider is told: it reaches the target (in a network only the
// second bastion reaches) and sets the scope; the next plan is clean. A
// ProxyCommand for the host is an error, not ignored.
func TestAccSSHConfigFile(t *testing.T) {
	n := newBastionNet(t)
	dir := t.TempDir()
	file := writeTemp(t, dir, "vm.sshconfig", fmt.Sprintf(`# as vagrant ssh-config would write it, plus jump hosts
Host devvm
  HostName %s
  User root
  ProxyJump jump1,jump2
  IdentitiesOnly yes
  ConnectTimeout 10

Host jump1
  HostName 127.0.0.1
  Port %d

Host jump2
  HostName %s

Host *
  IdentityFile %s/missing_key
  IdentityFile %s
  UserKnownHostsFile %s
  StrictHostKeyChecking yes
`, n.bcC, n.relay, n.abB, dir, accEnv.ClientKeyPath(), n.knownHosts))
	config := func(extra string) string {
		return fmt.Sprintf(`
provider "yama" {}

resource "yama_ptrace_scope" "vm" {
  host  = "devvm"
  scope = 0
  ssh {
    ssh_config_file = %q
    %s
  }
}
`, file, extra)
	}
	w := newTFWorkdir(t, config(""))
	start := time.Now()
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	t.Logf("apply through the ssh_config ProxyJump chain: %s", time.Since(start).Round(time.Millisecond))
	if got := hostFile(t, n.tgt, testhost.YamaPath); got != "0\n" {
		t.Errorf("target live value %q, want 0", got)
	}
	if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Errorf("second plan: exit %d (want 0, no changes)\n%s", code, out)
	}
	if out, _ := w.run("state", "show", "yama_ptrace_scope.vm"); !strings.Contains(out, n.bcC+":22") {
		t.Errorf("id is not the address the file resolves to:\n%s", out)
	}

	bad := writeTemp(t, dir, "bad.sshconfig", "Host devvm\n  ProxyCommand nc %h %p\n")
	w2 := newTFWorkdir(t, strings.Replace(config(""), file, bad, 1))
	out, code := w2.run("plan")
	if code == 0 || !strings.Contains(out, "ProxyCommand") || !strings.Contains(out, "not supported") {
		t.Errorf("ProxyCommand: exit %d\n%s", code, out)
	}
	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
}
