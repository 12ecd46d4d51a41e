package provider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/testhost/netns"
)

// testKey is a private key with what tests need of it.
type testKey struct {
	priv   crypto.PrivateKey
	signer ssh.Signer
}

func newTestKey(t *testing.T, kind string) testKey {
	t.Helper()
	var priv crypto.PrivateKey
	var err error
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, signer: s}
}

// pem returns the key in OpenSSH format, encrypted when passphrase is set.
func (k testKey) pem(t *testing.T, passphrase string) []byte {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k.priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k.priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func (k testKey) pub() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.signer.PublicKey())))
}
func (k testKey) fp() string { return ssh.FingerprintSHA256(k.signer.PublicKey()) }

func signTestCert(t *testing.T, ca ssh.Signer, key ssh.PublicKey, certType uint32, principals ...string) string {
	t.Helper()
	c := &ssh.Certificate{
		Key: key, Serial: 7, CertType: certType, KeyId: "yama-acc", ValidPrincipals: principals,
		ValidAfter: uint64(time.Now().Add(-time.Hour).Unix()), ValidBefore: uint64(time.Now().Add(time.Hour).Unix()),
	}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c)))
}

// serveAgent runs an in-memory SSH agent holding keys in order, with the
// given comments.
func serveAgent(t *testing.T, keys []testKey, comments []string) string {
	t.Helper()
	ks := make([]testhost.AgentKey, len(keys))
	for i, k := range keys {
		ks[i] = testhost.AgentKey{PrivateKey: k.priv, Comment: comments[i]}
	}
	return testhost.ServeAgent(t, ks...)
}

// keysHost is a sandbox sshd on a non-standard port with ed25519, ECDSA
// and RSA host keys, an ed25519 host certificate, a user CA and
// MaxAuthTries 1 (so offering a wrong key first fails the login).
type keysHost struct {
	h                   *testhost.Host
	hostCA, userCA      testKey
	ecdsaHost, rsaHost  testKey
	ecdsaUser, rsaUser  testKey // in root's authorized_keys
	certUser            testKey // not authorized: only its certificate is
	agentOther, agentOK testKey // agent keys, the first one not authorized
	certText            string
	dir                 string
}

