package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// A plan that destroys a resource (here: a host removed from for_each)
// warns per host with what on_destroy will do there; a create that takes
// over a drop-in holding something else warns, naming the file and that
// on_destroy = "restore" puts it back.
func TestAccDestroyAndTakeoverWarnings(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h1 := startHost(t, testhost.Options{Scope: "1"})
	h2 := startHost(t, testhost.Options{Scope: "1"})
	const old = "# site default\nkernel.yama.ptrace_scope = 1\n"
	setHostFile(t, h1, yama.DefaultFile, old)
	config := func(hosts map[string]string) string {
		var b strings.Builder
		for name, onDestroy := range hosts {
			addr := h1.Addr
			if name == "h2" {
				addr = h2.Addr
			}
			fmt.Fprintf(&b, "    %s = { addr = %q, on_destroy = %q }\n", name, addr, onDestroy)
		}
		return providerConfig() + fmt.Sprintf(`
locals {
  hosts = {
%s  }
}
resource "yama_ptrace_scope" "fleet" {
  for_each   = local.hosts
  host       = each.value.addr
  scope      = 2
  on_destroy = each.value.on_destroy
}
`, b.String())
	}
	w := newTFWorkdir(t, config(map[string]string{"h1": "restore", "h2": "remove"}))
	out, code := w.run("plan")
	out = flat(out)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	for _, want := range []string{"Taking over " + yama.DefaultFile + " on " + h1.Addr + ":22", `# site default`, `on_destroy = "restore" (the default) puts it back`} {
		if !strings.Contains(out, want) {
			t.Errorf("the create plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Taking over "+yama.DefaultFile+" on "+h2.Addr) {
		t.Errorf("a takeover warning for h2, which had no drop-in:\n%s", out)
	}
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}

	// h1 leaves the for_each: the plan says what restore will do there.
	w.setConfig(config(map[string]string{"h2": "remove"}))
	out, code = w.run("plan", "-detailed-exitcode")
	out = flat(out)
	for _, want := range []string{"Destroying yama_ptrace_scope changes " + h1.Addr + ":22", "restores the live value 2 to 1 (restricted)",
		"puts back the previous " + yama.DefaultFile} {
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("the destroy plan (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "changes "+h2.Addr) {
		t.Errorf("a destroy warning for h2, which stays:\n%s", out)
	}
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	if got := hostFile(t, h1, testhost.YamaPath); got != "1\n" {
		t.Errorf("h1: live value %q after the destroy, want 1 as the warning said", got)
	}
	if got := hostFile(t, h1, yama.DefaultFile); got != old {
		t.Errorf("h1: drop-in %q after the destroy, want the old one back", got)
	}

	// on_destroy = "remove" on h2, through terraform destroy.
	out, code = w.run("plan", "-destroy")
	out = flat(out)
	if code != 0 || !strings.Contains(out, "Destroying yama_ptrace_scope changes "+h2.Addr+":22") ||
		!strings.Contains(out, "removes "+yama.DefaultFile+", keeps the live value 2") {
		t.Errorf("plan -destroy (exit %d) does not say what remove does:\n%s", code, out)
	}
	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
}
