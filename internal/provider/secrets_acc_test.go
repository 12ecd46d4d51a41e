package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// secretName matches the names of attributes that hold a secret, wherever
// they appear (provider block, ssh blocks, bastion or any other nested
// block added later).
var secretName = regexp.MustCompile(`(?i)(password|passphrase|private_key|secret|token)`)

// Every secret attribute of every schema is Sensitive, so Terraform never
// prints it in plans and marks it in state and output.
func TestSchemaSecretsAreSensitive(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}
	schemas := map[string]*tfprotov6.Schema{"provider": resp.Provider}
	for name, s := range resp.ResourceSchemas {
		schemas["resource "+name] = s
	}
	for name, s := range resp.DataSourceSchemas {
		schemas["data source "+name] = s
	}
	for name, s := range resp.EphemeralResourceSchemas {
		schemas["ephemeral resource "+name] = s
	}
	found := map[string]bool{}
	for where, s := range schemas {
		walkSchemaBlock(where, s.Block, func(at string, a *tfprotov6.SchemaAttribute) {
			if !secretName.MatchString(a.Name) {
				return
			}
			found[a.Name] = true
			if !a.Sensitive {
				t.Errorf("%s.%s holds a secret but is not Sensitive", at, a.Name)
			}
		})
	}
	for _, want := range []string{"private_key", "private_key_passphrase", "password", "sudo_password"} {
		if !found[want] {
			t.Errorf("no attribute %q found: the walk missed a schema", want)
		}
	}
}

func walkSchemaBlock(at string, b *tfprotov6.SchemaBlock, f func(string, *tfprotov6.SchemaAttribute)) {
	if b == nil {
		return
	}
	for _, a := range b.Attributes {
		f(at, a)
		if a.NestedType != nil {
			walkSchemaObject(at+"."+a.Name, a.NestedType, f)
		}
	}
	for _, nb := range b.BlockTypes {
		walkSchemaBlock(at+"."+nb.TypeName, nb.Block, f)
	}
}

func walkSchemaObject(at string, o *tfprotov6.SchemaObject, f func(string, *tfprotov6.SchemaAttribute)) {
	for _, a := range o.Attributes {
		f(at, a)
		if a.NestedType != nil {
			walkSchemaObject(at+"."+a.Name, a.NestedType, f)
		}
	}
}

