package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// What an apply would refuse is refused by `terraform plan` (a login user
// that is not root, without sudo) or by `terraform validate` (a
// private_key that is a path), naming the host or the attribute and the fix.
func TestAccRefuseAtPlanTime(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h := startHost(t, testhost.Options{Scope: "1"})
	w := newTFWorkdir(t, resourceConfig(h, `scope = 2
  ssh {
    user = "yamauser"
  }`))
	out, code := w.run("plan", "-detailed-exitcode")
	if code != 1 || !regexp.MustCompile(`Permission denied on `+regexp.QuoteMeta(h.Addr)+`:22(?s).*Refused at plan time.*"yamauser".*sudo = true.*user = "root"`).MatchString(out) {
		t.Errorf("plan with a non-root login user and sudo = false: exit %d, want 1 with the refusal:\n%s", code, out)
	}
	if !strings.Contains(out, "ssh.sudo") && !strings.Contains(out, "sudo = ") {
		t.Errorf("the refusal does not point at the sudo attribute:\n%s", out)
	}
	// The same user with sudo plans (the sudo failure itself is the apply's).
	w.setConfig(resourceConfig(h, `scope = 2
  ssh {
    user = "yamasudo"
  }`) + "\n")
	if out, code := w.run("plan"); code != 1 {
		t.Errorf("yamasudo without sudo: exit %d, want 1\n%s", code, out)
	}
	w.setConfig(resourceConfig(h, `scope = 2
  ssh {
    user = "yamasudo"
    sudo = true
  }`))
	if out, code := w.run("plan", "-detailed-exitcode"); code != 2 {
		t.Errorf("yamasudo with sudo: exit %d, want 2\n%s", code, out)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "1\n" || hostExists(h, yama.DefaultFile) {
		t.Errorf("a plan changed the host: live %q", got)
	}

	// A path in private_key: refused by validate, on each attribute.
	for _, where := range []struct{ name, config, attr string }{
		{"provider block", `provider "yama" {
  private_key = "~/.ssh/id_ed25519"
}
resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
}`, `private_key`},
		{"ssh block", fmt.Sprintf(`provider "yama" {}
resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
  ssh {
    private_key = %q
  }
}`, "./keys/id_ed25519"), `ssh.private_key`},
		{"bastion block", `provider "yama" {}
data "yama_ptrace_scope" "t" {
  host = "h1"
  ssh {
    bastion {
      host        = "jump"
      private_key = "/root/.ssh/id_rsa"
    }
  }
}`, `ssh.bastion[0].private_key`},
	} {
		w.setConfig(where.config)
		out, code := w.run("validate")
		if code != 1 || !strings.Contains(out, "private_key is a path, not a key") || !strings.Contains(out, where.attr) || !strings.Contains(out, "file(") {
			t.Errorf("%s: validate exit %d, want 1 naming %s and suggesting file():\n%s", where.name, code, where.attr, out)
		}
	}
}
