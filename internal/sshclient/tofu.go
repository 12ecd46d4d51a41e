package sshclient

import (
	"bytes"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Trust on first use (Config.AcceptNewHostKey): used only when known_hosts
// has nothing for the host, so a known_hosts entry always wins.

// tofuVerify accepts key on first contact (no AcceptedHostKey yet), else
// only the accepted key; another key is ErrHostKeyChanged with both
// fingerprints. A certificate counts as the plain key it certifies, which
// is what gets recorded (its CA is not checked: nothing says which CA to
// trust).
func tofuVerify(r *resolved, key ssh.PublicKey, reject func(error, ssh.PublicKey) *HostKeyError) *HostKeyError {
	if r.tofuPin == nil || bytes.Equal(plainKey(key).Marshal(), r.tofuPin.Marshal()) {
		return nil
	}
	e := reject(ErrHostKeyChanged, key)
	e.Expected = []string{ssh.FingerprintSHA256(r.tofuPin)}
	e.AcceptedOnFirstUse = true
	return e
}

// tofuAlgos asks for the accepted key's type, so a host with several keys
// presents the one accepted before; nil (x/crypto's preference order, the
// same in every process) on first contact.
func tofuAlgos(r *resolved) []string {
	if r.tofuPin == nil {
		return nil
	}
	return algorithmsForKeyType(r.tofuPin.Type())
}

func plainKey(key ssh.PublicKey) ssh.PublicKey {
	if cert, ok := key.(*ssh.Certificate); ok {
		return cert.Key
	}
	return key
}

// authorizedKey is key in authorized_keys format, without a comment.
func authorizedKey(key ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

// HostKeySeen returns the host key of h's current connection in
// authorized_keys format (for a certificate, the key it certifies), or ""
// when h is not connected. With AcceptNewHostKey it is the key to record
// and pass back as AcceptedHostKey.
func (h *Host) HostKeySeen() string {
	h.conn.mu.Lock()
	c := h.conn.cur
	h.conn.mu.Unlock()
	if c == nil || c.hostKey == nil {
		return ""
	}
	return authorizedKey(plainKey(c.hostKey))
}
