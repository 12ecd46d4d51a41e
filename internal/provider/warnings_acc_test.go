package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// A plan that sets 3 warns that it cannot be undone without a reboot; a
// plan that leaves a host at 3 does not repeat it.
func TestAccPtraceScope_scopeThreeWarning(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	w := newTFWorkdir(t, resourceConfig(h, `scope = 3`))
	warning := regexp.MustCompile(`Warning: ptrace_scope 3 cannot be undone without a reboot on ` + regexp.QuoteMeta(h.Addr))

	out, code := w.run("plan", "-detailed-exitcode")
	if code != 2 || !warning.MatchString(out) {
		t.Fatalf("plan setting 3: exit %d, want 2 and the scope-3 warning:\n%s", code, out)
	}
	if out, code = w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	out, code = w.run("plan", "-detailed-exitcode")
	if code != 0 || warning.MatchString(out) {
		t.Fatalf("plan on a host already at 3: exit %d, want 0 and no warning:\n%s", code, out)
	}
	if out, code = w.run("destroy", "-auto-approve"); code != 0 || !strings.Contains(out, "Live ptrace_scope stays 3 until reboot") {
		t.Fatalf("destroy: exit %d, want 0 and a warning that the live value stays 3:\n%s", code, out)
	}
}

// Disabling host key verification is allowed but never silent.
func TestAccPtraceScope_insecureWarning(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	cfg := providerConfig() + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  host = %q
  ssh {
    known_hosts_file         = "/nonexistent/known_hosts"
    insecure_ignore_host_key = true
  }
}
resource "yama_ptrace_scope" "test" {
  host  = %q
  scope = 1
  ssh {
    insecure_ignore_host_key = true
  }
}
`, h.Addr, h.Addr)
	w := newTFWorkdir(t, cfg)
	// -json: the human output folds similar warnings into one.
	out, code := w.run("plan", "-detailed-exitcode", "-json")
	if code != 2 {
		t.Fatalf("plan: exit %d, want 2:\n%s", code, out)
	}
	for _, where := range []string{"data source for " + h.Addr, "resource for " + h.Addr} {
		if !strings.Contains(out, "insecure_ignore_host_key = true in the ssh block of the "+where) {
			t.Errorf("plan output lacks the insecure host key warning for the %s:\n%s", where, out)
		}
	}
}

// shadowing = "warn" (the default) names each shadowing file, line and
// value in the plan, and still applies.
func TestAccPtraceScope_shadowWarning(t *testing.T) {
	h := startHost(t, debianLayout)
	w := newTFWorkdir(t, resourceConfig(h, `
  scope     = 2
  boot_mode = "systemd"`))
	out, code := w.run("plan", "-detailed-exitcode")
	want := regexp.MustCompile(`(?s)Warning: Drop-in will not set ptrace_scope at boot on ` + regexp.QuoteMeta(h.Addr) +
		`.*/etc/sysctl\.conf:2\s+\(through\s+/etc/sysctl\.d/99-sysctl\.conf\)\s+sets\s+1`)
	if code != 2 || !want.MatchString(out) {
		t.Fatalf("plan: exit %d, want 2 and a warning naming /etc/sysctl.conf:2:\n%s", code, out)
	}
	if out, code = w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
}
