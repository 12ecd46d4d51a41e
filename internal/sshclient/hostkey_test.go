package sshclient

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeyPolicies(t *testing.T) {
	clientSigner, keyPEM := clientKey(t)
	edKey := newEd25519Signer(t)
	ecKey := newECDSASigner(t) // x/crypto prefers ECDSA over ed25519 by default
	stranger := newEd25519Signer(t).PublicKey()

	s := newFakeServer(t, func(s *fakeServer) {
		s.authorized = []ssh.PublicKey{clientSigner.PublicKey()}
		s.hostKeys = []ssh.Signer{edKey, ecKey}
	})
	addr := s.addr()

	tests := []struct {
		name      string
		policy    func(t *testing.T, c *Config) (knownHosts string)
		want      error // nil => success
		presented ssh.PublicKey
		expected  []ssh.PublicKey
	}{
		{name: "known_hosts known", policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = writeKnownHosts(t, khLine(addr, ecKey.PublicKey()))
			return c.KnownHostsFile
		}},
		// The server offers ECDSA first; only ed25519 is known. Without
		// HostKeyAlgorithms from known_hosts this is a spurious mismatch.
		{name: "known_hosts lists only the non-preferred key type", policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = writeKnownHosts(t, "# comment", khLine("other.example:22", stranger), khLine(addr, edKey.PublicKey()))
			return c.KnownHostsFile
		}},
		{name: "known_hosts unknown host", want: ErrHostKeyUnknown, presented: ecKey.PublicKey(), policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = writeKnownHosts(t, khLine("other.example:22", edKey.PublicKey()))
			return c.KnownHostsFile
		}},
		{name: "known_hosts changed", want: ErrHostKeyChanged, presented: edKey.PublicKey(), expected: []ssh.PublicKey{stranger}, policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = writeKnownHosts(t, khLine(addr, stranger))
			return c.KnownHostsFile
		}},
		{name: "known_hosts revoked", want: ErrHostKeyChanged, presented: edKey.PublicKey(), policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = writeKnownHosts(t, "@revoked * "+authorizedLine(edKey.PublicKey()), khLine(addr, edKey.PublicKey()))
			return c.KnownHostsFile
		}},
		{name: "known_hosts missing", want: ErrHostKeyUnknown, presented: ecKey.PublicKey(), policy: func(t *testing.T, c *Config) string {
			c.KnownHostsFile = filepath.Join(t.TempDir(), "nope", "known_hosts")
			return c.KnownHostsFile
		}},
		{name: "known_hosts default path under HOME", want: ErrHostKeyUnknown, presented: ecKey.PublicKey(), policy: func(t *testing.T, c *Config) string {
			home := t.TempDir()
			t.Setenv("HOME", home)
			return filepath.Join(home, ".ssh", "known_hosts")
		}},
		{name: "known_hosts tilde path", policy: func(t *testing.T, c *Config) string {
			home := t.TempDir()
			t.Setenv("HOME", home)
			os.WriteFile(filepath.Join(home, "kh"), []byte(khLine(addr, ecKey.PublicKey())+"\n"), 0o600)
			c.KnownHostsFile = "~/kh"
			return filepath.Join(home, "kh")
		}},
		{name: "pinned ok", policy: func(t *testing.T, c *Config) string {
			c.HostKey = authorizedLine(ecKey.PublicKey()) + " comment"
			return ""
		}},
		{name: "pinned non-preferred key type", policy: func(t *testing.T, c *Config) string {
			c.HostKey = authorizedLine(edKey.PublicKey())
			return ""
		}},
		{name: "pinned mismatch", want: ErrHostKeyChanged, presented: edKey.PublicKey(), expected: []ssh.PublicKey{stranger}, policy: func(t *testing.T, c *Config) string {
			c.HostKey = authorizedLine(stranger)
			return ""
		}},
		{name: "insecure", policy: func(t *testing.T, c *Config) string {
			c.InsecureIgnoreHostKey = true
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Host: s.host, Port: s.port, User: "alice", PrivateKey: keyPEM, Timeout: defaultTestTimeout}
			khPath := tt.policy(t, &cfg)
			var before []byte
			if khPath != "" {
				before, _ = os.ReadFile(khPath)
			}
			execsBefore := len(s.execLog())
			_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)

			if khPath != "" { // never written, never created
				after, _ := os.ReadFile(khPath)
				if string(before) != string(after) {
					t.Errorf("known_hosts was modified:\n%s", after)
				}
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			e := checkErr(t, err, tt.want)
			if e.Op != "hostkey" {
				t.Errorf("Op = %q", e.Op)
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("no *HostKeyError in %v", err)
			}
			if want := ssh.FingerprintSHA256(tt.presented); hk.Fingerprint != want {
				t.Errorf("Fingerprint = %q, want %q", hk.Fingerprint, want)
			}
			if want := authorizedLine(tt.presented); hk.Key != want {
				t.Errorf("Key = %q, want %q", hk.Key, want)
			}
			if hk.KnownHostsFile != khPath {
				t.Errorf("KnownHostsFile = %q, want %q", hk.KnownHostsFile, khPath)
			}
			if hk.Host != addr {
				t.Errorf("Host = %q", hk.Host)
			}
			for _, k := range tt.expected {
				if !slices.Contains(hk.Expected, ssh.FingerprintSHA256(k)) {
					t.Errorf("Expected %v lacks %s", hk.Expected, ssh.FingerprintSHA256(k))
				}
			}
			if !strings.Contains(err.Error(), hk.Fingerprint) || !strings.Contains(err.Error(), addr) {
				t.Errorf("message lacks facts: %v", err)
			}
			// Unknown and changed are different answers for the user.
			other := ErrHostKeyChanged
			if tt.want == ErrHostKeyChanged {
				other = ErrHostKeyUnknown
			}
			if errors.Is(err, other) {
				t.Errorf("error is both unknown and changed: %v", err)
			}
			if len(s.execLog()) != execsBefore {
				t.Errorf("command ran despite host key failure")
			}
		})
	}
}

func TestHostKeyMissingFileMessage(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.HostKey = ""
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)
	var hk *HostKeyError
	if !errors.As(err, &hk) || !hk.FileMissing {
		t.Fatalf("want HostKeyError with FileMissing, got %v", err)
	}
	if !strings.Contains(err.Error(), cfg.KnownHostsFile) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("message = %v", err)
	}
}
