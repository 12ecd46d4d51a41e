package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/testhost/netns"
)

// bastionNet is a private network of three sandbox hosts, each in its own
// network namespace:
//
//	test process --127.0.0.1:relay--> [a] first --10.X.1.0/24--> [b] second --10.X.2.0/24--> [c] target
//
// first is reachable only through the relay (its sshd listens on its own
// loopback inside a); second only from a; target only from b (no
// namespace forwards). second and target are full sandbox hosts with a
// Yama stand-in, so they can be managed through the bastions.
type bastionNet struct {
	net                 *netns.Net
	a, b, c             *netns.NS
	first, second, tgt  *testhost.Host
	relay               int    // port of the relay to first, on 127.0.0.1
	firstAddr           string // "127.0.0.1:<relay>"
	abA, abB, bcB, bcC  string // link addresses: a-b link (a side, b side), b-c link
	knownHosts          string // every hop, hashed names for the private ones
	firstHop, secondHop string // HCL bastion blocks
}

func newBastionNet(t *testing.T) *bastionNet {
	t.Helper()
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	n := &bastionNet{net: netns.New(t)}
	n.a, n.b, n.c = n.net.Namespace("a"), n.net.Namespace("b"), n.net.Namespace("c")
	n.abA, n.abB = n.net.Link(n.a, n.b)
	n.bcB, n.bcC = n.net.Link(n.b, n.c)
	var err error
	if n.first, err = n.a.StartHost(accEnv, testhost.Options{}); err != nil {
		t.Fatal(err)
	}
	if n.second, err = n.b.StartHost(accEnv, testhost.Options{Scope: "1"}, net.JoinHostPort(n.abB, "22")); err != nil {
		t.Fatal(err)
	}
	if n.tgt, err = n.c.StartHost(accEnv, testhost.Options{Scope: "1"}, net.JoinHostPort(n.bcC, "22")); err != nil {
		t.Fatal(err)
	}
	n.relay = n.a.Relay(n.first.Endpoint())
	n.firstAddr = fmt.Sprintf("127.0.0.1:%d", n.relay)
	n.knownHosts = writeTemp(t, t.TempDir(), "known_hosts", strings.Join([]string{
		fmt.Sprintf("[127.0.0.1]:%d %s", n.relay, n.first.HostKey),
		xknownhosts.HashHostname(n.abB) + " " + n.second.HostKey,
		xknownhosts.HashHostname(n.bcC) + " " + n.tgt.HostKey,
	}, "\n")+"\n")
	n.firstHop = fmt.Sprintf(`bastion {
      host = "127.0.0.1"
      port = %d
    }`, n.relay)
	n.secondHop = fmt.Sprintf(`bastion {
      host = %q
    }`, n.abB)
	return n
}

// The target is in a network only the second bastion reaches.
func (n *bastionNet) checkIsolation(t *testing.T) {
	t.Helper()
	if _, err := n.a.Dial(net.JoinHostPort(n.bcC, "22"), 2*time.Second); !errors.Is(err, syscall.ENETUNREACH) {
		t.Fatalf("the first bastion's network reaches the target (%v): the test would prove nothing", err)
	}
	c, err := n.b.Dial(net.JoinHostPort(n.bcC, "22"), 2*time.Second)
	if err != nil {
		t.Fatalf("the second bastion cannot reach the target: %v", err)
	}
	c.Close()
}

