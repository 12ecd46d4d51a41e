package sshclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

func certText(c *ssh.Certificate) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c)))
}

// keyPEMOf marshals a private key in OpenSSH format, optionally encrypted.
func keyPEMOf(t testing.TB, priv crypto.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// Client keys of each type authenticate, plain and (one) encrypted.
func TestAuthKeyTypes(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPriv := sharedRSAKey()
	tests := []struct {
		name       string
		priv       crypto.PrivateKey
		passphrase string
	}{
		{"ed25519", mustEd25519(t), ""},
		{"ecdsa p384", ec, ""},
		{"rsa", rsaPriv, ""},
		{"rsa encrypted", rsaPriv, "rsa pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer, err := ssh.NewSignerFromKey(tt.priv)
			if err != nil {
				t.Fatal(err)
			}
			s := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
			cfg := testConfig(t, s, keyPEMOf(t, tt.priv, tt.passphrase))
			cfg.PrivateKeyPassphrase = tt.passphrase
			out, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
			if err != nil || out != "alice\n" {
				t.Fatalf("Run: %q, %v", out, err)
			}
		})
	}
}

func TestUserCertificate(t *testing.T) {
	userCA := newEd25519Signer(t)
	otherCA := newEd25519Signer(t)
	keySigner, keyPEM := clientKey(t)
	agentKey := mustEd25519(t)
	agentSigner, err := ssh.NewSignerFromKey(agentKey)
	if err != nil {
		t.Fatal(err)
	}
	valid := signCert(t, userCA, keySigner.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"alice"}})

	t.Run("certificate with private key", func(t *testing.T) {
		s := newFakeServer(t, func(s *fakeServer) { s.userCA = userCA.PublicKey() }) // the plain key is not authorized
		cfg := testConfig(t, s, keyPEM)
		cfg.Certificate = certText(valid) + " alice@laptop"
		if out, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false); err != nil || out != "alice\n" {
			t.Fatalf("Run: %q, %v", out, err)
		}
		// The certificate goes first: one attempt.
		if got := s.offeredKeys(); len(got) != 1 || got[0] != ssh.FingerprintSHA256(valid) {
			t.Errorf("offered %v, want only the certificate", got)
		}
	})
	t.Run("plain key still offered after the certificate", func(t *testing.T) {
		s := newFakeServer(t, func(s *fakeServer) {
			s.userCA = otherCA.PublicKey()
			s.authorized = []ssh.PublicKey{keySigner.PublicKey()}
		})
		cfg := testConfig(t, s, keyPEM)
		cfg.Certificate = certText(valid)
		if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("certificate signed by an untrusted CA", func(t *testing.T) {
		s := newFakeServer(t, func(s *fakeServer) { s.userCA = otherCA.PublicKey() })
		cfg := testConfig(t, s, keyPEM)
		cfg.Certificate = certText(valid)
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
		checkErr(t, err, ErrAuthFailed)
	})
	t.Run("certificate with an agent key", func(t *testing.T) {
		agentCert := signCert(t, userCA, agentSigner.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"alice"}})
		s := newFakeServer(t, func(s *fakeServer) { s.userCA = userCA.PublicKey() })
		cfg := Config{Host: s.host, Port: s.port, User: "alice", HostKey: authorizedLine(s.hostKeys[0].PublicKey()),
			Agent: true, AgentSocket: startAgent(t, mustEd25519(t), agentKey), Certificate: certText(agentCert)}
		if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false); err != nil {
			t.Fatal(err)
		}
		if got := s.offeredKeys(); len(got) == 0 || got[0] != ssh.FingerprintSHA256(agentCert) {
			t.Errorf("offered %v, want the certificate first", got)
		}
		// The agent does not hold the certified key.
		cfg.AgentSocket = startAgent(t, mustEd25519(t))
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
		checkErr(t, err, ErrAuthFailed)
		if !strings.Contains(err.Error(), "no selected key for the certificate") {
			t.Errorf("error does not say why: %v", err)
		}
	})

	expired := signCert(t, userCA, keySigner.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"alice"},
		validAfter: time.Now().Add(-2 * time.Hour), validBefore: time.Now().Add(-time.Hour)})
	future := signCert(t, userCA, keySigner.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"alice"},
		validAfter: time.Now().Add(time.Hour), validBefore: time.Now().Add(2 * time.Hour)})
	hostCert := signCert(t, userCA, keySigner.PublicKey(), certOpts{principals: []string{"h"}})
	otherKeyCert := signCert(t, userCA, agentSigner.PublicKey(), certOpts{certType: ssh.UserCert, principals: []string{"alice"}})
	for _, tt := range []struct {
		name, cert, sub string
		noKey           bool
	}{
		{"expired", certText(expired), "expired at", false},
		{"not yet valid", certText(future), "not valid before", false},
		{"host certificate", certText(hostCert), "host certificate, not a user certificate", false},
		{"plain key", authorizedLine(keySigner.PublicKey()), "not a certificate", false},
		{"garbage", "ssh-ed25519-cert-v01@openssh.com AAAAnope", "not an OpenSSH certificate", false},
		{"two certificates", certText(valid) + "\n" + certText(valid), "exactly one certificate", false},
		{"for another key", certText(otherKeyCert), "certificate is for key " + ssh.FingerprintSHA256(agentSigner.PublicKey()), false},
		{"without key or agent", certText(valid), "needs the private key", true},
	} {
		t.Run("config: "+tt.name, func(t *testing.T) {
			cfg := Config{Host: "192.0.2.1", PrivateKey: keyPEM, InsecureIgnoreHostKey: true, Certificate: tt.cert}
			if tt.noKey {
				cfg.PrivateKey, cfg.Password = "", "pw"
			}
			_, err := newTestPool(t).Host(cfg)
			checkErr(t, err, ErrConfig)
			if !strings.Contains(err.Error(), tt.sub) {
				t.Errorf("error %q lacks %q", err, tt.sub)
			}
		})
	}
}

