package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// Secrets set in a resource's ssh block, in its bastion blocks and in a
// data source's ssh block never reach terraform.tfstate, a saved plan
// (terraform show -json) or the TF_LOG=trace logs; and with credentials
// only in ssh blocks, drift made behind Terraform's back makes
// `plan -detailed-exitcode` exit 2 with the drift shown, and apply
// converges the host.
func TestAccWriteOnlySecretsAndDrift(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	bastion := startHost(t, testhost.Options{Scope: "1"})
	h2 := startHost(t, testhost.Options{Scope: "1"})
	h3 := startHost(t, testhost.Options{Scope: "1"})
	nonce := strings.TrimPrefix(pwnedPath(t, "wo"), "/tmp/pwned-")
	passphrase := "wo-passphrase-" + nonce

	// An encrypted key for yamasudo on h2, given only in its ssh block.
	encKey := encryptedKeyFor(t, h2, testhost.UserSudo, passphrase)
	dir := t.TempDir()
	encKeyPath := writeTemp(t, dir, "enc_key", encKey)

	leak := newLeakCheck(t, map[string]string{
		"sudo password":  testhost.PasswordPW,
		"login password": testhost.PasswordUser,
		"key passphrase": passphrase,
	})
	leak.addPEM("client key", accEnv.ClientKeyPEM())
	leak.addPEM("encrypted key", encKey)

	// The provider block has no credentials: every secret is in a block.
	// Keys come from files, passwords from ephemeral variables (a literal
	// in a .tf file is part of the configuration, which a saved plan
	// embeds; an ephemeral variable is not stored anywhere).
	w := newTFWorkdir(t, fmt.Sprintf(`
variable "login_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "sudo_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
variable "passphrase" {
  type      = string
  sensitive = true
  ephemeral = true
}
provider "yama" {
  known_hosts_file = %[1]q
  agent            = false
}
# ssh block: encrypted key and passphrase; bastion block: password.
resource "yama_ptrace_scope" "enc_key" {
  host  = %[2]q
  scope = 2
  ssh {
    user                   = "yamasudo"
    private_key            = file(%[3]q)
    private_key_passphrase = var.passphrase
    sudo                   = true
    bastion {
      host     = %[5]q
      user     = "yamauser"
      password = var.login_password
    }
  }
}
# ssh block: key and sudo password; bastion block: key.
resource "yama_ptrace_scope" "pw_sudo" {
  host  = %[6]q
  scope = 2
  ssh {
    user          = "yamapw"
    private_key   = file(%[7]q)
    sudo          = true
    sudo_password = var.sudo_password
    bastion {
      host        = %[5]q
      private_key = file(%[7]q)
    }
  }
}
# data source ssh block: password (data sources take no ephemeral
# values: read it from a file; the result drops it).
data "yama_ptrace_scope" "pw_login" {
  host = %[5]q
  ssh {
    user     = "yamauser"
    password = trimspace(file(%[4]q))
  }
}
`, accEnv.KnownHostsPath(), h2.Addr, encKeyPath, writeTemp(t, dir, "login_password", testhost.PasswordUser+"\n"), bastion.Addr, h3.Addr, accEnv.ClientKeyPath()))
	w.env = append(w.env, "SSH_AUTH_SOCK=", "TF_VAR_login_password="+testhost.PasswordUser,
		"TF_VAR_sudo_password="+testhost.PasswordPW, "TF_VAR_passphrase="+passphrase)

	run := func(name string, wantCode int, args ...string) string {
		t.Helper()
		return leak.run(w, name, wantCode, args...)
	}
	artifacts := leak.artifacts
	readFile := func(what, p string) {
		b, err := os.ReadFile(filepath.Join(w.dir, p))
		if err != nil {
			t.Fatal(err)
		}
		artifacts[what] = string(b)
	}

	run("plan", 2, "plan", "-detailed-exitcode", "-out=create.tfplan")
	artifacts["saved plan (create), show -json"] = run("show-plan", 0, "show", "-json", "create.tfplan")
	run("apply", 0, "apply", "-auto-approve", "create.tfplan")
	readFile("state after create", "terraform.tfstate")
	for _, h := range []*testhost.Host{h2, h3} {
		if got := hostFile(t, h, testhost.YamaPath); got != "2\n" {
			t.Fatalf("%s: live value %q after apply, want 2", h.Addr, got)
		}
	}
	run("plan-clean", 0, "plan", "-detailed-exitcode")

	// Drift behind Terraform's back, on both resources: the refresh cannot
	// log in (no credentials in state), the plan can and must show it.
	setHostFile(t, h2, testhost.YamaPath, "0\n")
	setHostFile(t, h3, testhost.YamaPath, "1\n")
	out := run("plan-drift", 2, "plan", "-detailed-exitcode", "-out=drift.tfplan")
	for _, want := range []string{"yama_ptrace_scope.enc_key will be updated in-place", "yama_ptrace_scope.pw_sudo will be updated in-place",
		"Drift on " + h2.Addr, "runtime_scope: state 2, host 0", "runtime_scope: state 2, host 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the drift plan lacks %q:\n%s", want, out)
		}
	}
	artifacts["saved plan (drift), show -json"] = run("show-drift", 0, "show", "-json", "drift.tfplan")
	run("apply-drift", 0, "apply", "-auto-approve", "drift.tfplan")
	for _, h := range []*testhost.Host{h2, h3} {
		if got := hostFile(t, h, testhost.YamaPath); got != "2\n" {
			t.Errorf("%s: live value %q after the drift apply, want 2", h.Addr, got)
		}
	}
	run("plan-converged", 0, "plan", "-detailed-exitcode")
	readFile("state after drift", "terraform.tfstate")
	artifacts["state, show -json"] = run("show-state", 0, "show", "-json")

	// Destroy gets the state only: without credentials of its own, the
	// provider block cannot log in, and the error says what to do.
	out = run("destroy-no-creds", 1, "destroy", "-auto-approve")
	if !strings.Contains(flat(out), "Destroy has no write-only credentials for "+h2.Addr) {
		t.Errorf("a destroy without credentials does not explain itself:\n%s", out)
	}
	// With credentials from the environment it works.
	w.env = append(w.env, "YAMA_SSH_PRIVATE_KEY="+accEnv.ClientKeyPEM(), "YAMA_SUDO_PASSWORD="+testhost.PasswordPW)
	run("destroy", 0, "destroy", "-auto-approve")
	for _, h := range []*testhost.Host{h2, h3} {
		if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
			t.Errorf("%s: live value %q after destroy, want 1 (restored)", h.Addr, got)
		}
	}

	// The state records that the secrets were set, not their values.
	if !strings.Contains(artifacts["state after create"], `"password": null`) {
		t.Errorf("the state has no null password: the write-only attributes were not exercised:\n%s", artifacts["state after create"])
	}

	if !strings.Contains(leak.logText(), "refreshing at plan time") {
		t.Errorf("the trace logs lack the plan-time refresh")
	}
	leak.assertNoSecret()
}