// A resource one hop away (provider-level bastion), one two hops away (ssh
// block bastions replace the provider's) and a data source behind the same
// chain: apply reaches both hosts, a second plan shows no change, and one
// connection per bastion serves everything behind it.
func TestAccSSH_bastionChain(t *testing.T) {
	n := newBastionNet(t)
	n.checkIsolation(t)
	w := newTFWorkdir(t, fmt.Sprintf(`
provider "yama" {
  private_key      = file(%q)
  known_hosts_file = %q
  %s
}

resource "yama_ptrace_scope" "one_hop" {
  host  = %q
  scope = 2
}

resource "yama_ptrace_scope" "two_hops" {
  host  = %q
  scope = 0
  ssh {
    %s
    %s
  }
}

data "yama_ptrace_scope" "two_hops" {
  host = yama_ptrace_scope.two_hops.host
  ssh {
    %s
    %s
  }
}

output "two_hops_live" {
  value = data.yama_ptrace_scope.two_hops.scope
}
`, accEnv.ClientKeyPath(), n.knownHosts, n.firstHop, n.abB, n.bcC, n.firstHop, n.secondHop, n.firstHop, n.secondHop))

	start := time.Now()
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	t.Logf("apply through bastions: %s", time.Since(start).Round(time.Millisecond))
	if got := hostFile(t, n.second, testhost.YamaPath); got != "2\n" {
		t.Errorf("one hop away: live value %q, want 2", got)
	}
	if got := hostFile(t, n.tgt, testhost.YamaPath); got != "0\n" {
		t.Errorf("two hops away: live value %q, want 0", got)
	}
	if out, _ := w.run("output", "-raw", "two_hops_live"); out != "0" {
		t.Errorf("data source through two bastions read %q, want 0", out)
	}
	// Each hop connected from the previous hop's address: the path was the
	// chain, not a shortcut.
	if log := n.second.SSHLog(); !strings.Contains(log, "Connection from "+n.abA+" ") {
		t.Errorf("second bastion saw no connection from the first (%s):\n%s", n.abA, log)
	}
	if log := n.tgt.SSHLog(); !strings.Contains(log, "Connection from "+n.bcB+" ") {
		t.Errorf("target saw no connection from the second bastion (%s):\n%s", n.bcB, log)
	}

	before := [3]int{logins(n.first), logins(n.second), logins(n.tgt)}
	start = time.Now()
	out, code := w.run("plan", "-detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan: exit %d, want 0 (no changes)\n%s", code, out)
	}
	t.Logf("plan through bastions: %s", time.Since(start).Round(time.Millisecond))
	after := [3]int{logins(n.first), logins(n.second), logins(n.tgt)}
	// first: one connection for everything; second: one, serving both as
	// a target and as the hop to the target; target: one for the resource
	// and the data source.
	for i, name := range []string{"first bastion", "second bastion", "target"} {
		if got := after[i] - before[i]; got != 1 {
			t.Errorf("%s: %d logins during one plan, want 1", name, got)
		}
	}

	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if hostFile(t, n.second, testhost.YamaPath) != "1\n" || hostFile(t, n.tgt, testhost.YamaPath) != "1\n" {
		t.Errorf("destroy did not restore the hosts behind the bastions")
	}
}