// startAgentWith serves keys with comments, in comment order.
func startAgentWith(t *testing.T, keys map[string]crypto.PrivateKey) string {
	t.Helper()
	names := make([]string, 0, len(keys))
	for c := range keys {
		names = append(names, c)
	}
	slices.Sort(names) // deterministic agent order
	ks := make([]testhost.AgentKey, len(names))
	for i, c := range names {
		ks[i] = testhost.AgentKey{PrivateKey: keys[c], Comment: c}
	}
	return testhost.ServeAgent(t, ks...)
}

// agent_identity picks which agent key is offered: only that one.
func TestAgentIdentity(t *testing.T) {
	first, chosen := mustEd25519(t), mustEd25519(t)
	firstPub, chosenPub := pubOf(t, first), pubOf(t, chosen)
	// "a-..." sorts first, so without an identity the agent offers it first.
	sock := startAgentWith(t, map[string]crypto.PrivateKey{"a-unrelated@laptop": first, "b-deploy@ci": chosen})
	s := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{chosenPub} })

	base := Config{Host: s.host, Port: s.port, User: "alice", HostKey: authorizedLine(s.hostKeys[0].PublicKey()), Agent: true, AgentSocket: sock}
	t.Run("no identity offers every key", func(t *testing.T) {
		n := len(s.offeredKeys())
		if _, _, err := run(t, mustHost(t, newTestPool(t), base), "whoami", nil, false); err != nil {
			t.Fatal(err)
		}
		if got := s.offeredKeys()[n:]; !slices.Equal(got, []string{ssh.FingerprintSHA256(firstPub), ssh.FingerprintSHA256(chosenPub)}) {
			t.Errorf("offered %v", got)
		}
	})
	for _, id := range []string{
		authorizedLine(chosenPub),
		authorizedLine(chosenPub) + " any comment",
		ssh.FingerprintSHA256(chosenPub),
		"b-deploy@ci",
	} {
		t.Run("select by "+id[:min(len(id), 20)], func(t *testing.T) {
			cfg := base
			cfg.AgentIdentity = id
			n := len(s.offeredKeys())
			if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false); err != nil {
				t.Fatal(err)
			}
			if got := s.offeredKeys()[n:]; !slices.Equal(got, []string{ssh.FingerprintSHA256(chosenPub)}) {
				t.Errorf("offered %v, want only %s", got, ssh.FingerprintSHA256(chosenPub))
			}
		})
	}
	t.Run("selecting an unauthorized key fails", func(t *testing.T) {
		cfg := base
		cfg.AgentIdentity = "a-unrelated@laptop"
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
		checkErr(t, err, ErrAuthFailed)
	})
	t.Run("identity the agent does not hold", func(t *testing.T) {
		cfg := base
		cfg.AgentIdentity = ssh.FingerprintSHA256(pubOf(t, mustEd25519(t)))
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
		checkErr(t, err, ErrAuthFailed)
		for _, want := range []string{"no key matching the agent identity " + cfg.AgentIdentity, ssh.FingerprintSHA256(chosenPub), "b-deploy@ci"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
	})
	t.Run("private key plus agent identity", func(t *testing.T) {
		_, strangerPEM := clientKey(t)
		cfg := base
		cfg.PrivateKey, cfg.AgentIdentity = strangerPEM, "b-deploy@ci"
		if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct{ id, sub string }{
		{"SHA256:tooshort", "not a SHA256 fingerprint"},
		{"ssh-ed25519 AAAAbroken", "not a valid public key"},
		{"two\nlines", "one line"},
	} {
		t.Run("config: "+tt.id, func(t *testing.T) {
			cfg := base
			cfg.AgentIdentity = tt.id
			_, err := newTestPool(t).Host(cfg)
			checkErr(t, err, ErrConfig)
			if !strings.Contains(err.Error(), tt.sub) {
				t.Errorf("error %q lacks %q", err, tt.sub)
			}
			if err := ParseAgentIdentity(tt.id); err == nil {
				t.Errorf("ParseAgentIdentity(%q) accepted it", tt.id)
			}
		})
	}
	t.Run("config: identity without agent", func(t *testing.T) {
		cfg := base
		cfg.Agent, cfg.AgentIdentity, cfg.Password = false, "b-deploy@ci", "pw"
		_, err := newTestPool(t).Host(cfg)
		checkErr(t, err, ErrConfig)
	})
}
