package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// The resource and the data source of one host share one SSH connection
// per provider process: a refresh-and-plan of both logs in once.
func TestAccPtraceScope_connectionReuse(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	w := newTFWorkdir(t, resourceConfig(h, `scope = 2`)+fmt.Sprintf(`
data "yama_ptrace_scope" "same_host" {
  host = %q
}
data "yama_ptrace_scope" "same_host_other_file" {
  host = %q
  file = "/etc/sysctl.d/99-other.conf"
}
`, h.Addr, h.Addr))
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	before := logins(h)
	out, code := w.run("plan", "-detailed-exitcode")
	if code != 0 {
		t.Fatalf("plan: exit %d, want 0 (no changes)\n%s", code, out)
	}
	if got := logins(h) - before; got != 1 {
		t.Errorf("plan of one resource and two data sources on one host logged in %d times, want 1\n%s", got, h.SSHLog())
	}
}

func logins(h *testhost.Host) int {
	return strings.Count(h.SSHLog(), "Accepted publickey for root")
}
