package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
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

// A host locked at 3 behind Terraform's back while the configuration
// still asks for 1: the plan warns (it does not fail, or the refresh-plan
// that Terraform runs before a destroy would fail too), the apply refuses
// the live write without touching the drop-in, and destroy still works.
// Asking for a new live value on a locked host stays a plan-time error
// (TestAccPtraceScope_lockedAtThree).
func TestAccPtraceScope_lockedOutOfBand(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "2"})
	w := newTFWorkdir(t, resourceConfig(h, `scope = 1`))
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	setHostFile(t, h, testhost.YamaPath, "3\n")
	warning := regexp.MustCompile(`Warning: ptrace_scope is locked at 3 on ` + regexp.QuoteMeta(h.Endpoint()) + `: applying will fail for this host`)

	out, code := w.run("plan", "-detailed-exitcode")
	if code != 2 || !warning.MatchString(out) || !strings.Contains(out, "runtime_scope   = 3 -> 1") {
		t.Fatalf("plan after an out-of-band 3: exit %d, want 2, the drift warning and runtime_scope 3 -> 1:\n%s", code, out)
	}
	setHostFile(t, h, yama.DefaultFile, "kernel.yama.ptrace_scope = 0\n") // drift the drop-in too
	out, code = w.run("apply", "-auto-approve")
	if code == 0 || !regexp.MustCompile(`(?s)Error: ptrace_scope is locked at 3 on `+regexp.QuoteMeta(h.Addr)+`.*apply_runtime = false`).MatchString(out) {
		t.Fatalf("apply on a locked host: exit %d, want the lock error:\n%s", code, out)
	}
	if got := hostFile(t, h, yama.DefaultFile); got != "kernel.yama.ptrace_scope = 0\n" {
		t.Errorf("the refused apply changed the drop-in to %q", got)
	}
	out, code = w.run("destroy", "-auto-approve")
	if code != 0 || !strings.Contains(out, "Live ptrace_scope stays 3 until reboot") {
		t.Fatalf("destroy on a host locked out of band: exit %d, want 0 and the warning that the live value stays 3:\n%s", code, out)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "3\n" {
		t.Errorf("live value after destroy = %q, want 3", got)
	}
}
