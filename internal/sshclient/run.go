package sshclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Run executes script on the host with /bin/sh and returns its output,
// whatever the login user's shell (see commandLine). script must be a
// constant written by the caller's programmers; anything derived from
// user input goes on stdin, never into script.
//
// With privileged && Config.Sudo the script runs through sudo. A non-zero
// exit returns *Error wrapping *ExitError; stdout/stderr are returned too.
// Problems of the host rather than of the script have their own errors:
// ErrLoginShell (the login shell did not run the command), ErrInputConsumed
// (a login file read the command's stdin), the sudo errors, and
// ErrCommandTimeout / ErrOutputLimit, after which the remote command is
// stopped (see abort).
//
// Every wait honours ctx and Config.CommandTimeout, which bounds the
// command from opening its session to its exit.
//
// A connection found dead before the command was sent is redialed once; once
// the exec request is sent, the script is never retried.
func (h *Host) Run(ctx context.Context, script string, stdin []byte, privileged bool) (stdout, stderr []byte, err error) {
	if strings.ContainsRune(script, 0) {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: ErrBadScript}
	}
	var sudo *sudoRun
	if privileged && h.r.Sudo {
		sudo = newSudoRun(h.r.SudoPassword)
	}
	cmd := commandLine(script, sudo)

	if err := h.conn.sem.acquire(ctx); err != nil {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "session", Err: err}
	}
	defer h.conn.release()

	for attempt := 0; ; attempt++ {
		c, err := h.conn.get(ctx, h.r)
		if err != nil {
			return nil, nil, err
		}
		timer := time.NewTimer(h.r.CommandTimeout)
		sess, err := openSession(ctx, c, timer.C)
		if err != nil {
			timer.Stop()
			switch {
			case errors.Is(err, ErrCommandTimeout) || ctx.Err() != nil:
				return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "session", Err: h.sessionTimeout(err)}
			case isConnLost(err) || c.dead():
				h.conn.drop(ctx, c, "session open failed: "+err.Error())
				if attempt == 0 {
					continue // nothing was sent yet: safe to redial once
				}
				return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "session", Err: wrap(ErrConnectionLost, err)}
			}
			// e.g. the server refused the channel (its MaxSessions).
			return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "session", Err: err}
		}
		h.pool.sessions.Add(1)
		defer timer.Stop()
		return h.runSession(ctx, c, sess, timer.C, cmd, stdin, sudo)
	}
}

// openSession opens a session channel, giving up when ctx ends or the
// command's time is up (NewSession itself cannot be interrupted; a channel
// it opens late is closed).
func openSession(ctx context.Context, c *liveConn, deadline <-chan time.Time) (*ssh.Session, error) {
	type result struct {
		sess *ssh.Session
		err  error
	}
	done := make(chan result, 1)
	go func() {
		s, err := c.client.NewSession()
		done <- result{s, err}
	}()
	late := func() {
		if r := <-done; r.sess != nil {
			_ = r.sess.Close() // nobody wants it any more
		}
	}
	select {
	case r := <-done:
		return r.sess, r.err
	case <-deadline:
		go late()
		return nil, ErrCommandTimeout
	case <-ctx.Done():
		go late()
		return nil, ctx.Err()
	}
}

func (h *Host) sessionTimeout(err error) error {
	if errors.Is(err, ErrCommandTimeout) {
		return fmt.Errorf("%w: the host did not open a session within command_timeout (%s)", ErrCommandTimeout, h.r.CommandTimeout)
	}
	return err
}

// execution is one running command.
type execution struct {
	sess     *ssh.Session
	in       io.WriteCloser
	out      *cappedBuffer
	errw     *stderrWatcher
	budget   *outputBudget
	waitc    chan error
	deadline <-chan time.Time // command_timeout
	stdin    []byte           // what the script reads (our marker line first)
}

func (h *Host) runSession(ctx context.Context, c *liveConn, sess *ssh.Session, deadline <-chan time.Time, cmd string, stdin []byte, sudo *sudoRun) ([]byte, []byte, error) {
	// The session's outcome comes from Wait; Close after it typically
	// reports io.EOF (the channel is already closed), which means nothing.
	defer func() { _ = sess.Close() }()
	budget := newOutputBudget()
	x := &execution{sess: sess, out: &cappedBuffer{budget: budget}, errw: newStderrWatcher(sudo, budget), budget: budget,
		waitc: make(chan error, 1), deadline: deadline, stdin: stdinFor(stdin)}
	sess.Stdout = x.out
	sess.Stderr = x.errw
	in, err := sess.StdinPipe()
	if err != nil {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: err}
	}
	x.in = in
	// From here on the command may be running: no retries.
	if err := h.start(ctx, x, c, cmd); err != nil {
		return nil, nil, err
	}
	go func() { x.waitc <- sess.Wait() }()

	var waitErr, fatal error
	if sudo != nil && sudo.password != "" {
		waitErr, fatal = h.sudoDialogue(ctx, x)
	} else {
		waitErr, fatal = h.await(ctx, x)
	}
	if fatal != nil {
		if x.budget.exceeded() {
			// Megabytes of whatever the host sent: the error says what
			// happened, and copying them again would double the memory.
			return nil, nil, fatal
		}
		stderr, _ := x.errw.result()
		if sudo != nil {
			stderr = sudo.clean(stderr, x.errw.readySeen())
		}
		return nil, stderr, fatal
	}
	// Wait has returned, so the output copiers are done with the buffers.
	return h.finish(c, x.out.bytes(), x.errw, sudo, waitErr)
}

