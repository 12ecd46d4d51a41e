package sshclient

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// dial opens TCP, then runs the SSH handshake under a conn deadline so a
// server that accepts and never speaks cannot hang us past r.Timeout
// (x/crypto's ClientConfig.Timeout only covers the TCP connect).
func (p *Pool) dial(ctx context.Context, r *resolved) (*liveConn, error) {
	p.dials.Add(1)
	check, err := newHostKeyCheck(r)
	if err != nil {
		return nil, err
	}
	p.log(ctx, "ssh connecting", map[string]any{"host": r.addr, "user": r.User})

	dctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	d := net.Dialer{Timeout: r.Timeout, KeepAlive: DefaultKeepalive}
	nc, err := d.DialContext(dctx, "tcp", r.addr)
	if err != nil {
		return nil, &Error{Host: r.addr, Op: "connect", Err: wrap(ErrUnreachable, err)}
	}

	auth := newAuthSetup(r, func(msg string, fields map[string]any) {
		fields["host"] = r.addr
		p.log(ctx, msg, fields)
	})
	defer auth.close() // agent signing is only needed during the handshake

	deadline := time.Now().Add(r.Timeout)
	nc.SetDeadline(deadline)
	cc, chans, reqs, err := ssh.NewClientConn(nc, r.addr, &ssh.ClientConfig{
		User:              r.User,
		Auth:              auth.methods,
		HostKeyCallback:   check.callback,
		HostKeyAlgorithms: check.algos,
		Timeout:           r.Timeout,
	})
	if err != nil {
		return nil, classifyHandshake(r, check, err, !time.Now().Before(deadline))
	}
	nc.SetDeadline(time.Time{})
	p.handshakes.Add(1)

	fields := map[string]any{"host": r.addr, "user": r.User, "host_key_fingerprint": ssh.FingerprintSHA256(check.presented)}
	if r.InsecureIgnoreHostKey {
		p.log(ctx, "ssh host key NOT verified (insecure_ignore_host_key)", fields)
	}
	p.log(ctx, "ssh connected", fields)

	c := &liveConn{client: ssh.NewClient(cc, chans, reqs), done: make(chan struct{})}
	go func() {
		c.client.Wait()
		close(c.done)
	}()
	return c, nil
}

// classifyHandshake maps a failed handshake onto one sentinel. The host key
// verdict is recorded by our callback, so it is checked first and does not
// depend on x/crypto's error strings.
func classifyHandshake(r *resolved, check *hostKeyCheck, err error, pastDeadline bool) error {
	switch {
	case check.rejected != nil:
		return &Error{Host: r.addr, Op: "hostkey", Err: check.rejected}
	case pastDeadline || isTimeout(err):
		return &Error{Host: r.addr, Op: "handshake", Err: wrap(ErrHandshakeTimeout, err)}
	case check.accepted && !isConnLost(err):
		// Key exchange finished and the server is still talking to us:
		// what failed is authentication.
		return &Error{Host: r.addr, Op: "auth", Err: wrap(ErrAuthFailed, err)}
	case isConnLost(err):
		return &Error{Host: r.addr, Op: "handshake", Err: wrap(ErrConnectionLost, err)}
	default:
		return &Error{Host: r.addr, Op: "handshake", Err: err}
	}
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
