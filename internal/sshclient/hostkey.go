package sshclient

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// Host key algorithms in preference order, as x/crypto names them.
var (
	certHostKeyAlgos = []string{
		ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
		ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	}
	plainHostKeyAlgos = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
)

// hostKeyCheck is built for one dial. It remembers the verdict itself because
// x/crypto folds the callback's error into a generic "handshake failed"
// message, and the dialer needs to tell host key problems from everything
// else.
type hostKeyCheck struct {
	algos     []string // ClientConfig.HostKeyAlgorithms; nil => x/crypto default
	callback  ssh.HostKeyCallback
	presented ssh.PublicKey
	accepted  bool
	rejected  *HostKeyError
}

// newHostKeyCheck reads known_hosts (if that is the policy) through the
// cache, which rereads a file that changed, so edits made between
// reconnects are honoured. It never writes it.
func newHostKeyCheck(r *resolved, known *knownHostsCache) (*hostKeyCheck, error) {
	c := &hostKeyCheck{}
	var verify func(hostname string, remote net.Addr, key ssh.PublicKey) *HostKeyError

	// reject describes the presented key; for a certificate, the key it
	// certifies (which is what a user would pin) and its CA.
	reject := func(sentinel error, key ssh.PublicKey) *HostKeyError {
		e := &HostKeyError{Host: r.addr, Err: sentinel}
		shown := key
		if cert, ok := key.(*ssh.Certificate); ok {
			shown = cert.Key
			e.CertAuthority = ssh.FingerprintSHA256(cert.SignatureKey)
		}
		e.Fingerprint = ssh.FingerprintSHA256(shown)
		e.Key = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(shown)))
		return e
	}

	switch {
	case r.pinned != nil:
		// Ask for the pinned key's type, otherwise a server with several host
		// keys may offer another type first and fail a correct pin.
		c.algos = algorithmsForKeyType(r.pinned.Type())
		verify = func(_ string, _ net.Addr, key ssh.PublicKey) *HostKeyError {
			if bytes.Equal(key.Marshal(), r.pinned.Marshal()) {
				return nil
			}
			e := reject(ErrHostKeyChanged, key)
			e.Expected = []string{ssh.FingerprintSHA256(r.pinned)}
			return e
		}
	case r.pinnedCA != nil:
		// Certificates first; plain keys last only so that a host without a
		// certificate gets a clear error rather than "no common algorithm".
		c.algos = slices.Concat(certHostKeyAlgos, plainHostKeyAlgos)
		checker := &ssh.CertChecker{
			IsHostAuthority: func(auth ssh.PublicKey, _ string) bool { return bytes.Equal(auth.Marshal(), r.pinnedCA.Marshal()) },
			Clock:           r.now,
		}
		verify = func(hostname string, remote net.Addr, key ssh.PublicKey) *HostKeyError {
			cause := hostCertProblem(key, hostname, r.now())
			if cause == nil {
				// hostCertProblem accepts nothing but a certificate, so !ok
				// cannot happen; refuse rather than trust if it ever does.
				if cert, ok := key.(*ssh.Certificate); !ok {
					cause = fmt.Errorf("internal error: accepted a plain %s key as a host certificate", key.Type())
				} else if !checker.IsHostAuthority(cert.SignatureKey, hostname) {
					cause = fmt.Errorf("the certificate is signed by CA %s, not by the pinned one", ssh.FingerprintSHA256(cert.SignatureKey))
				} else if err := checker.CheckHostKey(hostname, remote, key); err != nil {
					cause = err // e.g. a bad signature or an unknown critical option
				}
			}
			if cause == nil {
				return nil
			}
			e := reject(wrap(ErrHostCertificate, cause), key)
			e.Expected = []string{ssh.FingerprintSHA256(r.pinnedCA)}
			return e
		}
	case r.InsecureIgnoreHostKey:
		verify = func(string, net.Addr, ssh.PublicKey) *HostKeyError { return nil }
	default:
		db, err := known.load(r.knownHosts)
		if errors.Is(err, fs.ErrNotExist) && r.AcceptNewHostKey {
			c.algos = tofuAlgos(r)
			verify = func(_ string, _ net.Addr, key ssh.PublicKey) *HostKeyError { return tofuVerify(r, key, reject) }
			break
		}
		if errors.Is(err, fs.ErrNotExist) {
			// Still complete the key exchange so the error can show the
			// presented key for the user to verify and pin.
			verify = func(_ string, _ net.Addr, key ssh.PublicKey) *HostKeyError {
				e := reject(ErrHostKeyUnknown, key)
				e.KnownHostsFile, e.FileMissing = r.knownHosts, true
				return e
			}
			break
		}
		if err != nil {
			return nil, &Error{Host: r.addr, Op: "hostkey", Err: wrap(ErrConfig, fmt.Errorf("cannot read known_hosts file %s: %w", r.knownHosts, err))}
		}
		verify = knownHostsVerifier(r, db, c, reject)
	}

	c.callback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		c.presented = key
		if e := verify(hostname, remote, key); e != nil {
			c.rejected = e
			return e
		}
		c.accepted = true
		return nil
	}
	return c, nil
}

