package sshclient

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// sharedRSAKey amortises RSA key generation.
var sharedRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return priv
})

func sharedRSASigner() ssh.Signer {
	s, err := ssh.NewSignerFromKey(sharedRSAKey())
	if err != nil {
		panic(err)
	}
	return s
}

// certOpts shapes a test certificate; the zero value is valid for an hour.
type certOpts struct {
	certType    uint32 // default HostCert
	principals  []string
	validAfter  time.Time
	validBefore time.Time
	forever     bool
}

func signCert(t testing.TB, ca ssh.Signer, key ssh.PublicKey, o certOpts) *ssh.Certificate {
	t.Helper()
	if o.certType == 0 {
		o.certType = ssh.HostCert
	}
	if o.validAfter.IsZero() {
		o.validAfter = time.Now().Add(-time.Minute)
	}
	if o.validBefore.IsZero() {
		o.validBefore = time.Now().Add(time.Hour)
	}
	cert := &ssh.Certificate{
		Key:             key,
		Serial:          1,
		CertType:        o.certType,
		KeyId:           "test",
		ValidPrincipals: o.principals,
		ValidAfter:      uint64(o.validAfter.Unix()),
		ValidBefore:     uint64(o.validBefore.Unix()),
	}
	if o.forever {
		cert.ValidAfter, cert.ValidBefore = 0, ssh.CertTimeInfinity
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert
}

func certSigner(t testing.TB, cert *ssh.Certificate, s ssh.Signer) ssh.Signer {
	t.Helper()
	cs, err := ssh.NewCertSigner(cert, s)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func hashedLine(addr string, k ssh.PublicKey) string {
	return xknownhosts.HashHostname(xknownhosts.Normalize(addr)) + " " + authorizedLine(k)
}

// Host certificates, checked against a pinned CA (host_key =
// "@cert-authority ...") or @cert-authority lines in known_hosts.
func TestHostCertificates(t *testing.T) {
	clientSigner, keyPEM := clientKey(t)
	ca := newEd25519Signer(t)
	otherCA := newEd25519Signer(t)
	hostKey := newECDSASigner(t) // a CA's key type need not match the host key's
	const host = "127.0.0.1"

	withCert := func(o certOpts, signer ssh.Signer) func(*fakeServer) {
		return func(s *fakeServer) {
			s.authorized = []ssh.PublicKey{clientSigner.PublicKey()}
			s.hostKeys = []ssh.Signer{certSigner(t, signCert(t, signer, hostKey.PublicKey(), o), hostKey), hostKey}
		}
	}
	plainOnly := func(s *fakeServer) {
		s.authorized = []ssh.PublicKey{clientSigner.PublicKey()}
		s.hostKeys = []ssh.Signer{hostKey}
	}
	caPin := CertAuthorityMarker + " " + authorizedLine(ca.PublicKey()) + " my CA"

	tests := []struct {
		name   string
		server func(*fakeServer)
		policy func(t *testing.T, s *fakeServer, c *Config)
		want   error // nil => success
		msg    string
	}{
		{name: "pinned CA, valid certificate", server: withCert(certOpts{principals: []string{"other.example", host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }},
		{name: "pinned CA, certificate valid forever", server: withCert(certOpts{principals: []string{host}, forever: true}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }},
		{name: "pinned CA, expired", server: withCert(certOpts{principals: []string{host}, validAfter: time.Now().Add(-2 * time.Hour), validBefore: time.Now().Add(-time.Hour)}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: "expired at"},
		{name: "pinned CA, not yet valid", server: withCert(certOpts{principals: []string{host}, validAfter: time.Now().Add(time.Hour), validBefore: time.Now().Add(2 * time.Hour)}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: "not valid before"},
		{name: "pinned CA, other host's certificate", server: withCert(certOpts{principals: []string{"10.9.9.9", "web.example"}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: `not for "127.0.0.1"`},
		// (x/crypto refuses to sign a certificate without principals, so
		// that case is covered by TestHostCertProblem.)
		{name: "pinned CA, signed by another CA", server: withCert(certOpts{principals: []string{host}}, otherCA),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: "not by the pinned one"},
		{name: "pinned CA, user certificate as host key", server: withCert(certOpts{certType: ssh.UserCert, principals: []string{host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: "user certificate"},
		{name: "pinned CA, host without certificate", server: plainOnly,
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = caPin }, want: ErrHostCertificate, msg: "plain ecdsa-sha2-nistp256 key"},
		{name: "pinned plain key of a host that has a certificate", server: withCert(certOpts{principals: []string{host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) { c.HostKey = authorizedLine(hostKey.PublicKey()) }},

		{name: "known_hosts @cert-authority", server: withCert(certOpts{principals: []string{host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority ["+host+"]:"+strconv.Itoa(s.port)+" "+authorizedLine(ca.PublicKey()))
			}},
		{name: "known_hosts @cert-authority with a hashed pattern", server: withCert(certOpts{principals: []string{host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+hashedLine(s.addr(), ca.PublicKey()))
			}},
		{name: "known_hosts @cert-authority, expired", server: withCert(certOpts{principals: []string{host}, validAfter: time.Now().Add(-2 * time.Hour), validBefore: time.Now().Add(-time.Hour)}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+khLine(s.addr(), ca.PublicKey()))
			}, want: ErrHostCertificate, msg: "expired"},
		{name: "known_hosts @cert-authority, wrong principal", server: withCert(certOpts{principals: []string{"web.example"}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+khLine(s.addr(), ca.PublicKey()))
			}, want: ErrHostCertificate, msg: "not for"},
		{name: "known_hosts @cert-authority, another CA", server: withCert(certOpts{principals: []string{host}}, otherCA),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+khLine(s.addr(), ca.PublicKey()))
			}, want: ErrHostCertificate, msg: "not a @cert-authority for this host"},
		{name: "known_hosts @cert-authority, host without certificate", server: plainOnly,
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+khLine(s.addr(), ca.PublicKey()))
			}, want: ErrHostCertificate, msg: "trusts only a certificate authority"},
		{name: "known_hosts @cert-authority for another host only", server: withCert(certOpts{principals: []string{host}}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority other.example "+authorizedLine(ca.PublicKey()))
			}, want: ErrHostKeyUnknown, msg: "a certificate for " + ssh.FingerprintSHA256(hostKey.PublicKey())},
		{name: "known_hosts: expired certificate but plain key listed", server: withCert(certOpts{principals: []string{host}, validAfter: time.Now().Add(-2 * time.Hour), validBefore: time.Now().Add(-time.Hour)}, ca),
			policy: func(t *testing.T, s *fakeServer, c *Config) {
				c.KnownHostsFile = writeKnownHosts(t, "@cert-authority "+khLine(s.addr(), ca.PublicKey()), khLine(s.addr(), hostKey.PublicKey()))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, tt.server)
			cfg := Config{Host: s.host, Port: s.port, User: "alice", PrivateKey: keyPEM, Timeout: defaultTestTimeout}
			tt.policy(t, s, &cfg)
			var before []byte
			if cfg.KnownHostsFile != "" {
				before, _ = os.ReadFile(cfg.KnownHostsFile)
			}
			_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)
			if cfg.KnownHostsFile != "" {
				if after, _ := os.ReadFile(cfg.KnownHostsFile); string(after) != string(before) {
					t.Errorf("known_hosts was modified")
				}
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			t.Logf("%v", err)
			e := checkErr(t, err, tt.want)
			if e.Op != "hostkey" {
				t.Errorf("Op = %q", e.Op)
			}
			for _, other := range []error{ErrHostKeyUnknown, ErrHostKeyChanged, ErrHostCertificate} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error is also %v", other)
				}
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("no HostKeyError: %v", err)
			}
			// What a user would pin is the host's plain key.
			if hk.Fingerprint != ssh.FingerprintSHA256(hostKey.PublicKey()) || hk.Key != authorizedLine(hostKey.PublicKey()) {
				t.Errorf("Fingerprint/Key = %s / %s, want the certified key", hk.Fingerprint, hk.Key)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message lacks %q: %v", tt.msg, err)
			}
			if len(s.execLog()) != 0 {
				t.Errorf("command ran despite host key failure")
			}
		})
	}
}

// Hashed names, [host]:port and each key type: the client must negotiate
// the type known_hosts lists, whatever the server prefers.
func TestKnownHostsKeyTypes(t *testing.T) {
	clientSigner, keyPEM := clientKey(t)
	ed, ec, rs := newEd25519Signer(t), newECDSASigner(t), sharedRSASigner()
	s := newFakeServer(t, func(s *fakeServer) {
		s.authorized = []ssh.PublicKey{clientSigner.PublicKey()}
		s.hostKeys = []ssh.Signer{ed, ec, rs}
	})
	for _, k := range []ssh.Signer{ed, ec, rs} {
		for _, hashed := range []bool{false, true} {
			name := k.PublicKey().Type()
			line := khLine(s.addr(), k.PublicKey())
			if hashed {
				name += " hashed"
				line = hashedLine(s.addr(), k.PublicKey())
			}
			t.Run(name, func(t *testing.T) {
				if !strings.HasPrefix(line, "[127.0.0.1]:") && !strings.HasPrefix(line, "|1|") {
					t.Fatalf("known_hosts line %q has no [host]:port", line)
				}
				cfg := Config{Host: s.host, Port: s.port, User: "alice", PrivateKey: keyPEM, Timeout: defaultTestTimeout,
					KnownHostsFile: writeKnownHosts(t, "other.example "+authorizedLine(ed.PublicKey()), line)}
				if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false); err != nil {
					t.Fatal(err)
				}
				// And pinning the same key works too.
				cfg.KnownHostsFile, cfg.HostKey = "", authorizedLine(k.PublicKey())
				if _, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	t.Run("hashed entry for another port is unknown", func(t *testing.T) {
		cfg := Config{Host: s.host, Port: s.port, User: "alice", PrivateKey: keyPEM, Timeout: defaultTestTimeout,
			KnownHostsFile: writeKnownHosts(t, hashedLine("127.0.0.1:22", ed.PublicKey()))}
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)
		checkErr(t, err, ErrHostKeyUnknown)
	})
	t.Run("hashed entry with another key is a change", func(t *testing.T) {
		cfg := Config{Host: s.host, Port: s.port, User: "alice", PrivateKey: keyPEM, Timeout: defaultTestTimeout,
			KnownHostsFile: writeKnownHosts(t, hashedLine(s.addr(), newEd25519Signer(t).PublicKey()))}
		_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)
		checkErr(t, err, ErrHostKeyChanged)
	})
}

func TestParseHostKeyPin(t *testing.T) {
	ca := newEd25519Signer(t)
	host := newECDSASigner(t)
	cert := signCert(t, ca, host.PublicKey(), certOpts{principals: []string{"h"}})
	tests := []struct {
		in     string
		ca     bool
		errSub string
	}{
		{in: authorizedLine(host.PublicKey())},
		{in: authorizedLine(host.PublicKey()) + " comment words"},
		{in: "  " + authorizedLine(host.PublicKey()) + "\n"},
		{in: "@cert-authority " + authorizedLine(ca.PublicKey()), ca: true},
		{in: "@cert-authority\t" + authorizedLine(ca.PublicKey()) + " my CA", ca: true},
		{in: "@cert-authority", errSub: "authorized_keys format"},
		{in: "@cert-authority * " + authorizedLine(ca.PublicKey()), errSub: "authorized_keys format"},
		{in: "@revoked " + authorizedLine(ca.PublicKey()), errSub: "authorized_keys format"},
		{in: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert))), errSub: "is a certificate"},
		{in: authorizedLine(host.PublicKey()) + "\n" + authorizedLine(ca.PublicKey()), errSub: "exactly one key"},
	}
	for _, tt := range tests {
		key, isCA, err := ParseHostKeyPin(tt.in)
		switch {
		case tt.errSub != "":
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("ParseHostKeyPin(%.40q) = %v, want error with %q", tt.in, err, tt.errSub)
			}
		case err != nil:
			t.Errorf("ParseHostKeyPin(%.40q): %v", tt.in, err)
		case isCA != tt.ca || key == nil:
			t.Errorf("ParseHostKeyPin(%.40q) = ca %v", tt.in, isCA)
		}
	}
}

func TestHostCertProblem(t *testing.T) {
	host := newEd25519Signer(t)
	now := time.Now()
	cert := &ssh.Certificate{Key: host.PublicKey(), CertType: ssh.HostCert, ValidAfter: 0, ValidBefore: ssh.CertTimeInfinity}
	if err := hostCertProblem(cert, "10.0.0.1:22", now); err == nil || !strings.Contains(err.Error(), "no principals") {
		t.Errorf("no principals: %v", err)
	}
	cert.ValidPrincipals = []string{"10.0.0.1"}
	if err := hostCertProblem(cert, "10.0.0.1:22", now); err != nil {
		t.Errorf("valid: %v", err)
	}
	if err := hostCertProblem(cert, "[10.0.0.1]:2222", now); err != nil {
		t.Errorf("principal is the host without port: %v", err)
	}
	cert.ValidPrincipals = []string{"fd00::1"}
	if err := hostCertProblem(cert, "[fd00::1]:22", now); err != nil {
		t.Errorf("IPv6: %v", err)
	}
	if err := hostCertProblem(host.PublicKey(), "h:22", now); err == nil || !strings.Contains(err.Error(), "plain") {
		t.Errorf("plain key: %v", err)
	}
}