// A representative set of operations (plan, apply, refresh, destroy, a
// data source; key, encrypted key, password login, password sudo; and the
// failures: wrong sudo password, wrong login password) runs through the
// real terraform CLI with TF_LOG=trace and TF_LOG_PROVIDER=trace, so the
// provider runs as a plugin process whose logs land in TF_LOG_PATH. No
// secret may appear in those logs or in terraform's output: not a line of
// a private key's PEM body, nor a password, sudo password or passphrase.
func TestAccSecretsNeverLogged(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h := startHost(t, testhost.Options{Scope: "1"})
	h2 := startHost(t, testhost.Options{Scope: "1"})
	nonce := strings.TrimPrefix(pwnedPath(t, "secret"), "/tmp/pwned-")
	passphrase := "passphrase-" + nonce
	wrongSudo := "wrong-sudo-" + nonce
	wrongLogin := "wrong-login-" + nonce

	// An encrypted key for yamasudo.
	encKey := encryptedKeyFor(t, h2, testhost.UserSudo, passphrase)
	encKeyPath := writeTemp(t, t.TempDir(), "enc_key", encKey)

	leak := newLeakCheck(t, map[string]string{
		"sudo password":           testhost.PasswordPW,
		"login password":          testhost.PasswordUser,
		"key passphrase":          passphrase,
		"wrong sudo password":     wrongSudo,
		"wrong login password":    wrongLogin,
		"client key, as a string": strings.ReplaceAll(accEnv.ClientKeyPEM(), "\n", `\n`),
	})
	leak.addPEM("client key", accEnv.ClientKeyPEM())
	leak.addPEM("encrypted key", encKey)
	run := func(w *tfWorkdir, name string, wantCode int, args ...string) {
		t.Helper()
		leak.run(w, name, wantCode, args...)
	}

	// Working credentials: an encrypted key (with NOPASSWD sudo) on one
	// host; password sudo, and a password login for the data source, on
	// the other; the provider's own key for the failing cases below.
	good := newTFWorkdir(t, providerConfig()+fmt.Sprintf(`
resource "yama_ptrace_scope" "enc_key" {
  host  = %[6]q
  scope = 2
  ssh {
    user                   = "yamasudo"
    private_key            = file(%[2]q)
    private_key_passphrase = %[3]q
    sudo                   = true
  }
}
resource "yama_ptrace_scope" "pw_sudo" {
  host  = %[1]q
  scope = 2
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %[4]q
  }
}
data "yama_ptrace_scope" "pw_login" {
  host = %[1]q
  ssh {
    user        = "yamauser"
    password    = %[5]q
    private_key = ""
  }
}
`, h.Addr, encKeyPath, passphrase, testhost.PasswordPW, testhost.PasswordUser, h2.Addr))
	run(good, "plan", 2, "plan", "-detailed-exitcode")
	run(good, "apply", 0, "apply", "-auto-approve")
	run(good, "refresh", 0, "apply", "-refresh-only", "-auto-approve")
	run(good, "plan-again", 0, "plan", "-detailed-exitcode")
	// The ssh blocks' secrets are write-only: a destroy does not get them,
	// and logs in with the provider block's key; pw_sudo's sudo password
	// comes from the environment (also never logged).
	good.env = append(good.env, envSudoPassword+"="+testhost.PasswordPW)
	run(good, "destroy", 0, "destroy", "-auto-approve")

	// Failing credentials: errors are where secrets tend to leak.
	badSudo := newTFWorkdir(t, resourceConfig(h, fmt.Sprintf(`scope = 2
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %q
  }`, wrongSudo)))
	run(badSudo, "wrong-sudo", 1, "apply", "-auto-approve")
	badLogin := newTFWorkdir(t, providerConfig()+fmt.Sprintf(`
data "yama_ptrace_scope" "bad" {
  host = %q
  ssh {
    user        = "yamauser"
    password    = %q
    private_key = ""
  }
}
`, h.Addr, wrongLogin))
	run(badLogin, "wrong-login", 1, "plan")

	// The logs must be the real thing: trace level, from the provider
	// process, covering the connections above.
	text := leak.logText()
	for _, want := range []string{"[TRACE]", "provider.terraform-provider-yama", "applying ptrace_scope change", h.Addr} {
		if !strings.Contains(text, want) {
			t.Fatalf("the trace logs (%d bytes) lack %q: the provider's logs were not captured", len(text), want)
		}
	}
	t.Logf("checked %d bytes of trace logs and %d outputs for %d secrets", len(text), len(leak.outputs), len(leak.secrets))
	leak.assertNoSecret()
}

// The sudo password travels only on sudo's standard input, after sudo's
// own prompt: it is never part of a command line. The host records every
// command string exactly as sshd received it (before any shell parsed it)
// and sudo logs every command it ran; neither may contain the password,
// while both must show the password sudo really happened.
func TestAccPtraceScope_sudoPasswordNeverOnCommandLine(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1", AuditCommands: true})
	w := newTFWorkdir(t, resourceConfig(h, fmt.Sprintf(`scope = 2
  ssh {
    user          = "yamapw"
    sudo          = true
    sudo_password = %q
  }`, testhost.PasswordPW)))
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "2\n" {
		t.Fatalf("live value %q: the sudo apply did not happen", got)
	}
	cmds := h.CommandLog()
	sudoCmds := 0
	for i, c := range cmds {
		if strings.Contains(c, testhost.PasswordPW) {
			t.Errorf("command %d carries the sudo password on its command line:\n%s", i, c)
		}
		if strings.Contains(c, " sudo -S ") {
			sudoCmds++
		}
	}
	if sudoCmds == 0 {
		t.Fatalf("no `sudo -S` command among the %d logged: the check proves nothing\n%q", len(cmds), cmds)
	}
	sudoLog := h.SudoLog()
	if !strings.Contains(sudoLog, testhost.UserPW) || !strings.Contains(sudoLog, "COMMAND=") {
		t.Fatalf("sudo log shows no run by %s:\n%s", testhost.UserPW, sudoLog)
	}
	for where, text := range map[string]string{"sudo log": sudoLog, "sshd log": h.SSHLog()} {
		if strings.Contains(text, testhost.PasswordPW) {
			t.Errorf("the %s contains the sudo password", where)
		}
	}
}
