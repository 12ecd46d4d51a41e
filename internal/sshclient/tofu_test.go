package sshclient

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// tofuConfig trusts on first use, with known_hosts as given.
func tofuConfig(t *testing.T, s *fakeServer, key, knownHosts, accepted string) Config {
	cfg := testConfig(t, s, key)
	cfg.HostKey, cfg.KnownHostsFile = "", knownHosts
	cfg.AcceptNewHostKey, cfg.AcceptedHostKey = true, accepted
	return cfg
}

func connectOnce(t *testing.T, cfg Config) (string, error) {
	t.Helper()
	p := newTestPool(t) // a new pool: a new provider process
	h := mustHost(t, p, cfg)
	_, err := h.conn.get(context.Background(), h.r)
	return h.HostKeySeen(), err
}

func TestTOFUFirstContactThenPinned(t *testing.T) {
	s, key := keyedServer(t)
	empty := writeKnownHosts(t, "")
	missing := filepath.Join(t.TempDir(), "no_known_hosts")
	want := authorizedLine(s.hostKeys[0].PublicKey())
	for _, kh := range []string{empty, missing} {
		seen, err := connectOnce(t, tofuConfig(t, s, key, kh, ""))
		if err != nil || seen != want {
			t.Fatalf("first contact (%s): seen %q, err %v; want %q", kh, seen, err, want)
		}
		// A later process with the recorded key: accepted.
		if seen, err := connectOnce(t, tofuConfig(t, s, key, kh, seen)); err != nil || seen != want {
			t.Fatalf("pinned: seen %q, err %v", seen, err)
		}
	}
	// The same address with another key: the hard "changed" error, naming
	// both fingerprints.
	other := authorizedLine(newEd25519Signer(t).PublicKey())
	_, err := connectOnce(t, tofuConfig(t, s, key, empty, other))
	checkErr(t, err, ErrHostKeyChanged)
	otherKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(other))
	for _, fp := range []string{ssh.FingerprintSHA256(s.hostKeys[0].PublicKey()), ssh.FingerprintSHA256(otherKey), "accepted on first contact"} {
		if !strings.Contains(err.Error(), fp) {
			t.Errorf("error %q does not contain %q", err, fp)
		}
	}
	if Retryable(err) {
		t.Error("a changed key is retryable")
	}
}

func TestTOFUKnownHostsWins(t *testing.T) {
	s, key := keyedServer(t)
	wrong := newEd25519Signer(t).PublicKey()
	kh := writeKnownHosts(t, khLine(s.addr(), wrong))
	// Even with the host's real key recorded as accepted.
	_, err := connectOnce(t, tofuConfig(t, s, key, kh, authorizedLine(s.hostKeys[0].PublicKey())))
	e := checkErr(t, err, ErrHostKeyChanged)
	if !strings.Contains(err.Error(), "known_hosts") {
		t.Errorf("error %q does not name known_hosts (%v)", err, e)
	}
	// A matching entry verifies as usual.
	kh = writeKnownHosts(t, khLine(s.addr(), s.hostKeys[0].PublicKey()))
	if _, err := connectOnce(t, tofuConfig(t, s, key, kh, "")); err != nil {
		t.Fatal(err)
	}
}

// A host with several keys presents the accepted one's type again.
func TestTOFUSeveralHostKeys(t *testing.T) {
	ecdsa := newECDSASigner(t)
	signer, pemKey := clientKey(t)
	s := newFakeServer(t, func(s *fakeServer) {
		s.hostKeys = []ssh.Signer{newEd25519Signer(t), ecdsa}
		s.authorized = []ssh.PublicKey{signer.PublicKey()}
	})
	empty := writeKnownHosts(t, "")
	pin := authorizedLine(ecdsa.PublicKey())
	if seen, err := connectOnce(t, tofuConfig(t, s, pemKey, empty, pin)); err != nil || seen != pin {
		t.Fatalf("seen %q, err %v; want the ECDSA key", seen, err)
	}
}

func TestTOFUConfigErrors(t *testing.T) {
	s, key := keyedServer(t)
	cfg := tofuConfig(t, s, key, writeKnownHosts(t, ""), "not a key")
	if _, err := newTestPool(t).Host(cfg); err == nil || !strings.Contains(err.Error(), "accepted host key") {
		t.Errorf("bad accepted key: %v", err)
	}
	cfg.AcceptedHostKey, cfg.AcceptNewHostKey = authorizedLine(s.hostKeys[0].PublicKey()), false
	if _, err := newTestPool(t).Host(cfg); err == nil {
		t.Error("an accepted key without accept-new is not refused")
	}
}
