package sshclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// dial opens the transport (TCP, or a channel through the previous hop),
// then runs the SSH handshake under a timer that closes the transport, so a
// server that accepts and never speaks cannot hang us past r.Timeout
// (x/crypto's ClientConfig.Timeout only covers the TCP connect, and
// channels through a bastion support no deadlines).
func (p *Pool) dial(ctx context.Context, e *connEntry, r *resolved) (*liveConn, error) {
	p.dials.Add(1)
	check, err := newHostKeyCheck(r, &p.knownHosts)
	if err != nil {
		return nil, r.hopErr(err)
	}
	fields := map[string]any{"host": r.addr, "user": r.User}
	if len(r.jumps) > 0 {
		fields["via"] = r.route()
	}
	p.log(ctx, "ssh connecting", fields)

	nc, err := e.open(ctx, r)
	if err != nil {
		return nil, err
	}

	auth := newAuthSetup(r, func(msg string, fields map[string]any) {
		fields["host"] = r.addr
		p.log(ctx, msg, fields)
	})
	defer auth.close() // agent signing is only needed during the handshake

	var timedOut atomic.Bool
	timer := time.AfterFunc(r.Timeout, func() {
		timedOut.Store(true)
		_ = nc.Close() // aborts the handshake, which then reports the timeout
	})
	cc, chans, reqs, err := ssh.NewClientConn(nc, r.addr, &ssh.ClientConfig{
		User:              r.User,
		Auth:              auth.methods,
		HostKeyCallback:   check.callback,
		HostKeyAlgorithms: check.algos,
		Timeout:           r.Timeout,
	})
	if !timer.Stop() && err == nil {
		// The timer fired as the handshake completed: the transport is gone.
		_ = cc.Close()
		err = os.ErrDeadlineExceeded
	}
	if err != nil {
		_ = nc.Close() // best effort: the handshake error is what matters
		return nil, classifyHandshake(r, check, auth, err, timedOut.Load())
	}
	p.handshakes.Add(1)

	fields = map[string]any{"host": r.addr, "user": r.User, "host_key_fingerprint": ssh.FingerprintSHA256(check.presented)}
	if len(r.jumps) > 0 {
		fields["via"] = r.route()
	}
	if r.InsecureIgnoreHostKey {
		p.log(ctx, "ssh host key NOT verified (insecure_ignore_host_key)", fields)
	}
	p.log(ctx, "ssh connected", fields)

	c := &liveConn{client: ssh.NewClient(cc, chans, reqs), done: make(chan struct{}), hostKey: check.presented}
	go func() {
		// Wait returns when the connection ends, for whatever reason; done
		// only signals that it has.
		_ = c.client.Wait()
		close(c.done)
	}()
	return c, nil
}

// open returns the byte stream the handshake runs over: a TCP connection,
// or a direct-tcpip channel through the previous hop's (pooled) connection.
func (e *connEntry) open(ctx context.Context, r *resolved) (net.Conn, error) {
	if e.via == nil {
		dctx, cancel := context.WithTimeout(ctx, r.Timeout)
		defer cancel()
		d := net.Dialer{Timeout: r.Timeout, KeepAlive: DefaultKeepalive}
		nc, err := d.DialContext(dctx, "tcp", r.addr)
		if err != nil {
			return nil, &Error{Host: r.addr, Op: "connect", Err: dialFailure(wrap(ErrUnreachable, err))}
		}
		return nc, nil
	}
	hop := r.via()
	for attempt := 0; ; attempt++ {
		up, err := e.via.get(ctx, hop)
		if err != nil {
			return nil, throughBastion(r.addr, err)
		}
		dctx, cancel := context.WithTimeout(ctx, r.Timeout)
		nc, err := up.client.DialContext(dctx, "tcp", r.addr)
		cancel()
		if err == nil {
			e.pool.forwards.Add(1)
			return nc, nil
		}
		if isConnLost(err) || up.dead() {
			// The bastion connection died under us; nothing was sent to
			// the target yet, so one fresh bastion connection is safe.
			e.via.drop(ctx, up, "opening a channel failed: "+err.Error())
			if attempt == 0 {
				continue
			}
			return nil, &Error{Host: r.addr, Op: "connect", Bastion: hop.addr, Err: wrap(ErrConnectionLost, err)}
		}
		return nil, &Error{Host: r.addr, Op: "connect", Via: hop.addr, Err: forwardRetry(err, wrap(ErrUnreachable, forwardFailure(hop.addr, r.addr, r.Timeout, err)))}
	}
}