// Failures on the way name the hop that failed and the block to fix.
func TestAccSSH_bastionErrors(t *testing.T) {
	n := newBastionNet(t)
	noFirst := writeTemp(t, t.TempDir(), "known_hosts", xknownhosts.HashHostname(n.abB)+" "+n.second.HostKey+"\n")
	cases := []struct {
		name, provider, body, match string
	}{
		{"first bastion host key unknown", fmt.Sprintf(`known_hosts_file = %q`, noFirst), fmt.Sprintf(`
  host = %q
  ssh {
    %s
  }`, n.abB, n.firstHop),
			`Host key unknown on bastion ` + regexp.QuoteMeta(n.firstAddr) + ` \(for ` + regexp.QuoteMeta(n.abB) + `:22\)(?s).*via\s+bastion.*To pin it, in that bastion block: host_key = `},
		{"second bastion host key changed", fmt.Sprintf(`known_hosts_file = %q`, n.knownHosts), fmt.Sprintf(`
  host = %q
  ssh {
    %s
    bastion {
      host     = %q
      host_key = %q
    }
  }`, n.bcC, n.firstHop, n.abB, n.tgt.HostKey),
			`Host key changed on bastion ` + regexp.QuoteMeta(n.abB) + `:22 \(for ` + regexp.QuoteMeta(n.bcC) + `:22\)(?s).*man-in-the-middle`},
		{"bastion refuses the login", fmt.Sprintf(`known_hosts_file = %q`, n.knownHosts), fmt.Sprintf(`
  host = %q
  ssh {
    bastion {
      host = "127.0.0.1"
      port = %d
      user = "nobody-here"
    }
  }`, n.abB, n.relay),
			`SSH authentication refused on bastion ` + regexp.QuoteMeta(n.firstAddr)},
		{"target beyond the bastion's reach", fmt.Sprintf(`known_hosts_file = %q`, n.knownHosts), fmt.Sprintf(`
  host = %q
  ssh {
    %s
  }`, n.bcC, n.firstHop),
			`Host unreachable on ` + regexp.QuoteMeta(n.bcC) + `:22(?s).*through\s+bastion\s+` + regexp.QuoteMeta(n.firstAddr) + `.*could\s+not\s+connect.*AllowTcpForwarding`},
		{"more bastions than supported", "", fmt.Sprintf(`
  host = %q
  ssh {
    %s
  }`, n.bcC, strings.Repeat(n.firstHop+"\n    ", 6)),
			`list must contain at most 5 elements, got: 6`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
provider "yama" {
  private_key = file(%q)
  %s
}
data "yama_ptrace_scope" "test" {
  %s
}
`, accEnv.ClientKeyPath(), c.provider, c.body),
					ExpectError: regexp.MustCompile(c.match),
				}},
			})
		})
	}
}

// A bastion with insecure_ignore_host_key is warned about on every plan.
func TestAccSSH_bastionInsecureWarning(t *testing.T) {
	n := newBastionNet(t)
	w := newTFWorkdir(t, fmt.Sprintf(`
provider "yama" {
  private_key      = file(%q)
  known_hosts_file = %q
}
data "yama_ptrace_scope" "test" {
  host = %q
  ssh {
    bastion {
      host                     = "127.0.0.1"
      port                     = %d
      insecure_ignore_host_key = true
    }
  }
}
`, accEnv.ClientKeyPath(), n.knownHosts, n.abB, n.relay))
	out, code := w.run("plan")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "Host key verification is disabled for a bastion") || !strings.Contains(out, n.abB) {
		t.Errorf("no warning for the insecure bastion:\n%s", out)
	}
}

// Connections that die while a command runs fail with ErrConnectionLost
// within a bounded time, directly and through bastions: when the host is
// killed (its sockets close) and when the path goes silent (a link is cut;
// only the keepalive can notice).
func TestAccSSH_connectionLostMidCommand(t *testing.T) {
	n := newBastionNet(t)
	kh := n.knownHosts
	key := accEnv.ClientKeyPEM()
	chain := []sshclient.Config{
		{Host: "127.0.0.1", Port: n.relay, PrivateKey: key, KnownHostsFile: kh},
		{Host: n.abB, PrivateKey: key, KnownHostsFile: kh},
	}
	target := sshclient.Config{Host: n.bcC, PrivateKey: key, KnownHostsFile: kh, Timeout: 5 * time.Second, Jumps: chain}

	lost := func(t *testing.T, p *sshclient.Pool, cfg sshclient.Config, cut func(), bound time.Duration) {
		t.Helper()
		h, err := p.Host(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, _, err := h.Run(ctx, "true", nil, false); err != nil {
			t.Fatal(err)
		}
		before := p.Stats().Sessions
		errc := make(chan error, 1)
		go func() {
			_, _, err := h.Run(ctx, "sleep 60", nil, false)
			errc <- err
		}()
		// Cut once the session is open, not after a guessed sleep: from
		// then on a lost connection is ErrConnectionLost, never a redial.
		for deadline := time.Now().Add(10 * time.Second); p.Stats().Sessions == before; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the command's session did not open within 10s")
			}
		}
		cut()
		start := time.Now()
		select {
		case err := <-errc:
			d := time.Since(start)
			t.Logf("failed after %s: %v", d.Round(time.Millisecond), err)
			if !errors.Is(err, sshclient.ErrConnectionLost) {
				t.Errorf("error %v is not ErrConnectionLost", err)
			}
			if d > bound {
				t.Errorf("took %s, bound %s", d, bound)
			}
		case <-time.After(bound + 10*time.Second):
			t.Fatalf("still running %s after the connection died", bound+10*time.Second)
		}
	}

	t.Run("direct host killed", func(t *testing.T) {
		h := startHost(t, testhost.Options{})
		p := sshclient.NewPool()
		defer p.Close()
		cfg := sshclient.Config{Host: h.Addr, PrivateKey: key, KnownHostsFile: accEnv.KnownHostsPath(), Timeout: 5 * time.Second}
		lost(t, p, cfg, func() { h.Stop() }, 2*time.Second)
	})
	t.Run("path behind the bastions cut", func(t *testing.T) {
		// Keepalives every 250ms, 1s to answer (wide enough for a loaded
		// machine): the dead path is noticed within about 1.25s (the
		// provider's defaults: 15s + timeout).
		p := sshclient.NewPool(sshclient.WithKeepalive(250*time.Millisecond, time.Second))
		defer p.Close()
		inB, _ := netns.LinkName(2)
		lost(t, p, target, func() {
			if err := n.b.SetLink(inB, false); err != nil {
				t.Fatal(err)
			}
		}, 3*time.Second)
		if err := n.b.SetLink(inB, true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("second bastion killed", func(t *testing.T) {
		p := sshclient.NewPool()
		defer p.Close()
		lost(t, p, target, func() { n.second.Stop() }, 2*time.Second)
	})
}

// Unit checks of how bastion blocks inherit (no hosts needed).
func TestSSHBastionInheritance(t *testing.T) {
	bastionType := bastionObjectType()
	block := func(set map[string]attr.Value) attr.Value {
		vals := map[string]attr.Value{}
		for name, typ := range bastionType.AttrTypes {
			switch typ {
			case types.StringType:
				vals[name] = types.StringNull()
			case types.Int64Type:
				vals[name] = types.Int64Null()
			case types.BoolType:
				vals[name] = types.BoolNull()
			}
		}
		for k, v := range set {
			vals[k] = v
		}
		return types.ObjectValueMust(bastionType.AttrTypes, vals)
	}
	list := func(blocks ...attr.Value) types.List { return types.ListValueMust(bastionType, blocks) }
	emptyConn := func() connectionModel {
		m := nullModel[connectionModel]()
		m.Bastion = list()
		return m
	}
	t.Setenv(envAgentSocket, "")

	prov := emptyConn()
	prov.User, prov.Port, prov.PrivateKey = types.StringValue("deploy"), types.Int64Value(2222), types.StringValue("provider-key")
	prov.Certificate, prov.KnownHostsFile = types.StringValue("provider-cert"), types.StringValue("/kh")
	prov.InsecureIgnoreHostKey = types.BoolValue(true)
	prov.Bastion = list(block(map[string]attr.Value{"host": types.StringValue("jump.example")}))
	base, err := connectionDefaults(prov)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Jumps) != 1 {
		t.Fatalf("provider bastions: %+v", base.Jumps)
	}
	if j := base.Jumps[0]; j.Host != "jump.example" || j.User != "deploy" || j.Port != 2222 || j.PrivateKey != "provider-key" ||
		j.Certificate != "provider-cert" || j.KnownHostsFile != "/kh" || !j.InsecureIgnoreHostKey {
		t.Errorf("provider bastion did not inherit the provider block: %v", j)
	}

	// An ssh block without bastions keeps the provider's.
	sshNone := emptyConn()
	sshNone.User = types.StringValue("ssh-block-user")
	cfg, err := inherit(base, &sshNone)
	if err != nil || len(cfg.Jumps) != 1 || cfg.Jumps[0].Host != "jump.example" {
		t.Errorf("ssh block without bastions: %v %v", cfg.Jumps, err)
	}
	// Its bastions replace them and inherit the provider block, not the
	// ssh block; a pinned key replaces an inherited insecure setting; a
	// private key drops an inherited certificate; an agent identity asks
	// for the agent.
	sshTwo := emptyConn()
	sshTwo.User, sshTwo.PrivateKey = types.StringValue("ssh-block-user"), types.StringValue("ssh-block-key")
	sshTwo.Bastion = list(
		block(map[string]attr.Value{"host": types.StringValue("10.0.0.1"), "port": types.Int64Value(22), "host_key": types.StringValue("ssh-ed25519 AAAA")}),
		block(map[string]attr.Value{"host": types.StringValue("10.0.0.2"), "private_key": types.StringValue("hop-key"), "agent_identity": types.StringValue("deploy@ci")}),
	)
	cfg, err = inherit(base, &sshTwo)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Jumps) != 2 {
		t.Fatalf("jumps = %v", cfg.Jumps)
	}
	j1, j2 := cfg.Jumps[0], cfg.Jumps[1]
	if j1.Host != "10.0.0.1" || j1.Port != 22 || j1.User != "deploy" || j1.PrivateKey != "provider-key" || j1.HostKey != "ssh-ed25519 AAAA" || j1.InsecureIgnoreHostKey {
		t.Errorf("first hop: %v", j1)
	}
	if j2.Port != 2222 || j2.PrivateKey != "hop-key" || j2.Certificate != "" || !j2.Agent || j2.AgentIdentity != "deploy@ci" {
		t.Errorf("second hop: %v", j2)
	}
	if cfg.User != "ssh-block-user" || cfg.Certificate != "" {
		t.Errorf("target: user %q, certificate %q (a new key drops the inherited certificate)", cfg.User, cfg.Certificate)
	}
	// Unknown bastion values postpone contacting the host.
	sshUnknown := emptyConn()
	sshUnknown.Bastion = list(block(map[string]attr.Value{"host": types.StringUnknown()}))
	if knownConnection(&sshUnknown) {
		t.Errorf("a bastion with an unknown host counts as known")
	}
	sshUnknown.Bastion = types.ListUnknown(bastionType)
	if knownConnection(&sshUnknown) {
		t.Errorf("an unknown bastion list counts as known")
	}
	if !knownConnection(&sshTwo) {
		t.Errorf("known bastions count as unknown")
	}
	// Secrets of bastions are masked in logs too: they are in the config
	// maskSecrets gets.
	if !strings.Contains(fmt.Sprint(cfg), "[redacted]") || strings.Contains(fmt.Sprint(cfg), "hop-key") {
		t.Errorf("Config.String leaks a bastion key: %v", cfg)
	}
}
