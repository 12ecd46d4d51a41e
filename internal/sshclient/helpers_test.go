package sshclient

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// clientKey returns a fresh ed25519 key and its unencrypted OpenSSH PEM.
func clientKey(t testing.TB) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pem.EncodeToMemory(block))
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// writeKnownHosts writes a known_hosts file with one line per (addr, key).
func writeKnownHosts(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func khLine(addr string, k ssh.PublicKey) string { return knownhosts.Line([]string{addr}, k) }

// testConfig authenticates with a fresh authorized key and pins the
// server's first host key, so tests only vary what they are about.
func testConfig(t testing.TB, s *fakeServer, key string) Config {
	return Config{
		Host:       s.host,
		Port:       s.port,
		User:       "alice",
		PrivateKey: key,
		HostKey:    authorizedLine(s.hostKeys[0].PublicKey()),
		Timeout:    defaultTestTimeout,
	}
}

// keyedServer starts a server that accepts one fresh client key.
func keyedServer(t *testing.T, opts ...func(*fakeServer)) (*fakeServer, string) {
	signer, pemKey := clientKey(t)
	opts = append([]func(*fakeServer){func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} }}, opts...)
	return newFakeServer(t, opts...), pemKey
}

func mustHost(t testing.TB, p *Pool, cfg Config) *Host {
	t.Helper()
	h, err := p.Host(cfg)
	if err != nil {
		t.Fatalf("Host(): %v", err)
	}
	return h
}

func newTestPool(t testing.TB, opts ...Option) *Pool {
	p := NewPool(opts...)
	t.Cleanup(func() { p.Close() })
	return p
}

// logRecorder captures Logger output so tests can check it for secrets.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(_ context.Context, msg string, fields map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %v", msg, fields))
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// checkErr asserts err is an *Error wrapping want.
func checkErr(t testing.TB, err, want error) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v", want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T (%v) is not *Error", err, err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %q does not wrap %q", err, want)
	}
	return e
}

func run(t testing.TB, h *Host, script string, stdin []byte, privileged bool) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, errb, err := h.Run(ctx, script, stdin, privileged)
	return string(out), string(errb), err
}

func mustEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// Generous: tests that succeed never wait for it, and CI machines are busy.
const defaultTestTimeout = 5 * time.Second

// sharedEncryptedKey amortises bcrypt_pbkdf, which is slow under -race.
// Its passphrase is sharedPassphrase.
var sharedEncryptedKey = sync.OnceValues(func() (ssh.Signer, string) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "enc", []byte(sharedPassphrase))
	if err != nil {
		panic(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		panic(err)
	}
	return s, string(pem.EncodeToMemory(block))
})

const sharedPassphrase = "open sesame"

// plainCommand is the command line of an unprivileged run of script.
func plainCommand(script string) string { return commandLine(script, nil) }
