package provider

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// on_unreachable = "warn" on sandbox hosts: a stopped host (connection
// refused) and a host that accepts and never speaks (handshake timeout)
// keep their state / report reachable = false, while the rest of the
// fleet is planned and applied; the default fails the plan; an
// authentication failure stays an error.
func TestAccOnUnreachable(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h1 := startHost(t, testhost.Options{Scope: "1"})
	h2 := startHost(t, testhost.Options{Scope: "1"})
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accept, never speak
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port

	body := fmt.Sprintf(`
resource "yama_ptrace_scope" "r1" {
  host  = %[1]q
  scope = 2
}
resource "yama_ptrace_scope" "r2" {
  host  = %[2]q
  scope = 2
}
data "yama_ptrace_scope" "d2" {
  host       = %[2]q
  depends_on = [yama_ptrace_scope.r2]
}
data "yama_ptrace_scope" "silent" {
  host = "127.0.0.1"
  ssh {
    port    = %[3]d
    timeout = "2s"
  }
}
output "d2_reachable" {
  value = data.yama_ptrace_scope.d2.reachable
}
output "silent_reachable" {
  value = data.yama_ptrace_scope.silent.reachable
}
output "silent_scope" {
  value = data.yama_ptrace_scope.silent.scope == null ? "null" : "set"
}
`, h1.Addr, h2.Addr, silentPort)
	w := newTFWorkdir(t, providerConfig(`on_unreachable = "warn"`)+body)
	run := func(name string, want int, args ...string) string {
		t.Helper()
		out, code := w.run(args...)
		if code != want {
			t.Fatalf("%s: exit %d, want %d\n%s", name, code, want, out)
		}
		return out
	}
	out := run("apply", 0, "apply", "-auto-approve")
	if !strings.Contains(out, "Host unreachable: 127.0.0.1:"+fmt.Sprint(silentPort)) || !strings.Contains(out, "handshake timed out") {
		t.Errorf("the apply does not warn about the silent host's handshake timeout:\n%s", out)
	}
	if got := run("output", 0, "output", "-raw", "silent_reachable"); got != "false" {
		t.Errorf("silent_reachable = %q, want false", got)
	}
	if got := run("output", 0, "output", "-raw", "silent_scope"); got != "null" {
		t.Errorf("silent host's scope is %q, want null", got)
	}

	// h2 goes down (connection refused); h1 drifts.
	if err := h2.Stop(); err != nil {
		t.Fatal(err)
	}
	setHostFile(t, h1, testhost.YamaPath, "0\n")
	out = run("plan", 2, "plan", "-detailed-exitcode")
	for _, want := range []string{"Host unreachable: " + h2.Addr + ":22", "yama_ptrace_scope.r1 will be updated in-place", "The resource keeps its prior state"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "yama_ptrace_scope.r2 will") {
		t.Errorf("the plan changes the unreachable host:\n%s", out)
	}
	run("apply-warn", 0, "apply", "-auto-approve")
	if got := hostFile(t, h1, testhost.YamaPath); got != "2\n" {
		t.Errorf("h1: live value %q, want 2", got)
	}
	if got := run("output", 0, "output", "-raw", "d2_reachable"); got != "false" {
		t.Errorf("d2_reachable = %q, want false", got)
	}

	// The default fails the plan.
	w.setConfig(providerConfig() + body)
	out = run("plan-fail", 1, "plan", "-detailed-exitcode")
	if !strings.Contains(out, h2.Addr) {
		t.Errorf("the failing plan does not name %s:\n%s", h2.Addr, out)
	}

	// An authentication failure is not "unreachable": an error even with warn.
	w.setConfig(providerConfig(`on_unreachable = "warn"`) + fmt.Sprintf(`
data "yama_ptrace_scope" "bad" {
  host = %q
  ssh {
    user        = "yamauser"
    password    = "not-the-password"
    private_key = ""
  }
}
`, h1.Addr))
	if out := run("auth", 1, "plan", "-refresh=false"); !strings.Contains(strings.ToLower(out), "authentication") || strings.Contains(out, "Host unreachable") {
		t.Errorf("an authentication failure is not reported as such:\n%s", out)
	}
}
