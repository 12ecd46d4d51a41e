package sshclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestUnitWaitBackoffSchedule(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}

// freePort returns a loopback address on which nothing listens.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lateProxy listens on addr and, like a port forwarder in front of a
// booting VM, accepts and closes at once until up is set, then forwards to
// backend.
type lateProxy struct {
	ln      net.Listener
	up      atomic.Bool
	backend string
	mu      sync.Mutex
	conns   []net.Conn
}

func startLateProxy(t *testing.T, addr, backend string) *lateProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &lateProxy{ln: ln, backend: backend}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return p
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	fmt.Sscan(p, &port)
	return h, port
}

// TestUnitWaitRetryableClassification builds each failure for real (or,
// for those that need a resolver or a bastion, its x/crypto error) and
// checks which ones are retried.
func TestUnitWaitRetryableClassification(t *testing.T) {
	ctx := context.Background()
	s, key := keyedServer(t)

	connect := func(cfg Config) error {
		t.Helper()
		p := newTestPool(t)
		h := mustHost(t, p, cfg)
		_, err := h.conn.get(ctx, h.r)
		return err
	}

	// Refused: nothing listens.
	refused := testConfig(t, s, key)
	refused.Host, refused.Port = hostPort(t, freePort(t))
	// Closed before the banner: a forwarder whose backend is down.
	closing := testConfig(t, s, key)
	closing.Host, closing.Port = hostPort(t, startLateProxy(t, freePort(t), s.addr()).ln.Addr().String())
	// Accepts and never speaks: handshake timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	mute := testConfig(t, s, key)
	mute.Host, mute.Port = hostPort(t, silent.Addr().String())
	mute.Timeout = 300 * time.Millisecond
	// Wrong key: authentication fails.
	_, otherKey := clientKey(t)
	wrongKey := testConfig(t, s, otherKey)
	// Another host key than the pinned one.
	wrongHostKey := testConfig(t, s, key)
	wrongHostKey.HostKey = authorizedLine(newEd25519Signer(t).PublicKey())
	// Unknown host key.
	unknown := testConfig(t, s, key)
	unknown.HostKey, unknown.KnownHostsFile = "", writeKnownHosts(t, "")

	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
	}{
		{"refused", connect(refused), true},
		{"closed before banner", connect(closing), true},
		{"handshake timeout", connect(mute), true},
		{"wrong private key", connect(wrongKey), false},
		{"host key changed", connect(wrongHostKey), false},
		{"host key unknown", connect(unknown), false},
		{"name not found", dialFailure(wrap(ErrUnreachable, &net.DNSError{Err: "no such host", Name: "vm.invalid", IsNotFound: true})), false},
		{"temporary DNS failure", dialFailure(wrap(ErrUnreachable, &net.DNSError{Err: "server misbehaving", Name: "vm", IsTemporary: true})), true},
		{"no route", dialFailure(wrap(ErrUnreachable, &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH})), true},
		{"reset", dialFailure(wrap(ErrUnreachable, &net.OpError{Op: "dial", Err: syscall.ECONNRESET})), true},
		{"bastion cannot reach target", forwardRetry(&ssh.OpenChannelError{Reason: ssh.ConnectionFailed, Message: "connect failed"}, ErrUnreachable), true},
		{"bastion forbids forwarding", forwardRetry(&ssh.OpenChannelError{Reason: ssh.Prohibited, Message: "prohibited"}, ErrUnreachable), false},
		{"config", configErr("h:22", "bad"), false},
		{"sudo refused", &Error{Op: "sudo", Err: ErrSudoNeedsPassword}, false},
		{"auth even if marked transient", transient(&Error{Op: "auth", Err: ErrAuthFailed}), false},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if got := Retryable(tc.err); got != tc.retryable {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tc.name, tc.err, got, tc.retryable)
		}
	}
}

// TestUnitWaitScheduleWithClock runs the retry loop against a refusing
// port under a fake clock: it pauses 1, 2, 4, 8 s, then only what is left
// of WaitForSSH, and the error says how long it waited and what failed.
func TestUnitWaitScheduleWithClock(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.Host, cfg.Port = hostPort(t, freePort(t))
	cfg.WaitForSSH = 20 * time.Second
	logs := &logRecorder{}
	p := newTestPool(t, WithLogger(logs.log))
	h := mustHost(t, p, cfg)
	clock := time.Unix(0, 0)
	var pauses []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		pauses = append(pauses, d)
		clock = clock.Add(d)
		return nil
	}
	_, err := p.dialWaitingWith(context.Background(), h.conn, h.r, func() time.Time { return clock }, sleep)
	e := checkErr(t, err, ErrUnreachable)
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 5 * time.Second}
	if fmt.Sprint(pauses) != fmt.Sprint(want) {
		t.Errorf("pauses %v, want %v", pauses, want)
	}
	if e.Host != h.Name() || !strings.Contains(err.Error(), "waited 20s for SSH (6 attempts)") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not name the host, the wait and the last error", err)
	}
	if n := strings.Count(logs.String(), MsgWaiting); n != 5 {
		t.Errorf("%d retries logged, want 5:\n%s", n, logs)
	}
}

