package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// The drift-detection guide's recipe, run against sandbox hosts: the exit
// codes it states for `plan -detailed-exitcode`, `plan -refresh-only`, a
// check block (warns only) and a data source postcondition (fails), with
// credentials in the provider block and with write-only credentials only
// in the ssh block.
func TestAccDriftDetectionGuide(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	managed := startHost(t, testhost.Options{Scope: "1"})
	wo := startHost(t, testhost.Options{Scope: "1"})
	watched := startHost(t, testhost.Options{Scope: "2"})

	resources := fmt.Sprintf(`
provider "yama" {
  known_hosts_file = %[1]q
  agent            = false
}
variable "ssh_key" {
  type      = string
  sensitive = true
  ephemeral = true
}
# "managed" logs in with the key of a provider block (a refresh has it);
# "wo" with a write-only key in its ssh block (only plan and apply have it).
provider "yama" {
  alias            = "keyed"
  known_hosts_file = %[1]q
  private_key      = file(%[2]q)
}
resource "yama_ptrace_scope" "managed" {
  provider = yama.keyed
  host     = %[3]q
  scope    = 2
}
resource "yama_ptrace_scope" "wo" {
  host  = %[4]q
  scope = 2
  ssh {
    private_key = var.ssh_key
  }
}
`, accEnv.KnownHostsPath(), accEnv.ClientKeyPath(), managed.Addr, wo.Addr)
	check := fmt.Sprintf(`
data "yama_ptrace_scope" "watched" {
  provider = yama.keyed
  host     = %q
}
check "watched_hardened" {
  assert {
    condition     = data.yama_ptrace_scope.watched.scope >= 2
    error_message = "watched host allows ptrace attach"
  }
}
`, watched.Addr)
	postcondition := fmt.Sprintf(`
data "yama_ptrace_scope" "gate" {
  provider = yama.keyed
  host     = %q
  lifecycle {
    postcondition {
      condition     = self.scope >= 2
      error_message = "watched host allows ptrace attach"
    }
  }
}
`, watched.Addr)
	w := newTFWorkdir(t, resources+check+postcondition)
	w.env = append(w.env, "SSH_AUTH_SOCK=", "TF_VAR_ssh_key="+accEnv.ClientKeyPEM())
	code := func(args ...string) (int, string) {
		t.Helper()
		out, c := w.run(args...)
		return c, flat(out)
	}
	expect := func(what string, want int, args ...string) string {
		t.Helper()
		c, out := code(args...)
		if c != want {
			t.Errorf("%s: terraform %s: exit %d, want %d\n%s", what, strings.Join(args, " "), c, want, out)
		}
		return out
	}
	// drift is the number of resources a refresh-only plan reports as
	// changed outside Terraform (resource_drift in show -json). The plan's
	// exit code does not tell under Terraform: with -detailed-exitcode a
	// refresh-only plan exits 2 even when nothing changed (measured with
	// Terraform 1.11.4 and 1.13.3; hashicorp/terraform#36403). OpenTofu
	// (1.12.6) exits 0 then, and 2 only when something drifted.
	opentofu := os.Getenv("TF_ACC_PROVIDER_HOST") == "registry.opentofu.org"
	drift := func(what string) int {
		t.Helper()
		c, planOut := code("plan", "-refresh-only", "-detailed-exitcode", "-out=refresh.tfplan")
		out, sc := w.run("show", "-json", "refresh.tfplan")
		if sc != 0 {
			t.Fatalf("show -json: exit %d\n%s", sc, out)
		}
		n := countDrift(t, out)
		want := 2
		if opentofu && n == 0 {
			want = 0
		}
		if c != want {
			t.Errorf("%s: refresh-only plan: exit %d, want %d (OpenTofu: %t)\n%s", what, c, want, opentofu, planOut)
		}
		return n
	}
	expect("first apply", 0, "apply", "-auto-approve")
	w.setConfig(resources)
	expect("no drift", 0, "plan", "-detailed-exitcode")
	if n := drift("no drift"); n != 0 {
		t.Errorf("no drift: refresh-only reports %d drifted resources, want 0", n)
	}

	// Drift on the resource whose refresh can log in (provider block key).
	setHostFile(t, managed, testhost.YamaPath, "0\n")
	expect("drift", 2, "plan", "-detailed-exitcode")
	if n := drift("drift"); n != 1 {
		t.Errorf("drift: refresh-only reports %d drifted resources, want 1", n)
	}
	expect("converge", 0, "apply", "-auto-approve")

	// Drift on the resource whose credentials are write-only: the refresh
	// cannot see it, the plan does.
	setHostFile(t, wo, testhost.YamaPath, "0\n")
	out := expect("write-only drift", 2, "plan", "-detailed-exitcode")
	if !strings.Contains(out, "Drift on "+wo.Addr+":22") {
		t.Errorf("the plan does not show the write-only resource's drift:\n%s", out)
	}
	if n := drift("write-only drift"); n != 0 {
		t.Errorf("write-only drift: refresh-only reports %d drifted resources, want 0 (its refresh cannot log in)", n)
	}
	expect("converge", 0, "apply", "-auto-approve")

	// A host outside the configuration drifts: the check block only warns,
	// the postcondition fails the plan.
	setHostFile(t, watched, testhost.YamaPath, "1\n")
	w.setConfig(resources + check)
	out = expect("check block", 0, "plan", "-detailed-exitcode")
	if !strings.Contains(out, "Check block assertion failed") {
		t.Errorf("the check block does not warn:\n%s", out)
	}
	w.setConfig(resources + check + postcondition)
	out = expect("postcondition", 1, "plan", "-detailed-exitcode")
	if !strings.Contains(out, "Resource postcondition failed") {
		t.Errorf("the postcondition does not fail the plan:\n%s", out)
	}
}

// countDrift counts resource_drift in `show -json` output (after any
// warnings printed before the JSON).
func countDrift(t *testing.T, out string) int {
	t.Helper()
	var p struct {
		Drift []any `json:"resource_drift"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &p); err != nil {
		t.Fatalf("show -json: %v\n%s", err, out)
	}
	return len(p.Drift)
}