// knownHostsVerifier checks keys against known_hosts (hashed names,
// [host]:port, @cert-authority and @revoked lines all come from x/crypto's
// parser) and sets c.algos.
func knownHostsVerifier(r *resolved, db *knownhosts.HostKeyDB, c *hostKeyCheck, reject func(error, ssh.PublicKey) *HostKeyError) func(string, net.Addr, ssh.PublicKey) *HostKeyError {
	known := db.HostKeys(r.addr)
	var cas, plain []string // fingerprints
	for _, k := range known {
		if k.Cert {
			cas = append(cas, ssh.FingerprintSHA256(k.PublicKey))
		} else {
			plain = append(plain, ssh.FingerprintSHA256(k.PublicKey))
		}
	}
	// The fix skeema/knownhosts exists for: restrict negotiation to the
	// key types known_hosts has for this host. Empty for unknown hosts,
	// which then fail below with the presented key in the error.
	c.algos = db.HostKeyAlgorithms(r.addr)
	if len(known) == 0 && r.AcceptNewHostKey {
		c.algos = tofuAlgos(r)
	}
	if len(cas) > 0 {
		// A CA's own key type says nothing about the type of the host keys
		// it signs (skeema assumes they match): ask for every certificate
		// type, then the plain types known_hosts lists, or all plain types
		// so that a host without a certificate gets a clear error.
		var plainAlgos []string
		for _, a := range c.algos {
			if !strings.Contains(a, "-cert-v01@") {
				plainAlgos = append(plainAlgos, a)
			}
		}
		if len(plainAlgos) == 0 {
			plainAlgos = plainHostKeyAlgos
		}
		c.algos = slices.Concat(certHostKeyAlgos, plainAlgos)
	}
	cb := db.HostKeyCallback()

	return func(hostname string, remote net.Addr, key ssh.PublicKey) *HostKeyError {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		var e *HostKeyError
		var keyErr *xknownhosts.KeyError
		var revoked *xknownhosts.RevokedError
		cert, isCert := key.(*ssh.Certificate)
		switch {
		case errors.As(err, &revoked):
			e = reject(wrap(ErrHostKeyChanged, errors.New("key is marked @revoked")), key)
		case len(known) == 0 && r.AcceptNewHostKey:
			return tofuVerify(r, key, reject)
		case len(known) == 0:
			e = reject(ErrHostKeyUnknown, key)
		case isCert:
			// Like OpenSSH: a certificate that does not verify falls back
			// to its plain key, which known_hosts may list.
			if cb(hostname, remote, cert.Key) == nil {
				return nil
			}
			if len(cas) == 0 {
				e = reject(ErrHostKeyChanged, key)
				e.Expected = plain
				break
			}
			cause := hostCertProblem(key, hostname, r.now())
			if cause == nil {
				if !errors.As(err, &keyErr) && strings.Contains(err.Error(), "no authorities") {
					cause = fmt.Errorf("the certificate is signed by CA %s, which is not a @cert-authority for this host", ssh.FingerprintSHA256(cert.SignatureKey))
				} else {
					cause = err
				}
			}
			e = reject(wrap(ErrHostCertificate, cause), key)
			e.Expected = cas
		case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
			if len(plain) == 0 {
				e = reject(wrap(ErrHostCertificate, fmt.Errorf("the host presented a plain %s key, but known_hosts trusts only a certificate authority for it", key.Type())), key)
				e.Expected = cas
				break
			}
			e = reject(ErrHostKeyChanged, key)
			for _, k := range keyErr.Want {
				e.Expected = append(e.Expected, ssh.FingerprintSHA256(k.Key))
			}
		case errors.As(err, &keyErr):
			e = reject(ErrHostKeyUnknown, key)
		default:
			// Not a verdict we understand: fail closed as "unknown".
			e = reject(wrap(ErrHostKeyUnknown, err), key)
		}
		e.KnownHostsFile = r.knownHosts
		return e
	}
}

// hostCertProblem says why key is not a usable host certificate for
// hostname ("host:port") at now, checking what OpenSSH checks before the
// signature: it is a host certificate, it names the host, it is valid now.
// nil means those checks passed (the CA and signature are checked apart).
func hostCertProblem(key ssh.PublicKey, hostname string, now time.Time) error {
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		return fmt.Errorf("the host presented a plain %s key, not a host certificate", key.Type())
	}
	if cert.CertType != ssh.HostCert {
		return errors.New("the host presented a user certificate as its host key")
	}
	host := hostname
	if h, _, err := net.SplitHostPort(hostname); err == nil {
		host = h
	}
	if len(cert.ValidPrincipals) == 0 {
		return errors.New("the certificate names no host (no principals), so it cannot vouch for this one")
	}
	if !slices.Contains(cert.ValidPrincipals, host) {
		return fmt.Errorf("the certificate is for %q, not for %q", cert.ValidPrincipals, host)
	}
	if err := certValidAt(cert, now); err != nil {
		return fmt.Errorf("the certificate %w", err)
	}
	return nil
}

// algorithmsForKeyType lists the host key algorithms that can present a key
// of the given type; an ssh-rsa key may be signed with SHA-2 (RFC 8332).
func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
