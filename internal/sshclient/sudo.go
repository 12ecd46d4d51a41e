package sshclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// sudoReady is echoed by the shell sudo starts; seeing it proves sudo
// accepted us and that stdin now belongs to the script. Its absence after
// a failed run means sudo refused, whatever language sudo said it in.
const sudoReady = "yama-sudo-ready"

// sudoRun is the sudo state for one Run.
type sudoRun struct {
	password string
	prompt   []byte // random per Run: only sudo can print it, the script cannot guess it
	ready    []byte
}

func newSudoRun(password string) *sudoRun {
	s := &sudoRun{password: password, ready: []byte(sudoReady + "\n")}
	if password != "" {
		var b [12]byte
		rand.Read(b[:])
		// Hex only: sudo -p expands %-escapes, and quotes would break quoting.
		s.prompt = []byte("yama-sudo-prompt-" + hex.EncodeToString(b[:]) + ":")
	}
	return s
}

// argv is sudo's part of the command line. The password is never part
// of it: it goes to sudo on stdin, and only after sudo printed our prompt.
func (s *sudoRun) argv() string {
	if s.password == "" {
		return "sudo -n"
	}
	// The prompt is hex and punctuation only: nothing for a shell to expand.
	return "sudo -S -p " + string(s.prompt)
}

// clean strips our markers from stderr and, as a second line of defence,
// redacts the password should anything have echoed it.
func (s *sudoRun) clean(stderr []byte, ready bool) []byte {
	if s.prompt != nil {
		stderr = bytes.ReplaceAll(stderr, s.prompt, nil)
	}
	if ready {
		stderr = bytes.Replace(stderr, s.ready, nil, 1)
	}
	// Short passwords would mangle ordinary output and are unlikely to be
	// echoed verbatim anyway; sudo -S itself never echoes.
	if len(s.password) >= 4 {
		stderr = bytes.ReplaceAll(stderr, []byte(s.password), []byte("[redacted]"))
	}
	return stderr
}

// classifyFailure decides whether a failed run was sudo refusing rather
// than the script failing. nil means "the script failed". out is what was
// printed after the login marker: before the ready marker, that is only
// env's or sudo's. sudo runs under LC_ALL=C, so its messages are English;
// a refusal it words otherwise (a sudo that ignores the locale) is still a
// refusal, recognised by the missing ready marker.
func (s *sudoRun) classifyFailure(status int, out []byte, ready bool) error {
	if ready {
		return nil // sudo started the script; the failure is the script's
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Sorry, try again") {
			lines = append(lines, l)
		}
	}
	// The refusal comes last (a first-time lecture may come before it).
	msg := strings.Join(lines[max(0, len(lines)-3):], "; ")
	low := strings.ToLower(msg)
	switch {
	case (status == 127 || status == 126) && !strings.Contains(low, "sudo:"):
		// env (or the shell) could not find or run sudo; sudo itself
		// exits 1 on every refusal.
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", status)
		}
		return fmt.Errorf("%w: %s", ErrSudoMissing, msg)
	case strings.Contains(low, "incorrect password"):
		return fmt.Errorf("%w: %s", ErrSudoPassword, msg)
	case strings.Contains(low, "must have a tty"):
		return fmt.Errorf("%w: %s", ErrSudoTTY, msg)
	case strings.Contains(low, "password is required"),
		strings.Contains(low, "terminal is required"):
		return fmt.Errorf("%w: %s", ErrSudoNeedsPassword, msg)
	case strings.Contains(low, "not in the sudoers"),
		strings.Contains(low, "not allowed"),
		strings.Contains(low, "may not run sudo"):
		return fmt.Errorf("%w: %s", ErrSudoNotAllowed, msg)
	}
	// The wrapper's ready marker is the first thing after sudo: exiting
	// without it means sudo itself failed (e.g. a refusal worded in a way
	// the cases above do not know, or a sudo that died).
	if msg == "" {
		msg = fmt.Sprintf("sudo exited with status %d before starting the script", status)
	}
	return fmt.Errorf("%w: %s", ErrSudoRefused, msg)
}

// sudoDialogue drives `sudo -S`: password on the first prompt, the caller's
// stdin after the ready marker. A second prompt means the password was
// wrong; we abort rather than let sudo count more failures (and lock the
// account). sudo gets Timeout to prompt or start, counted from the moment
// the login shell started our command (a slow login file is
// command_timeout's business, not sudo's). Returns the session's Wait
// result, or a terminal error.
func (h *Host) sudoDialogue(ctx context.Context, x *execution) (waitErr, fatal error) {
	var sudoTimer <-chan time.Time // armed once the login shell ran our command
	timer := time.NewTimer(h.r.Timeout)
	timer.Stop()
	defer timer.Stop()
	prompts := 0
	for {
		select {
		case ev := <-x.errw.events:
			switch ev {
			case evLogin:
				timer.Reset(h.r.Timeout)
				sudoTimer = timer.C
			case evPrompt:
				prompts++
				if prompts > 1 {
					abort(x.sess)
					return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: ErrSudoPassword}
				}
				if _, err := io.WriteString(x.in, h.r.SudoPassword+"\n"); err != nil {
					abort(x.sess)
					return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: wrap(ErrConnectionLost, err)}
				}
				timer.Reset(h.r.Timeout) // give sudo (PAM) the full timeout to answer
			case evReady:
				timer.Stop()
				return h.await(ctx, x)
			}
		case err := <-x.waitc:
			return err, nil // exited before ready: finish() classifies it
		case <-sudoTimer:
			abort(x.sess)
			return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: fmt.Errorf("%w: no prompt or start marker within %s", ErrSudoTimeout, h.r.Timeout)}
		case <-x.deadline:
			return nil, h.stop(x, h.timeoutErr(x))
		case <-x.budget.over:
			return nil, h.stop(x, errOutputLimit())
		case <-ctx.Done():
			abort(x.sess)
			return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: ctx.Err()}
		}
	}
}