// TestWaitForSSHLateHost: a forwarder that closes every connection (a
// booting VM's forwarded port) until its backend comes up 2.5 s later is
// waited for; measured.
func TestWaitForSSHLateHost(t *testing.T) {
	s, key := keyedServer(t)
	addr := freePort(t)
	cfg := testConfig(t, s, key)
	cfg.Host, cfg.Port = hostPort(t, addr)
	cfg.WaitForSSH = 20 * time.Second
	p := newTestPool(t)
	h := mustHost(t, p, cfg)
	start := time.Now()
	// Refused for the first second, then closed before the banner, then up.
	go func() {
		time.Sleep(time.Second)
		lp := startLateProxy(t, addr, s.addr())
		time.Sleep(1500 * time.Millisecond)
		lp.up.Store(true)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.conn.get(ctx, h.r); err != nil {
		t.Fatalf("not waited for: %v", err)
	}
	took := time.Since(start)
	t.Logf("late host (up after 2.5 s) connected after %s", took.Round(10*time.Millisecond))
	if took < 2500*time.Millisecond || took > 8*time.Second {
		t.Errorf("connected after %s; expected soon after 2.5 s (retries at 1, 3, 7 s)", took)
	}
}

// TestWaitForSSHNeverAnswers: a host that never answers fails after
// WaitForSSH, not before and not much after, naming the host.
func TestWaitForSSHNeverAnswers(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.Host, cfg.Port = hostPort(t, freePort(t))
	cfg.WaitForSSH = 4 * time.Second
	p := newTestPool(t)
	h := mustHost(t, p, cfg)
	start := time.Now()
	_, err := h.conn.get(context.Background(), h.r)
	took := time.Since(start)
	checkErr(t, err, ErrUnreachable)
	t.Logf("gave up after %s: %v", took.Round(10*time.Millisecond), err)
	if took < 4*time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s, want just over 4s", took)
	}
	if !strings.Contains(err.Error(), h.Name()) || !strings.Contains(err.Error(), "waited 4s") {
		t.Errorf("error %q does not name the host and the wait", err)
	}
}

// TestWaitForSSHDoesNotRetryAuth: a wrong key fails at once even with a
// long wait.
func TestWaitForSSHDoesNotRetryAuth(t *testing.T) {
	s, _ := keyedServer(t)
	_, otherKey := clientKey(t)
	cfg := testConfig(t, s, otherKey)
	cfg.WaitForSSH = time.Minute
	p := newTestPool(t)
	h := mustHost(t, p, cfg)
	start := time.Now()
	_, err := h.conn.get(context.Background(), h.r)
	checkErr(t, err, ErrAuthFailed)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("auth failure took %s: retried?", took)
	}
	if s.acceptCount() != 1 {
		t.Errorf("%d connections, want 1", s.acceptCount())
	}
}

// A request that stops waiting for a dial it started takes its context
// back: the dial goes on (for other callers) but no longer logs with that
// context, which the plugin SDK's logger cannot share between goroutines.
// Without the gate the retry loop below logs again about 1 s in.
func TestAbandonedDialStopsUsingTheContext(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.Host, cfg.Port = hostPort(t, freePort(t))
	cfg.WaitForSSH = 10 * time.Second
	type marker struct{}
	var mu sync.Mutex
	var ours []string
	p := newTestPool(t, WithLogger(func(ctx context.Context, msg string, _ map[string]any) {
		if ctx.Value(marker{}) != nil {
			mu.Lock()
			ours = append(ours, msg)
			mu.Unlock()
		}
	}))
	h := mustHost(t, p, cfg)
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), marker{}, true), 300*time.Millisecond)
	defer cancel()
	if _, err := h.conn.get(ctx, h.r); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get = %v, want the caller's deadline", err)
	}
	mu.Lock()
	before := len(ours)
	mu.Unlock()
	if before == 0 {
		t.Fatal("the dial logged nothing with the caller's context while it waited")
	}
	time.Sleep(1500 * time.Millisecond) // the retry after 1 s logs again
	mu.Lock()
	defer mu.Unlock()
	if len(ours) != before {
		t.Errorf("logged with the abandoned context after get returned: %q", ours[before:])
	}
}
