package sshclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
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

// command builds the exec line. The password is never part of it: it goes
// to sudo on stdin, and only after sudo printed our prompt.
func (s *sudoRun) command(script string) string {
	if s.password == "" {
		return "sudo -n -- sh -c 'echo " + sudoReady + " >&2; " + script + "'"
	}
	return "sudo -S -p '" + string(s.prompt) + "' -- sh -c 'echo " + sudoReady + " >&2; " + script + "'"
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
// than the script failing. nil means "the script failed".
func (s *sudoRun) classifyFailure(status int, stderr []byte, ready bool) error {
	if ready {
		return nil // sudo started the script; the failure is the script's
	}
	var lines []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		low := strings.ToLower(l)
		if strings.HasPrefix(low, "sudo:") || (strings.Contains(low, "sudo") && strings.Contains(low, "not found")) {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, "; ")
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "incorrect password"):
		return fmt.Errorf("%w: %s", ErrSudoPassword, msg)
	case strings.Contains(low, "password is required"),
		strings.Contains(low, "terminal is required"),
		strings.Contains(low, "not in the sudoers"),
		strings.Contains(low, "not allowed"),
		strings.Contains(low, "may not run sudo"),
		strings.Contains(low, "must have a tty"),
		strings.Contains(low, "not found"):
		return fmt.Errorf("%w: %s", ErrSudoRefused, msg)
	}
	// The shell's ready marker is the first thing after sudo: exiting
	// without it means sudo itself failed (e.g. a refusal in a language
	// the cases above do not know, or a sudo that died).
	if msg == "" {
		msg = fmt.Sprintf("sudo exited with status %d before starting the script", status)
	}
	return fmt.Errorf("%w: %s", ErrSudoRefused, msg)
}

type sudoEvent int

const (
	evPrompt sudoEvent = iota
	evReady
)

// stderrWatcher buffers stderr and, for sudo -S runs, reports the prompt
// and ready markers as they arrive (they may be split across writes).
type stderrWatcher struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	sudo     *sudoRun
	scanFrom int
	prompts  int
	ready    bool
	events   chan sudoEvent
}

func newStderrWatcher(s *sudoRun) *stderrWatcher {
	w := &stderrWatcher{events: make(chan sudoEvent, 3)}
	if s != nil {
		w.sudo = s
	}
	return w
}

func (w *stderrWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	// Stop scanning once the script owns stderr (after ready), or after the
	// second prompt (the run is being aborted): the events buffer of 3 is
	// therefore never exceeded and sends never block.
	for w.sudo != nil && !w.ready && w.prompts < 2 {
		data := w.buf.Bytes()[w.scanFrom:]
		i := -1 // sudo -n: no prompt to look for
		if w.sudo.prompt != nil {
			i = bytes.Index(data, w.sudo.prompt)
		}
		j := bytes.Index(data, w.sudo.ready)
		switch {
		case i >= 0 && (j < 0 || i < j):
			w.prompts++
			w.scanFrom += i + len(w.sudo.prompt)
			w.events <- evPrompt
		case j >= 0:
			w.ready = true
			w.scanFrom += j + len(w.sudo.ready)
			w.events <- evReady
		default:
			// Keep a tail in case a marker is split across writes.
			keep := max(len(w.sudo.prompt), len(w.sudo.ready)) - 1
			w.scanFrom = max(w.scanFrom, w.buf.Len()-keep)
			return len(p), nil
		}
	}
	return len(p), nil
}

func (w *stderrWatcher) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

func (w *stderrWatcher) readySeen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// sudoDialogue drives `sudo -S`: password on the first prompt, the caller's
// stdin after the ready marker. A second prompt means the password was
// wrong; we abort rather than let sudo count more failures (and lock the
// account). Returns the session's Wait result, or a terminal error.
func (h *Host) sudoDialogue(ctx context.Context, sess *ssh.Session, in io.WriteCloser, w *stderrWatcher, stdin []byte, waitc <-chan error) (waitErr, fatal error) {
	timer := time.NewTimer(h.r.Timeout)
	defer timer.Stop()
	prompts := 0
	for {
		select {
		case ev := <-w.events:
			switch ev {
			case evPrompt:
				prompts++
				if prompts > 1 {
					abort(sess)
					return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: ErrSudoPassword}
				}
				if _, err := io.WriteString(in, h.r.SudoPassword+"\n"); err != nil {
					abort(sess)
					return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: wrap(ErrConnectionLost, err)}
				}
				timer.Reset(h.r.Timeout) // give sudo (PAM) the full timeout to answer
			case evReady:
				timer.Stop()
				go writeStdin(in, stdin)
				select {
				case err := <-waitc:
					return err, nil
				case <-ctx.Done():
					abort(sess)
					return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: ctx.Err()}
				}
			}
		case err := <-waitc:
			return err, nil // exited before ready: finish() classifies it
		case <-timer.C:
			abort(sess)
			return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: fmt.Errorf("%w: no prompt or start marker within %s", ErrSudoTimeout, h.r.Timeout)}
		case <-ctx.Done():
			abort(sess)
			return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: ctx.Err()}
		}
	}
}
