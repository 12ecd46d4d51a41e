package sshclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Waiting for a host that is not up yet (Config.WaitForSSH): a booting VM
// refuses connections, does not route, or accepts on a forwarded port and
// closes before its sshd sends the banner. Those failures are retried with
// backoff until WaitForSSH has passed since the first attempt; everything
// that means the host answered and said no (authentication, host keys,
// configuration, a bastion that forbids forwarding) fails at once.

// Backoff bounds: the first retry waits backoffFirst, each later one twice
// as long as the one before, at most backoffMax.
const (
	backoffFirst = time.Second
	backoffMax   = 10 * time.Second
)

// MsgWaiting is the log message of each retry while waiting for SSH; the
// provider logs it at INFO level (the other events are DEBUG).
const MsgWaiting = "ssh not reachable yet, waiting"

// backoff is the pause before retry number n (n >= 1): 1s, 2s, 4s, 8s,
// then 10s.
func backoff(n int) time.Duration {
	d := backoffFirst
	for i := 1; i < n; i++ {
		d *= 2
		if d >= backoffMax {
			return backoffMax
		}
	}
	return d
}

// transientError marks a failure that a host which is still booting
// produces: a retry may succeed.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(err error) error { return &transientError{err: err} }

// Retryable reports whether err is a failure worth retrying while waiting
// for a host to come up: connection refused, no route, a connect or
// handshake timeout, a reset, or a connection closed before the host
// presented its key (a port forwarder whose backend is not listening
// yet). Authentication failures, host key problems, configuration errors,
// sudo refusals and failed commands are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var hk *HostKeyError
	if errors.As(err, &hk) || errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrConfig) ||
		errors.Is(err, ErrPoolClosed) || errors.Is(err, ErrSudoRefused) {
		return false
	}
	var t *transientError
	return errors.As(err, &t)
}

// dialFailure classifies a failed TCP connect: every failure is transient
// except a name that does not resolve (a typo should not wait for minutes).
func dialFailure(err error) error {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return err
	}
	return transient(err)
}

// dialWaiting dials like dial, retrying retryable failures until
// r.WaitForSSH has passed since the first attempt. A retry is only started
// before that deadline, and its TCP connect is bounded by it, so a host
// that never answers fails shortly after WaitForSSH, not a whole Timeout
// later. The error of the last attempt is kept, with how long it waited.
func (p *Pool) dialWaiting(ctx context.Context, e *connEntry, r *resolved) (*liveConn, error) {
	return p.dialWaitingWith(ctx, e, r, time.Now, sleepCtx)
}

func (p *Pool) dialWaitingWith(ctx context.Context, e *connEntry, r *resolved, now func() time.Time, sleep func(context.Context, time.Duration) error) (*liveConn, error) {
	if r.WaitForSSH <= 0 {
		return p.dial(ctx, e, r)
	}
	start := now()
	deadline := start.Add(r.WaitForSSH)
	for attempt := 1; ; attempt++ {
		// Bound the connect by the deadline (the last attempt gets at
		// least a second), not the handshake: a host that accepted gets
		// its full Timeout to log us in.
		bound := deadline.Sub(now())
		if bound < time.Second {
			bound = time.Second
		}
		actx, cancel := context.WithTimeout(ctx, bound)
		c, err := p.dial(actx, e, r)
		cancel()
		if err == nil || p.closed.Load() || (!Retryable(err) && !errors.Is(err, context.DeadlineExceeded)) {
			return c, err
		}
		pause := backoff(attempt)
		left := deadline.Sub(now())
		if left <= 0 {
			return nil, gaveUp(err, now().Sub(start), attempt)
		}
		if pause > left {
			pause = left
		}
		p.log(ctx, MsgWaiting, map[string]any{
			"host": r.addr, "attempt": attempt, "retry_in": pause.String(),
			"waited": now().Sub(start).Round(time.Millisecond).String(), "wait_for_ssh": r.WaitForSSH.String(),
			"error": err.Error(),
		})
		if serr := sleep(ctx, pause); serr != nil {
			return nil, gaveUp(err, now().Sub(start), attempt)
		}
	}
}

// gaveUp is the error after waiting: the last attempt's, with the wait.
func gaveUp(last error, waited time.Duration, attempts int) error {
	var e *Error
	if !errors.As(last, &e) {
		return fmt.Errorf("waited %s for SSH (%d attempts), last error: %w", waited.Round(time.Second), attempts, last)
	}
	out := *e
	out.Err = fmt.Errorf("waited %s for SSH (%d attempts), last error: %w", waited.Round(time.Second), attempts, e.Err)
	return &out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