// start sends the exec request. Like NewSession, Start cannot be
// interrupted: on ctx or the deadline the channel is closed under it.
func (h *Host) start(ctx context.Context, x *execution, c *liveConn, cmd string) error {
	done := make(chan error, 1)
	go func() { done <- x.sess.Start(cmd) }()
	var err error
	select {
	case err = <-done:
	case <-x.deadline:
		return h.stop(x, fmt.Errorf("%w: the host did not start the command within command_timeout (%s)", ErrCommandTimeout, h.r.CommandTimeout))
	case <-ctx.Done():
		return h.stop(x, ctx.Err())
	}
	if err != nil {
		if isConnLost(err) || c.dead() {
			err = wrap(ErrConnectionLost, err)
		}
		return &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: err}
	}
	return nil
}

// await feeds stdin and waits for the command to end, for ctx to end, for
// command_timeout or for too much output, whichever comes first.
func (h *Host) await(ctx context.Context, x *execution) (waitErr, fatal error) {
	go writeStdin(x.in, x.stdin)
	select {
	case err := <-x.waitc:
		if x.budget.exceeded() {
			// It ended on its own, but its output was cut: never hand
			// back a truncated answer.
			return nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: errOutputLimit()}
		}
		return err, nil
	case <-x.deadline:
		return nil, h.stop(x, h.timeoutErr(x))
	case <-x.budget.over:
		return nil, h.stop(x, errOutputLimit())
	case <-ctx.Done():
		return nil, h.stop(x, ctx.Err())
	}
}

// stop aborts the running command and returns cause as its error.
func (h *Host) stop(x *execution, cause error) error {
	abort(x.sess)
	return &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: cause}
}

// timeoutErr says how far the command had got when command_timeout ran
// out: whether the login shell had even started it.
func (h *Host) timeoutErr(x *execution) error {
	if !x.errw.loginSeen() {
		return fmt.Errorf("%w: the login shell had not started the command after command_timeout (%s): a login file (such as ~/.bashrc) hangs or waits for input",
			ErrCommandTimeout, h.r.CommandTimeout)
	}
	return fmt.Errorf("%w: still running after command_timeout (%s); it was stopped", ErrCommandTimeout, h.r.CommandTimeout)
}

// finish turns the session result into (stdout, stderr, error).
func (h *Host) finish(c *liveConn, stdout []byte, errw *stderrWatcher, sudo *sudoRun, waitErr error) ([]byte, []byte, error) {
	login, ready := errw.loginSeen(), errw.readySeen()
	stderr, lost := errw.result()
	if sudo != nil {
		stderr = sudo.clean(stderr, ready)
	}
	var exitErr *ssh.ExitError
	switch {
	case waitErr == nil && login:
		return stdout, stderr, nil
	case waitErr == nil:
		// Exit status 0 without our first line: something other than a
		// shell (e.g. /bin/true) took the command. What it printed is in
		// the error, not repeated as the command's stderr.
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: h.loginShellErr(0, stdout, stderr)}
	case !errors.As(waitErr, &exitErr):
		// Typically ExitMissingError: the channel closed without a status,
		// which is what a dying connection looks like from here.
		if isConnLost(waitErr) || !c.alive(h.r.Timeout) {
			waitErr = wrap(ErrConnectionLost, waitErr)
		}
		return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: waitErr}
	}
	status := exitErr.ExitStatus()
	if !login {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: h.loginShellErr(status, stdout, stderr)}
	}
	if sudo != nil {
		if err := sudo.classifyFailure(status, sudo.clean(errw.sinceLogin(), false), ready); err != nil {
			// sudo's words are in the error; stderr keeps what came
			// before (login files), which the error does not repeat.
			return stdout, sudo.clean(errw.beforeLogin(), false), &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: err}
		}
	}
	if lost {
		return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: fmt.Errorf("%w: the first line of stdin was not there when the command started", ErrInputConsumed)}
	}
	return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: &ExitError{Status: status, Stderr: strings.TrimSpace(string(stderr))}}
}

// loginShellErr reports a login shell that did not run the command, with
// what it printed (nologin prints its message on stdout).
func (h *Host) loginShellErr(status int, stdout, stderr []byte) error {
	s := strings.TrimSpace(strings.TrimSpace(string(stdout)) + "\n" + strings.TrimSpace(string(stderr)))
	if s == "" {
		return fmt.Errorf("%w: the login shell of user %s exited with status %d without running it, and printed nothing", ErrLoginShell, h.r.User, status)
	}
	const maxOutput = 512
	if len(s) > maxOutput {
		s = s[:maxOutput] + "..."
	}
	return fmt.Errorf("%w: the login shell of user %s exited with status %d without running it: %s", ErrLoginShell, h.r.User, status, s)
}

func writeStdin(w io.WriteCloser, data []byte) {
	if len(data) > 0 {
		_, _ = w.Write(data) // fails only if the session ended; Wait reports that
	}
	_ = w.Close() // EOF, so scripts reading stdin terminate; a failure means the session ended, as above
}

// abort stops a remote command. A signal request reaches the command's
// whole process group (sshd's killpg) where sshd honours it: OpenSSH 7.9
// and later, for a login other than root. Closing the channel is what
// stops it everywhere else: the wrapper's keepalive write then fails and
// it kills its process group (see commandLine). A login file that hangs
// before our command starts, on a root login, is out of reach of both.
func abort(sess *ssh.Session) {
	// Both are best effort: the caller reports why it gave up, and a
	// server that rejects the signal still loses the channel.
	_ = sess.Signal(ssh.SIGKILL)
	_ = sess.Close()
}
