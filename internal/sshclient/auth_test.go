package sshclient

import (
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// startAgent serves keys, without comments, on a unix socket.
func startAgent(t *testing.T, keys ...ed25519.PrivateKey) string {
	t.Helper()
	ks := make([]testhost.AgentKey, len(keys))
	for i, k := range keys {
		ks[i] = testhost.AgentKey{PrivateKey: k}
	}
	return testhost.ServeAgent(t, ks...)
}

func pubOf(t testing.TB, k ed25519.PrivateKey) ssh.PublicKey {
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

func TestAuthMethods(t *testing.T) {
	keySigner, keyPEM := clientKey(t)
	encSigner, encPEM := sharedEncryptedKey()
	legacySigner, legacyPEM := legacyEncryptedECKey(t, "legacy pass")
	p8Signer, p8PEM := pkcs8Key(t)
	agentKey := mustEd25519(t)
	otherSigner, otherPEM := clientKey(t)
	_ = otherSigner

	tests := []struct {
		name   string
		server func(*fakeServer)
		cfg    func(t *testing.T, c *Config)
	}{
		{"openssh key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.PrivateKey = keyPEM }},
		{"encrypted openssh key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{encSigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.PrivateKey, c.PrivateKeyPassphrase = encPEM, sharedPassphrase }},
		{"encrypted legacy PEM key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{legacySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.PrivateKey, c.PrivateKeyPassphrase = legacyPEM, "legacy pass" }},
		{"pkcs8 key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{p8Signer.PublicKey()} },
			func(t *testing.T, c *Config) { c.PrivateKey = p8PEM }},
		{"password", func(s *fakeServer) { s.password = "hunter2-pw" },
			func(t *testing.T, c *Config) { c.Password = "hunter2-pw" }},
		{"keyboard-interactive", func(s *fakeServer) { s.kbdPassword = "hunter2-kbd" },
			func(t *testing.T, c *Config) { c.Password = "hunter2-kbd" }},
		{"agent", func(s *fakeServer) { s.authorized = []ssh.PublicKey{pubOf(t, agentKey)} },
			func(t *testing.T, c *Config) { c.Agent, c.AgentSocket = true, startAgent(t, agentKey) }},
		{"agent via SSH_AUTH_SOCK", func(s *fakeServer) { s.authorized = []ssh.PublicKey{pubOf(t, agentKey)} },
			func(t *testing.T, c *Config) { c.Agent = true; t.Setenv("SSH_AUTH_SOCK", startAgent(t, agentKey)) }},
		{"key refused then agent", func(s *fakeServer) { s.authorized = []ssh.PublicKey{pubOf(t, agentKey)} },
			func(t *testing.T, c *Config) {
				c.PrivateKey, c.Agent, c.AgentSocket = otherPEM, true, startAgent(t, agentKey)
			}},
		{"key refused then password", func(s *fakeServer) { s.password = "fallback-pw" },
			func(t *testing.T, c *Config) { c.PrivateKey, c.Password = otherPEM, "fallback-pw" }},
		{"dead agent socket then key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) {
				c.PrivateKey, c.Agent, c.AgentSocket = keyPEM, true, filepath.Join(t.TempDir(), "nope.sock")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.server)
			cfg := Config{Host: s.host, Port: s.port, User: "alice", HostKey: authorizedLine(s.hostKeys[0].PublicKey())}
			tt.cfg(t, &cfg)
			logs := &logRecorder{}
			p := newTestPool(t, WithLogger(logs.log))
			out, _, err := run(t, mustHost(t, p, cfg), "whoami", nil, false)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out != "alice\n" {
				t.Errorf("stdout = %q", out)
			}
			for _, secret := range []string{"hunter2", sharedPassphrase, "legacy pass", "fallback-pw", "PRIVATE KEY"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs leak %q:\n%s", secret, logs)
				}
			}
		})
	}
}

func TestAuthRefused(t *testing.T) {
	keySigner, _ := clientKey(t)
	_, strangerPEM := clientKey(t)
	strangerAgentKey := mustEd25519(t)

	tests := []struct {
		name   string
		server func(*fakeServer)
		cfg    func(t *testing.T, c *Config)
	}{
		{"wrong password", func(s *fakeServer) { s.password = "right-pw" },
			func(t *testing.T, c *Config) { c.Password = "wrong-pw" }},
		{"wrong keyboard-interactive password", func(s *fakeServer) { s.kbdPassword = "right-pw" },
			func(t *testing.T, c *Config) { c.Password = "wrong-pw" }},
		{"unauthorized key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.PrivateKey = strangerPEM }},
		{"unauthorized agent key", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.Agent, c.AgentSocket = true, startAgent(t, strangerAgentKey) }},
		{"empty agent", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.Agent, c.AgentSocket = true, startAgent(t) }},
		{"agent socket missing", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) {
				c.Agent, c.AgentSocket = true, filepath.Join(t.TempDir(), "missing.sock")
			}},
		{"password offered, server wants keys", func(s *fakeServer) { s.authorized = []ssh.PublicKey{keySigner.PublicKey()} },
			func(t *testing.T, c *Config) { c.Password = "wrong-pw" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.server)
			cfg := Config{Host: s.host, Port: s.port, User: "alice", HostKey: authorizedLine(s.hostKeys[0].PublicKey())}
			tt.cfg(t, &cfg)
			_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, false)
			e := checkErr(t, err, ErrAuthFailed)
			if e.Host != s.addr() {
				t.Errorf("Host = %q, want %q", e.Host, s.addr())
			}
			if strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), "right-pw") {
				t.Errorf("error leaks a password: %v", err)
			}
			if len(s.execLog()) != 0 {
				t.Errorf("server ran commands: %v", s.execLog())
			}
		})
	}
}
