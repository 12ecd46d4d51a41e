package sshclient

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// liveConn is one established SSH connection.
type liveConn struct {
	client *ssh.Client
	done   chan struct{} // closed when the connection has terminated
	// hostKey is the key the host presented and we accepted.
	hostKey ssh.PublicKey
}

func (c *liveConn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// alive probes the connection. Used to tell "the command's channel closed
// oddly" from "the connection is gone", whose teardown may not have reached
// done yet when a session notices it.
func (c *liveConn) alive(timeout time.Duration) bool {
	res := make(chan error, 1)
	go func() {
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	select {
	case err := <-res:
		return err == nil
	case <-c.done:
		return false
	case <-time.After(timeout):
		return false
	}
}

// dialCall is an in-flight dial that concurrent callers wait on.
type dialCall struct {
	done chan struct{}
	conn *liveConn
	err  error
}

// connEntry is the pool slot for one connection key. It survives reconnects
// so the session semaphore keeps counting across them.
type connEntry struct {
	pool *Pool
	addr string
	via  *connEntry // the last bastion's entry; nil => dial TCP
	sem  *semaphore

	mu        sync.Mutex
	cur       *liveConn
	inflight  *dialCall
	connected bool // a dial has succeeded before: the next one is a reconnect

	bastion  atomic.Bool // other entries connect through this one: never idle-closed
	lastUse  time.Time   // when the last session ended or the connection opened; under mu
	idleTime *time.Timer // runs closeIfIdle; under mu
}

// get returns the live connection, dialing at most once for all concurrent
// callers. The dial itself runs detached from ctx (bounded by Timeout) so
// one caller giving up does not fail the others; each caller still stops
// waiting when its own ctx ends.
func (e *connEntry) get(ctx context.Context, r *resolved) (*liveConn, error) {
	e.mu.Lock()
	if e.pool.closed.Load() {
		e.mu.Unlock()
		return nil, &Error{Host: e.addr, Op: "connect", Err: ErrPoolClosed}
	}
	if c := e.cur; c != nil {
		if !c.dead() {
			e.mu.Unlock()
			return c, nil
		}
		e.cur = nil // died in the background (server closed it)
	}
	call := e.inflight
	var gate *logGate // set when this caller starts the dial: its context logs it
	if call == nil {
		call = &dialCall{done: make(chan struct{})}
		e.inflight = call
		if e.connected {
			e.pool.reconnects.Add(1)
		}
		var dctx context.Context
		dctx, gate = withLogGate(context.WithoutCancel(ctx))
		go e.dial(dctx, r, call)
	}
	e.mu.Unlock()

	select {
	case <-call.done:
		return call.conn, call.err
	case <-ctx.Done():
		if gate != nil {
			gate.close() // the dial goes on, without our context's logger
		}
		return nil, &Error{Host: e.addr, Op: "connect", Err: ctx.Err()}
	}
}

func (e *connEntry) dial(ctx context.Context, r *resolved, call *dialCall) {
	c, err := e.pool.dialWaiting(ctx, e, r)
	e.mu.Lock()
	e.inflight = nil
	if err == nil && e.pool.closed.Load() {
		_ = c.client.Close() // the pool closed meanwhile; ErrPoolClosed is the error to report
		c, err = nil, &Error{Host: e.addr, Op: "connect", Err: ErrPoolClosed}
	}
	if err == nil {
		e.cur, e.connected = c, true
		e.touch()
		if e.pool.keepalive > 0 {
			timeout := e.pool.keepaliveTimeout
			if timeout <= 0 {
				timeout = r.Timeout
			}
			go e.keepalive(c, e.pool.keepalive, timeout)
		}
	}
	call.conn, call.err = c, err
	e.mu.Unlock()
	close(call.done)
}

// drop forgets c (if still current) and closes it; the next get redials.
func (e *connEntry) drop(ctx context.Context, c *liveConn, reason string) {
	e.mu.Lock()
	if e.cur == c {
		e.cur = nil
	}
	e.mu.Unlock()
	_ = c.client.Close() // the connection is being discarded; reason says why
	e.pool.log(ctx, "ssh connection dropped", map[string]any{"host": e.addr, "reason": reason})
}

// release ends a session on the entry: the connection counts as used now.
func (e *connEntry) release() {
	e.sem.release()
	e.mu.Lock()
	e.touch()
	e.mu.Unlock()
}

// touch records a use and (re)arms the idle timer; e.mu must be held.
func (e *connEntry) touch() {
	d := e.pool.idleClose
	if d <= 0 || e.bastion.Load() {
		return
	}
	e.lastUse = time.Now()
	if e.idleTime == nil {
		e.idleTime = time.AfterFunc(d, e.closeIfIdle)
	} else {
		e.idleTime.Reset(d)
	}
}

// closeIfIdle closes the connection when no session runs on it and none
// has for idleClose. Holding the semaphore's lock keeps a new session from
// starting meanwhile; one that got the connection just before still works:
// Run redials once when a connection is found closed before its command
// was sent. The next dial is not counted as a reconnect.
func (e *connEntry) closeIfIdle() {
	e.sem.mu.Lock()
	e.mu.Lock()
	c := e.cur
	idle := e.sem.inUse == 0 && c != nil && !e.bastion.Load() && time.Since(e.lastUse) >= e.pool.idleClose
	if idle {
		e.cur, e.connected = nil, false
	}
	e.mu.Unlock()
	e.sem.mu.Unlock()
	if !idle {
		return
	}
	_ = c.client.Close() // unused: nothing to report
	e.pool.idleClosed.Add(1)
	e.pool.log(e.pool.backgroundCtx(), "ssh connection closed", map[string]any{"host": e.addr, "reason": "idle"})
}

// keepalive probes c every interval. A probe that errors or gets no reply
// within timeout means the peer or the path is gone: drop the connection so
// the next Run redials instead of hanging on a dead TCP stream.
func (e *connEntry) keepalive(c *liveConn, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		// Any reply, even "unsupported request", proves liveness; no reply
		// within timeout means the peer or the path is gone.
		if !c.alive(timeout) {
			e.drop(e.pool.backgroundCtx(), c, "keepalive failed")
			return
		}
	}
}

// semaphore caps concurrent sessions per connection. Unlike a buffered
// channel its limit can be lowered when a stricter Host joins the entry.
type semaphore struct {
	mu           sync.Mutex
	limit, inUse int
	wake         chan struct{}
}

func newSemaphore(n int) *semaphore { return &semaphore{limit: n, wake: make(chan struct{})} }

func (s *semaphore) lower(n int) {
	s.mu.Lock()
	s.limit = min(s.limit, n)
	s.mu.Unlock()
}

func (s *semaphore) acquire(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.inUse < s.limit {
			s.inUse++
			s.mu.Unlock()
			return nil
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *semaphore) release() {
	s.mu.Lock()
	s.inUse--
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}
