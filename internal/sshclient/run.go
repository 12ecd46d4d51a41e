package sshclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Run executes script on the host as `sh -c '<script>'` and returns its
// output. script must be a constant written by the caller's programmers:
// it is placed between single quotes, so it may not contain one. Anything
// derived from user input goes on stdin, never into script.
//
// With privileged && Config.Sudo the script runs through sudo. A non-zero
// exit returns *Error wrapping *ExitError; stdout/stderr are returned too.
//
// A connection found dead before the command was sent is redialed once; once
// the exec request is sent, the script is never retried.
func (h *Host) Run(ctx context.Context, script string, stdin []byte, privileged bool) (stdout, stderr []byte, err error) {
	if strings.ContainsAny(script, "'\x00") {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: ErrBadScript}
	}
	var sudo *sudoRun
	cmd := "sh -c '" + script + "'"
	if privileged && h.r.Sudo {
		sudo = newSudoRun(h.r.SudoPassword)
		cmd = sudo.command(script)
	}

	if err := h.conn.sem.acquire(ctx); err != nil {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "session", Err: err}
	}
	defer h.conn.sem.release()

	for attempt := 0; ; attempt++ {
		c, err := h.conn.get(ctx, h.r)
		if err != nil {
			return nil, nil, err
		}
		sess, err := c.client.NewSession()
		if err != nil {
			if isConnLost(err) || c.dead() {
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
		return h.runSession(ctx, c, sess, cmd, stdin, sudo)
	}
}

func (h *Host) runSession(ctx context.Context, c *liveConn, sess *ssh.Session, cmd string, stdin []byte, sudo *sudoRun) ([]byte, []byte, error) {
	// The session's outcome comes from Wait; Close after it typically
	// reports io.EOF (the channel is already closed), which means nothing.
	defer func() { _ = sess.Close() }()
	var out bytes.Buffer
	errw := newStderrWatcher(sudo)
	sess.Stdout = &out
	sess.Stderr = errw
	in, err := sess.StdinPipe()
	if err != nil {
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: err}
	}
	// From here on the command may be running: no retries.
	if err := sess.Start(cmd); err != nil {
		if isConnLost(err) || c.dead() {
			err = wrap(ErrConnectionLost, err)
		}
		return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: err}
	}
	waitc := make(chan error, 1)
	go func() { waitc <- sess.Wait() }()

	var waitErr error
	if sudo != nil && sudo.password != "" {
		var serr error
		waitErr, serr = h.sudoDialogue(ctx, sess, in, errw, stdin, waitc)
		if serr != nil {
			return nil, sudo.clean(errw.bytes(), errw.readySeen()), serr
		}
	} else {
		go writeStdin(in, stdin)
		select {
		case waitErr = <-waitc:
		case <-ctx.Done():
			abort(sess)
			return nil, nil, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: ctx.Err()}
		}
	}
	// Wait has returned, so the output copiers are done with the buffers.
	return h.finish(c, out.Bytes(), errw, sudo, waitErr)
}

// finish turns the session result into (stdout, stderr, error).
func (h *Host) finish(c *liveConn, stdout []byte, errw *stderrWatcher, sudo *sudoRun, waitErr error) ([]byte, []byte, error) {
	ready := errw.readySeen()
	stderr := errw.bytes()
	if sudo != nil {
		stderr = sudo.clean(stderr, ready)
	}
	if waitErr == nil {
		return stdout, stderr, nil
	}
	var exitErr *ssh.ExitError
	if !errors.As(waitErr, &exitErr) {
		// Typically ExitMissingError: the channel closed without a status,
		// which is what a dying connection looks like from here.
		if isConnLost(waitErr) || !c.alive(h.r.Timeout) {
			waitErr = wrap(ErrConnectionLost, waitErr)
		}
		return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: waitErr}
	}
	status := exitErr.ExitStatus()
	if sudo != nil {
		if err := sudo.classifyFailure(status, stderr, ready); err != nil {
			return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "sudo", Err: err}
		}
	}
	return stdout, stderr, &Error{Host: h.r.addr, Via: h.via(), Op: "exec", Err: &ExitError{Status: status, Stderr: strings.TrimSpace(string(stderr))}}
}

func writeStdin(w io.WriteCloser, data []byte) {
	if len(data) > 0 {
		_, _ = w.Write(data) // fails only if the session ended; Wait reports that
	}
	_ = w.Close() // EOF, so scripts reading stdin terminate; a failure means the session ended, as above
}

// abort stops a remote command on cancellation. SIGKILL needs OpenSSH >= 7.9;
// closing the channel is the fallback (the command then gets SIGPIPE/EOF).
func abort(sess *ssh.Session) {
	// Both are best effort: the caller reports the cancellation, and a
	// server that rejects the signal still loses the channel.
	_ = sess.Signal(ssh.SIGKILL)
	_ = sess.Close()
}
