package sshclient

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package is an *Error whose
// chain contains exactly one of these (or a context error), so callers can
// branch with errors.Is and attach their own advice. Messages are plain facts.
var (
	ErrConfig           = errors.New("invalid SSH configuration")
	ErrUnreachable      = errors.New("host unreachable")
	ErrHandshakeTimeout = errors.New("SSH handshake timed out")
	ErrAuthFailed       = errors.New("SSH authentication failed")
	ErrHostKeyUnknown   = errors.New("host key is unknown")
	ErrHostKeyChanged   = errors.New("host key does not match the expected key")
	ErrHostCertificate  = errors.New("host certificate not accepted")
	ErrSudoRefused      = errors.New("sudo refused to run the command")
	ErrSudoPassword     = errors.New("sudo rejected the sudo password")
	ErrSudoTimeout      = errors.New("sudo did not start the command in time")
	ErrSudoMissing      = errors.New("sudo is not installed or not on the login user's PATH")
	ErrConnectionLost   = errors.New("SSH connection lost")
	ErrBadScript        = errors.New("script contains a NUL byte")
	ErrPoolClosed       = errors.New("SSH connection pool is closed")

	// ErrLoginShell: the login user's shell exited without running the
	// command (its first line never came): nologin, /bin/false, a
	// program that is not a shell.
	ErrLoginShell = errors.New("the login shell did not run the command")
	// ErrInputConsumed: the command started, but its stdin had already
	// been read, by a login file (~/.bashrc, ~/.zshenv, ...) that reads
	// standard input.
	ErrInputConsumed = errors.New("a login file read the command's input")
	// ErrCommandTimeout: Config.CommandTimeout ran out; the command was
	// stopped.
	ErrCommandTimeout = errors.New("the command timed out")
	// ErrOutputLimit: the command printed more than MaxOutput; it was
	// stopped.
	ErrOutputLimit = errors.New("too much output")
)

// Kinds of sudo refusal; each is also ErrSudoRefused.
var (
	// ErrSudoNeedsPassword: sudo wants a password and none was given
	// (sudo -n).
	ErrSudoNeedsPassword = fmt.Errorf("%w: it needs a password", ErrSudoRefused)
	// ErrSudoTTY: sudoers' requiretty; sudo runs only from a terminal.
	ErrSudoTTY = fmt.Errorf("%w: it requires a terminal (requiretty)", ErrSudoRefused)
	// ErrSudoNotAllowed: the user may not run the command as root.
	ErrSudoNotAllowed = fmt.Errorf("%w: the user may not run it as root", ErrSudoRefused)
)

// Error is the single error type returned by this package.
type Error struct {
	Host string // "host:port" of the target, also when a bastion failed
	Op   string // "config", "connect", "handshake", "hostkey", "auth", "session", "exec", "sudo"
	// Bastion is the "host:port" of the bastion whose own connection
	// failed (Op and Err are that hop's); "" when the failure is Host's.
	Bastion string
	// Via is the last bastion on the way to Host when Host's own
	// connection failed behind it; "" for a direct connection.
	Via string
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Host == "":
		return fmt.Sprintf("ssh %s: %v", e.Op, e.Err)
	case e.Bastion != "":
		return fmt.Sprintf("ssh %s %s: via bastion %s: %v", e.Op, e.Host, e.Bastion, e.Err)
	case e.Via != "":
		return fmt.Sprintf("ssh %s %s (through bastion %s): %v", e.Op, e.Host, e.Via, e.Err)
	}
	return fmt.Sprintf("ssh %s %s: %v", e.Op, e.Host, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ExitError reports that the remote script ran and exited non-zero.
type ExitError struct {
	Status int
	Stderr string // markers stripped, secrets redacted
}

func (e *ExitError) Error() string {
	const maxStderr = 512
	s := e.Stderr
	if len(s) > maxStderr {
		s = s[:maxStderr] + "..."
	}
	if s == "" {
		return fmt.Sprintf("remote command exited with status %d", e.Status)
	}
	return fmt.Sprintf("remote command exited with status %d: %s", e.Status, s)
}

// HostKeyError carries what a user needs to verify and pin a host key.
// It unwraps to ErrHostKeyUnknown, ErrHostKeyChanged or ErrHostCertificate.
type HostKeyError struct {
	Host           string   // "host:port" of the hop that presented the key
	Fingerprint    string   // ssh.FingerprintSHA256 of the presented key (of the certified key for a certificate)
	Key            string   // that key in authorized_keys format, no comment
	CertAuthority  string   // SHA256 fingerprint of the CA when the host presented a certificate
	KnownHostsFile string   // empty when the policy was a pinned key
	FileMissing    bool     // KnownHostsFile does not exist
	Expected       []string // SHA256 fingerprints we would have accepted (changed case; a pinned CA's for certificates)
	// AcceptedOnFirstUse: the expected key is the one accepted on first
	// contact (Config.AcceptedHostKey), not a known_hosts entry or pin.
	AcceptedOnFirstUse bool
	Err                error
}

func (e *HostKeyError) Error() string {
	where := "pinned host_key"
	if e.AcceptedOnFirstUse {
		where = "the key accepted on first contact (accept_new_host_key)"
	} else if e.KnownHostsFile != "" {
		where = "known_hosts file " + e.KnownHostsFile
	}
	presented := e.Fingerprint
	if e.CertAuthority != "" {
		presented = fmt.Sprintf("a certificate for %s signed by CA %s", e.Fingerprint, e.CertAuthority)
	}
	if errors.Is(e.Err, ErrHostCertificate) {
		if len(e.Expected) > 0 {
			return fmt.Sprintf("%v: %s presented %s, %s trusts CA %v", e.Err, e.Host, presented, where, e.Expected)
		}
		return fmt.Sprintf("%v: %s presented %s, checked against %s", e.Err, e.Host, presented, where)
	}
	if errors.Is(e.Err, ErrHostKeyChanged) {
		return fmt.Sprintf("%v: %s presented %s, %s expects %v", e.Err, e.Host, presented, where, e.Expected)
	}
	if e.FileMissing {
		return fmt.Sprintf("%v: %s presented %s and %s does not exist", e.Err, e.Host, presented, where)
	}
	if e.KnownHostsFile != "" {
		return fmt.Sprintf("%v: %s presented %s, which has no entry in %s", e.Err, e.Host, presented, where)
	}
	return fmt.Sprintf("%v: %s presented %s", e.Err, e.Host, presented)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// wrap builds "<sentinel>: <cause>" keeping both in the errors.Is chain.
func wrap(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}