// forwardFailure explains why a bastion did not open a connection.
func forwardFailure(bastion, target string, timeout time.Duration, err error) error {
	var oce *ssh.OpenChannelError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("bastion %s did not connect to %s within %s", bastion, target, timeout)
	case errors.As(err, &oce) && oce.Reason == ssh.Prohibited:
		return fmt.Errorf("bastion %s refused to forward to %s (%s): TCP forwarding is disabled there (AllowTcpForwarding, PermitOpen)", bastion, target, oce.Message)
	case errors.As(err, &oce):
		// OpenSSH does not say why ("open failed"); its log does.
		return fmt.Errorf("bastion %s could not connect to %s (%s: %s)", bastion, target, oce.Reason, oce.Message)
	}
	return fmt.Errorf("bastion %s could not connect to %s: %w", bastion, target, err)
}

// forwardRetry marks a bastion's failure to reach the target as transient
// (the target may still be booting) unless the bastion forbids forwarding.
func forwardRetry(cause, err error) error {
	var oce *ssh.OpenChannelError
	if errors.As(cause, &oce) && oce.Reason == ssh.Prohibited {
		return err
	}
	return transient(err)
}

// throughBastion re-attributes a bastion's own failure to the target the
// caller asked for, naming the hop that failed.
func throughBastion(target string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Host: target, Op: "connect", Err: err}
	}
	bastion := e.Bastion
	if bastion == "" {
		bastion = e.Host
	}
	return &Error{Host: target, Op: e.Op, Bastion: bastion, Err: e.Err}
}

// hopErr marks an error of r's own connection with the bastion it went
// through (if any).
func (r *resolved) hopErr(err error) error {
	var e *Error
	if v := r.via(); v != nil && errors.As(err, &e) && e.Bastion == "" && e.Via == "" {
		cp := *e
		cp.Via = v.addr
		return &cp
	}
	return err
}

// classifyHandshake maps a failed handshake onto one sentinel. The host key
// verdict is recorded by our callback, so it is checked first and does not
// depend on x/crypto's error strings.
func classifyHandshake(r *resolved, check *hostKeyCheck, auth *authSetup, err error, timedOut bool) error {
	var out *Error
	switch {
	case check.rejected != nil:
		out = &Error{Host: r.addr, Op: "hostkey", Err: check.rejected}
	case timedOut || isTimeout(err):
		out = &Error{Host: r.addr, Op: "handshake", Err: transient(wrap(ErrHandshakeTimeout, err))}
	case check.accepted && !isConnLost(err):
		// Key exchange finished and the server is still talking to us:
		// what failed is authentication.
		if agentErr := auth.agentProblem(); agentErr != nil {
			err = fmt.Errorf("%w (agent: %v)", err, agentErr)
		}
		out = &Error{Host: r.addr, Op: "auth", Err: wrap(ErrAuthFailed, err)}
	case isConnLost(err) && check.presented == nil:
		// Closed before the host showed its key: nothing is listening
		// behind a port forwarder yet, or sshd is still starting.
		out = &Error{Host: r.addr, Op: "handshake", Err: transient(wrap(ErrConnectionLost, err))}
	case isConnLost(err):
		out = &Error{Host: r.addr, Op: "handshake", Err: wrap(ErrConnectionLost, err)}
	default:
		out = &Error{Host: r.addr, Op: "handshake", Err: err}
	}
	return r.hopErr(out)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// isConnLost reports errors that mean the transport is gone.
func isConnLost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}