func newKeysHost(t *testing.T) *keysHost {
	t.Helper()
	k := &keysHost{h: startHost(t, testhost.Options{Port: 2222}), dir: t.TempDir()}
	k.hostCA, k.userCA = newTestKey(t, "ed25519"), newTestKey(t, "ed25519")
	k.ecdsaHost, k.rsaHost = newTestKey(t, "ecdsa"), newTestKey(t, "rsa")
	k.ecdsaUser, k.rsaUser = newTestKey(t, "ecdsa"), newTestKey(t, "rsa")
	k.certUser, k.agentOther, k.agentOK = newTestKey(t, "ed25519"), newTestKey(t, "ed25519"), newTestKey(t, "ecdsa")

	hostPub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.h.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	hostCert := signTestCert(t, k.hostCA.signer, hostPub, ssh.HostCert, k.h.Addr)
	k.certText = signTestCert(t, k.userCA.signer, k.certUser.signer.PublicKey(), ssh.UserCert, "root")
	err = netns.Reconfigure(k.h, netns.SSHD{
		Options: []string{
			"HostKey " + netns.RunDir + "/ssh_host_ecdsa_key",
			"HostKey " + netns.RunDir + "/ssh_host_rsa_key",
			"HostCertificate " + netns.RunDir + "/ssh_host_ed25519_key-cert.pub",
			"TrustedUserCAKeys " + netns.RunDir + "/user_ca.pub",
			"MaxAuthTries 1",
		},
		Files: map[string][]byte{
			"ssh_host_ecdsa_key":            k.ecdsaHost.pem(t, ""),
			"ssh_host_rsa_key":              k.rsaHost.pem(t, ""),
			"ssh_host_ed25519_key-cert.pub": []byte(hostCert + "\n"),
			"user_ca.pub":                   []byte(k.userCA.pub() + "\n"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ak := k.h.Path(netns.RunDir + "/authorized_keys/root")
	f, err := os.OpenFile(ak, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\n%s\n%s\n", k.ecdsaUser.pub(), k.rsaUser.pub(), k.agentOK.pub())
	f.Close()
	return k
}

func (k *keysHost) file(t *testing.T, name string, content string) string {
	t.Helper()
	return writeTemp(t, k.dir, name, content)
}

// hostPort is how known_hosts names the host: [addr]:2222.
func (k *keysHost) hostPort() string { return fmt.Sprintf("[%s]:%d", k.h.Addr, k.h.Port) }

// Every host key form and client key type against a real sshd: known_hosts
// with plain and hashed [host]:port names for each host key type and a
// @cert-authority line; host_key pins of a plain key and of a CA; client
// keys of each type, an encrypted one, a user certificate, and an agent
// restricted to one identity. The sshd log shows which key was used.
func TestAccSSH_hostKeysAndAuth(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	k := newKeysHost(t)
	sock := serveAgent(t, []testKey{k.agentOther, k.agentOK}, []string{"other@laptop", "deploy@ci"})
	t.Setenv("SSH_AUTH_SOCK", sock)

	hashed := func(key string) string {
		return xknownhosts.HashHostname(xknownhosts.Normalize(k.h.Addr+":2222")) + " " + key + "\n"
	}
	files := map[string]string{
		"kh_ed25519":        k.hostPort() + " " + k.h.HostKey + "\n",
		"kh_ecdsa_hashed":   hashed(k.ecdsaHost.pub()),
		"kh_rsa_hashed":     hashed(k.rsaHost.pub()),
		"kh_cert_authority": "@cert-authority " + k.hostPort() + " " + k.hostCA.pub() + "\n",
		"id_ecdsa":          string(k.ecdsaUser.pem(t, "")),
		"id_rsa_encrypted":  string(k.rsaUser.pem(t, "rsa-Passphrase-9")),
		"id_cert":           string(k.certUser.pem(t, "")),
		"id_cert-cert.pub":  k.certText + "\n",
	}
	path := map[string]string{}
	for name, content := range files {
		path[name] = k.file(t, name, content)
	}
	ds := func(name, ssh string) string {
		return fmt.Sprintf(`
data "yama_ptrace_scope" %q {
  host = %q
  ssh {
    port = 2222
    %s
  }
}
`, name, k.h.Addr, ssh)
	}
	envKey := fmt.Sprintf("private_key = file(%q)", accEnv.ClientKeyPath())
	config := fmt.Sprintf(`
provider "yama" {
  known_hosts_file = %q
  agent            = false
}
`, path["kh_ed25519"]) +
		ds("kh_ed25519", envKey) +
		ds("kh_ecdsa_hashed", envKey+fmt.Sprintf("\n    known_hosts_file = %q", path["kh_ecdsa_hashed"])) +
		ds("kh_rsa_hashed", envKey+fmt.Sprintf("\n    known_hosts_file = %q", path["kh_rsa_hashed"])) +
		ds("kh_cert_authority", envKey+fmt.Sprintf("\n    known_hosts_file = %q", path["kh_cert_authority"])) +
		ds("pin_rsa", envKey+fmt.Sprintf("\n    host_key = %q", k.rsaHost.pub())) +
		ds("pin_ca", envKey+fmt.Sprintf("\n    host_key = %q", "@cert-authority "+k.hostCA.pub()+" host CA")) +
		ds("user_ecdsa", fmt.Sprintf("private_key = file(%q)", path["id_ecdsa"])) +
		ds("user_rsa_encrypted", fmt.Sprintf("private_key = file(%q)\n    private_key_passphrase = \"rsa-Passphrase-9\"", path["id_rsa_encrypted"])) +
		ds("user_certificate", fmt.Sprintf("private_key = file(%q)\n    certificate = file(%q)", path["id_cert"], path["id_cert-cert.pub"])) +
		ds("agent_identity", fmt.Sprintf("agent_identity = %q", k.agentOK.fp()))

	var checks []resource.TestCheckFunc
	for _, name := range []string{"kh_ed25519", "kh_ecdsa_hashed", "kh_rsa_hashed", "kh_cert_authority", "pin_rsa", "pin_ca",
		"user_ecdsa", "user_rsa_encrypted", "user_certificate", "agent_identity"} {
		checks = append(checks,
			resource.TestCheckResourceAttr("data.yama_ptrace_scope."+name, "available", "true"),
			resource.TestCheckResourceAttr("data.yama_ptrace_scope."+name, "scope", "1"))
	}
	checks = append(checks, func(*terraform.State) error {
		log := k.h.SSHLog()
		for what, pattern := range map[string]string{
			"ECDSA user key":             `Accepted publickey for root .* ECDSA ` + regexp.QuoteMeta(k.ecdsaUser.fp()),
			"RSA user key":               `Accepted publickey for root .* RSA ` + regexp.QuoteMeta(k.rsaUser.fp()),
			"user certificate":           `Accepted publickey for root .* ED25519-CERT ` + regexp.QuoteMeta(k.certUser.fp()) + ` ID yama-acc \(serial 7\) CA ED25519 ` + regexp.QuoteMeta(k.userCA.fp()),
			"agent key chosen by its fp": `Accepted publickey for root .* ECDSA ` + regexp.QuoteMeta(k.agentOK.fp()),
		} {
			if !regexp.MustCompile(pattern).MatchString(log) {
				return fmt.Errorf("sshd log shows no login with the %s (%s):\n%s", what, pattern, log)
			}
		}
		// With MaxAuthTries 1, offering the agent's other key first would
		// have ended the connection: it was never offered.
		if strings.Contains(log, k.agentOther.fp()) {
			return fmt.Errorf("the agent key not selected by agent_identity was offered:\n%s", log)
		}
		return nil
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps:                    []resource.TestStep{{Config: config, Check: resource.ComposeTestCheckFunc(checks...)}},
	})
}

// What fails against the same real sshd, each with its own message.
func TestAccSSH_hostKeysAndAuthErrors(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	k := newKeysHost(t)
	sock := serveAgent(t, []testKey{k.agentOther, k.agentOK}, []string{"other@laptop", "deploy@ci"})
	t.Setenv("SSH_AUTH_SOCK", sock)
	otherCA := newTestKey(t, "ed25519")
	expired := &ssh.Certificate{Key: k.certUser.signer.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"root"},
		ValidAfter: uint64(time.Now().Add(-2 * time.Hour).Unix()), ValidBefore: uint64(time.Now().Add(-time.Hour).Unix())}
	if err := expired.SignCert(rand.Reader, k.userCA.signer); err != nil {
		t.Fatal(err)
	}
	kh := k.file(t, "kh", k.hostPort()+" "+k.h.HostKey+"\n")
	cases := []struct{ name, ssh, match string }{
		// Without agent_identity the agent's first key is offered first,
		// and MaxAuthTries 1 ends the login: selection is what works.
		{"agent without identity", `agent = true`, `SSH authentication refused on ` + regexp.QuoteMeta(k.h.Addr) + `:2222`},
		{"agent identity not held", `agent_identity = "nobody@nowhere"`,
			`SSH authentication refused(?s).*no\s+key\s+matching\s+the\s+agent\s+identity.*deploy@ci`},
		{"host certificate from another CA", fmt.Sprintf("private_key = file(%q)\n    host_key = %q", accEnv.ClientKeyPath(), "@cert-authority "+otherCA.pub()),
			`Host certificate rejected on ` + regexp.QuoteMeta(k.h.Addr) + `:2222(?s).*signed\s+by\s+CA\s+` + regexp.QuoteMeta(k.hostCA.fp()) + `,\s+not\s+by\s+the\s+pinned\s+one`},
		{"expired user certificate", fmt.Sprintf("private_key = file(%q)\n    certificate = %q", accEnv.ClientKeyPath(), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(expired)))),
			`Invalid certificate(?s).*ssh.certificate.*expired at`},
		{"host key pin with a host pattern", `host_key = "@cert-authority * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxO"`, `Invalid host_key(?s).*authorized_keys\s+format`},
		{"agent identity that is a broken key", `agent_identity = "ssh-ed25519 AAAA!!"`, `Invalid agent_identity(?s).*not\s+a\s+valid\s+public\s+key`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: fmt.Sprintf(`
provider "yama" {
  known_hosts_file = %q
  agent            = false
}
data "yama_ptrace_scope" "test" {
  host = %q
  ssh {
    port = 2222
    %s
  }
}
`, kh, k.h.Addr, c.ssh),
					ExpectError: regexp.MustCompile(c.match),
				}},
			})
		})
	}
}

