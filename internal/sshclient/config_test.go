package sshclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestConfigValidation(t *testing.T) {
	signer, pemKey := clientKey(t)
	_, encKey := sharedEncryptedKey()
	hostKey := authorizedLine(signer.PublicKey())

	tests := []struct {
		name   string
		cfg    Config
		env    string // SSH_AUTH_SOCK
		substr string
	}{
		{"no auth", Config{Host: "h"}, "", "no authentication method"},
		{"empty host", Config{Password: "pw"}, "", "host is empty"},
		{"host with port", Config{Host: "example.com:22", Password: "pw"}, "", "must not include a port"},
		{"host with space", Config{Host: "a b", Password: "pw"}, "", "not a valid host"},
		{"option-like host", Config{Host: "-oProxyCommand=x", Password: "pw"}, "", "not a valid host"},
		{"bad port", Config{Host: "h", Port: 70000, Password: "pw"}, "", "port 70000"},
		{"negative timeout", Config{Host: "h", Password: "pw", Timeout: -time.Second}, "", "timeout"},
		{"negative max sessions", Config{Host: "h", Password: "pw", MaxSessions: -1}, "", "max sessions"},
		{"negative command timeout", Config{Host: "h", Password: "pw", CommandTimeout: -time.Second}, "", "command timeout"},
		{"host key and insecure", Config{Host: "h", Password: "pw", HostKey: hostKey, InsecureIgnoreHostKey: true}, "", "mutually exclusive"},
		{"bad host key", Config{Host: "h", Password: "pw", HostKey: "ssh-ed25519 not-base64!"}, "", "authorized_keys format"},
		{"two host keys", Config{Host: "h", Password: "pw", HostKey: hostKey + "\n" + hostKey}, "", "exactly one key"},
		{"not PEM", Config{Host: "h", PrivateKey: "/home/me/.ssh/id_ed25519"}, "", "not PEM"},
		{"garbage PEM", Config{Host: "h", PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"}, "", "cannot parse private key"},
		{"encrypted key without passphrase", Config{Host: "h", PrivateKey: encKey}, "", "encrypted and no passphrase"},
		{"encrypted key wrong passphrase", Config{Host: "h", PrivateKey: encKey, PrivateKeyPassphrase: "wrong-passphrase"}, "", "passphrase is incorrect"},
		{"agent without socket", Config{Host: "h", Agent: true}, "", "SSH_AUTH_SOCK is empty"},
		{"sudo password without sudo", Config{Host: "h", Password: "pw", SudoPassword: "sudo-secret"}, "", "sudo is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", tt.env)
			p := newTestPool(t)
			_, err := p.Host(tt.cfg)
			e := checkErr(t, err, ErrConfig)
			if e.Op != "config" {
				t.Errorf("Op = %q, want config", e.Op)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("error %q does not mention %q", err, tt.substr)
			}
			for _, secret := range []string{sharedPassphrase, "wrong-passphrase", "sudo-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %q", err)
				}
			}
			if s := p.Stats(); s.Dials != 0 {
				t.Errorf("Host() dialed: %+v", s)
			}
		})
	}

	t.Run("valid does not dial", func(t *testing.T) {
		p := newTestPool(t)
		mustHost(t, p, Config{Host: "192.0.2.1", PrivateKey: pemKey, InsecureIgnoreHostKey: true})
		if s := p.Stats(); s.Dials != 0 {
			t.Errorf("Host() dialed: %+v", s)
		}
	})
	t.Run("agent skipped when other methods exist", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		mustHost(t, newTestPool(t), Config{Host: "h", Agent: true, Password: "pw"})
	})
	t.Run("passphrase on unencrypted key is harmless", func(t *testing.T) {
		mustHost(t, newTestPool(t), Config{Host: "h", PrivateKey: pemKey, PrivateKeyPassphrase: "unused"})
	})
}

func TestHostName(t *testing.T) {
	tests := []struct {
		host string
		port int
		want string
	}{
		{"example.com", 0, "example.com:22"},
		{"10.0.0.1", 2222, "10.0.0.1:2222"},
		{"::1", 0, "[::1]:22"},
		{"[2001:db8::1]", 2200, "[2001:db8::1]:2200"},
		{"fe80::1%eth0", 22, "[fe80::1%eth0]:22"},
	}
	p := newTestPool(t)
	for _, tt := range tests {
		h := mustHost(t, p, Config{Host: tt.host, Port: tt.port, Password: "pw", InsecureIgnoreHostKey: true})
		if got := h.Name(); got != tt.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
		if h.r.User != "root" || h.r.Timeout != DefaultTimeout || h.r.MaxSessions != DefaultMaxSessions || h.r.CommandTimeout != DefaultCommandTimeout {
			t.Errorf("defaults not applied: user=%q timeout=%s max=%d command timeout=%s", h.r.User, h.r.Timeout, h.r.MaxSessions, h.r.CommandTimeout)
		}
	}
}

func TestConfigStringRedacts(t *testing.T) {
	cfg := Config{Host: "h", Password: "pw-secret", SudoPassword: "sudo-secret", PrivateKey: "-----BEGIN KEY-----", PrivateKeyPassphrase: "pp-secret"}
	for _, s := range []string{cfg.String(), (&cfg).String()} {
		for _, secret := range []string{"pw-secret", "sudo-secret", "BEGIN", "pp-secret"} {
			if strings.Contains(s, secret) {
				t.Errorf("Config.String leaks %q: %s", secret, s)
			}
		}
	}
}

// legacyEncryptedECKey returns an RFC 1423 encrypted "EC PRIVATE KEY" PEM,
// the format of old `ssh-keygen -m PEM` keys with a passphrase.
func legacyEncryptedECKey(t testing.TB, passphrase string) (ssh.Signer, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 legacy format on purpose: users still have such keys
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte(passphrase), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pem.EncodeToMemory(block))
}

// pkcs8Key returns an unencrypted PKCS#8 "PRIVATE KEY" PEM.
func pkcs8Key(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	priv := mustEd25519(t)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
