package sshclient

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
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

// newHostKeyCheck reads known_hosts (if that is the policy) fresh on every
// dial so edits made between reconnects are honoured. It never writes it.
func newHostKeyCheck(r *resolved) (*hostKeyCheck, error) {
	c := &hostKeyCheck{}
	var verify func(hostname string, remote net.Addr, key ssh.PublicKey) *HostKeyError

	reject := func(sentinel error, key ssh.PublicKey) *HostKeyError {
		return &HostKeyError{
			Host:        r.addr,
			Fingerprint: ssh.FingerprintSHA256(key),
			Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
			Err:         sentinel,
		}
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
	case r.InsecureIgnoreHostKey:
		verify = func(string, net.Addr, ssh.PublicKey) *HostKeyError { return nil }
	default:
		db, err := knownhosts.NewDB(r.knownHosts)
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
		// The fix skeema/knownhosts exists for: restrict negotiation to the
		// key types known_hosts has for this host. Empty for unknown hosts,
		// which then fail below with the presented key in the error.
		c.algos = db.HostKeyAlgorithms(r.addr)
		cb := db.HostKeyCallback()
		verify = func(hostname string, remote net.Addr, key ssh.PublicKey) *HostKeyError {
			err := cb(hostname, remote, key)
			if err == nil {
				return nil
			}
			var e *HostKeyError
			var keyErr *xknownhosts.KeyError
			var revoked *xknownhosts.RevokedError
			switch {
			case errors.As(err, &revoked):
				e = reject(wrap(ErrHostKeyChanged, errors.New("key is marked @revoked")), key)
			case errors.As(err, &keyErr) && len(keyErr.Want) > 0:
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

// algorithmsForKeyType lists the host key algorithms that can present a key
// of the given type; an ssh-rsa key may be signed with SHA-2 (RFC 8332).
func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}