// A host that disables plain password authentication but offers
// keyboard-interactive (through PAM, as OpenSSH on Linux does) accepts the
// password: the resource applies as a password-only user with sudo.
func TestAccSSH_keyboardInteractive(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	h := startHost(t, testhost.Options{Scope: "1"})
	err := netns.Reconfigure(h, netns.SSHD{Options: []string{
		"UsePAM yes", // OpenSSH offers keyboard-interactive on Linux only through PAM
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication yes",
		"AuthenticationMethods keyboard-interactive",
	}})
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "yama" {
  known_hosts_file = %q
  agent            = false
}
resource "yama_ptrace_scope" "test" {
  host       = %q
  scope      = 2
  on_destroy = "keep"
  ssh {
    user          = %q
    password      = %q
    sudo          = true
    sudo_password = %q
  }
}
`, accEnv.KnownHostsPath(), h.Addr, testhost.UserPW, testhost.PasswordPW, testhost.PasswordPW),
			Check: resource.ComposeTestCheckFunc(
				hostHolds(t, h, "2\n", "kernel.yama.ptrace_scope = 2\n"),
				func(*terraform.State) error {
					log := h.SSHLog()
					if !strings.Contains(log, "Accepted keyboard-interactive/pam for "+testhost.UserPW) {
						return fmt.Errorf("no keyboard-interactive login in the sshd log:\n%s", log)
					}
					if strings.Contains(log, "Accepted password for") {
						return fmt.Errorf("plain password authentication was used:\n%s", log)
					}
					return nil
				},
			),
		}},
	})
}
