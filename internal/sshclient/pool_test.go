package sshclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestHandshakeStall(t *testing.T) {
	// Accepts TCP and never speaks SSH.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()

	const timeout = 500 * time.Millisecond
	port := ln.Addr().(*net.TCPAddr).Port
	h := mustHost(t, newTestPool(t), Config{Host: "127.0.0.1", Port: port, Password: "pw", InsecureIgnoreHostKey: true, Timeout: timeout})
	start := time.Now()
	_, _, err = run(t, h, "echo hello", nil, false)
	elapsed := time.Since(start)
	e := checkErr(t, err, ErrHandshakeTimeout)
	if e.Op != "handshake" {
		t.Errorf("Op = %q", e.Op)
	}
	if elapsed >= timeout+time.Second {
		t.Errorf("took %s, want < %s", elapsed, timeout+time.Second)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	h := mustHost(t, newTestPool(t), Config{Host: "127.0.0.1", Port: port, Password: "pw", InsecureIgnoreHostKey: true, Timeout: time.Second})
	_, _, err = run(t, h, "echo hello", nil, false)
	e := checkErr(t, err, ErrUnreachable)
	if e.Op != "connect" || e.Host != h.Name() {
		t.Errorf("Op/Host = %q/%q", e.Op, e.Host)
	}
}

func TestConnectionReuse(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	cfg := testConfig(t, s, key)
	h1, h2 := mustHost(t, p, cfg), mustHost(t, p, cfg)

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		for _, h := range []*Host{h1, h2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, _, err := run(t, h, "echo hello", nil, false)
				if err == nil && out != "hello\n" {
					err = errors.New("bad output " + out)
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := p.Stats()
	if st.Dials != 1 || st.Handshakes != 1 || st.Sessions != 2*n || st.Reconnects != 0 {
		t.Errorf("Stats = %+v, want 1 dial, 1 handshake, %d sessions", st, 2*n)
	}

	// A different identity is a different connection.
	other := cfg
	other.User = "bob"
	if _, _, err := run(t, mustHost(t, p, other), "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	// Sudo settings do not change the connection.
	sudo := cfg
	sudo.Sudo = true
	if _, _, err := run(t, mustHost(t, p, sudo), "echo hello", nil, true); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Dials != 2 {
		t.Errorf("Dials = %d, want 2", st.Dials)
	}
}

func TestSessionCap(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	cfg := testConfig(t, s, key)
	cfg.MaxSessions = 2
	h := mustHost(t, p, cfg)

	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := run(t, h, "sleep", nil, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := s.maxConcurrent(); got != 2 {
		t.Errorf("max concurrent sessions = %d, want 2", got)
	}
	if st := p.Stats(); st.Dials != 1 {
		t.Errorf("Dials = %d", st.Dials)
	}
}

func TestSessionCapStrictestHostWins(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	cfg := testConfig(t, s, key)
	loose := mustHost(t, p, cfg) // default 8
	cfg.MaxSessions = 1
	strict := mustHost(t, p, cfg)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		h := loose
		if i%2 == 0 {
			h = strict
		}
		go func() {
			defer wg.Done()
			if _, _, err := run(t, h, "sleep", nil, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := s.maxConcurrent(); got != 1 {
		t.Errorf("max concurrent sessions = %d, want 1", got)
	}
}

func TestReconnectAfterServerDrop(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	h := mustHost(t, p, testConfig(t, s, key))
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	s.dropAll()
	out, _, err := run(t, h, "echo hello", nil, false)
	if err != nil || out != "hello\n" {
		t.Fatalf("after drop: %q, %v", out, err)
	}
	if st := p.Stats(); st.Dials != 2 || st.Reconnects != 1 || st.Handshakes != 2 {
		t.Errorf("Stats = %+v, want 2 dials, 1 reconnect", st)
	}
}

// The client still believes the connection is alive (no read has failed
// yet), so the failure shows up at NewSession: redial once, then run.
func TestReconnectWhenSessionOpenFails(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	h := mustHost(t, p, testConfig(t, s, key))
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	// Kill the transport but keep a liveConn whose done channel has not
	// fired, as if the reader had not noticed yet.
	h.conn.mu.Lock()
	c := h.conn.cur
	c.client.Close()
	<-c.done
	h.conn.cur = &liveConn{client: c.client, done: make(chan struct{})}
	h.conn.mu.Unlock()
	out, _, err := run(t, h, "echo hello", nil, false)
	if err != nil || out != "hello\n" {
		t.Fatalf("after close: %q, %v", out, err)
	}
	if st := p.Stats(); st.Dials != 2 || st.Reconnects != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestNoRetryAfterCommandStarted(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	h := mustHost(t, p, testConfig(t, s, key))
	_, _, err := run(t, h, "drop", nil, false) // server dies mid-command
	e := checkErr(t, err, ErrConnectionLost)
	if e.Op != "exec" {
		t.Errorf("Op = %q", e.Op)
	}
	n := 0
	for _, c := range s.execLog() {
		if c == plainCommand("drop") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("script ran %d times, want exactly 1", n)
	}
	// The pool recovers on the next call.
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
}

func TestKeepalive(t *testing.T) {
	t.Run("healthy connection is kept", func(t *testing.T) {
		s, key := keyedServer(t)
		p := newTestPool(t, WithKeepalive(20*time.Millisecond, 0))
		h := mustHost(t, p, testConfig(t, s, key))
		run(t, h, "echo hello", nil, false)
		time.Sleep(200 * time.Millisecond)
		if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
			t.Fatal(err)
		}
		if st := p.Stats(); st.Dials != 1 {
			t.Errorf("Dials = %d, want 1", st.Dials)
		}
	})
	t.Run("unanswered keepalive drops the connection", func(t *testing.T) {
		s, key := keyedServer(t)
		logs := &logRecorder{}
		// A probe must go unanswered for a whole second, which a loaded
		// machine does not cause by itself; only the stall below does.
		p := newTestPool(t, WithKeepalive(50*time.Millisecond, time.Second), WithLogger(logs.log))
		h := mustHost(t, p, testConfig(t, s, key))
		if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
			t.Fatal(err)
		}
		s.stallGlobal.Store(true)
		deadline := time.Now().Add(15 * time.Second)
		for {
			h.conn.mu.Lock()
			gone := h.conn.cur == nil
			h.conn.mu.Unlock()
			if gone {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("connection not dropped after unanswered keepalives")
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.stallGlobal.Store(false)
		if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
			t.Fatal(err)
		}
		if st := p.Stats(); st.Dials != 2 || st.Reconnects != 1 {
			t.Errorf("Stats = %+v", st)
		}
		if !strings.Contains(logs.String(), "keepalive failed") {
			t.Errorf("no drop logged:\n%s", logs)
		}
	})
}

func TestContextCancel(t *testing.T) {
	s, key := keyedServer(t)
	h := mustHost(t, newTestPool(t), testConfig(t, s, key))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := h.Run(ctx, "hang", nil, false)
	checkErr(t, err, context.DeadlineExceeded)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancellation took %s", d)
	}
}

func TestPoolClose(t *testing.T) {
	s, key := keyedServer(t)
	p := NewPool()
	h := mustHost(t, p, testConfig(t, s, key))
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	p.Close()
	_, _, err := run(t, h, "echo hello", nil, false)
	checkErr(t, err, ErrPoolClosed)
	_, err = p.Host(testConfig(t, s, key))
	checkErr(t, err, ErrPoolClosed)
}

func TestHostParsesKeyOnce(t *testing.T) {
	_, key := clientKey(t) // an encrypted key would show it better but costs seconds under -race
	p := newTestPool(t)
	cfg := Config{Host: "192.0.2.1", PrivateKey: key, InsecureIgnoreHostKey: true}
	mustHost(t, p, cfg)
	start := time.Now()
	for i := 0; i < 10; i++ {
		mustHost(t, p, cfg)
	}
	if len(p.signers) != 1 {
		t.Errorf("signer cache has %d entries", len(p.signers))
	}
	t.Logf("10 cached Host() calls: %s", time.Since(start))
}

// BenchmarkRun measures a command round trip on a reused connection.
func BenchmarkRun(b *testing.B) {
	signer, key := clientKey(b)
	s := newFakeServer(b, func(s *fakeServer) { s.authorized = append(s.authorized, signer.PublicKey()) })
	p := NewPool()
	defer p.Close()
	h := mustHost(b, p, Config{Host: s.host, Port: s.port, PrivateKey: key, InsecureIgnoreHostKey: true})
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := h.Run(ctx, "echo hello", nil, false); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(p.Stats().Dials), "dials")
}

// waitIdleClosed polls until the pool has closed n idle connections.
func waitIdleClosed(t *testing.T, p *Pool, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().IdleClosed < n {
		if time.Now().After(deadline) {
			t.Fatalf("IdleClosed = %d after 10 s, want %d", p.Stats().IdleClosed, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An unused connection is closed after the idle time and the next command
// logs in again (not counted as a reconnect); a command running longer
// than the idle time keeps its connection; a bastion stays open for the
// connections behind it.
func TestIdleClose(t *testing.T) {
	t.Run("unused connection closes, the next command logs in again", func(t *testing.T) {
		s, key := keyedServer(t)
		p := newTestPool(t, WithIdleClose(100*time.Millisecond))
		h := mustHost(t, p, testConfig(t, s, key))
		if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
			t.Fatal(err)
		}
		waitIdleClosed(t, p, 1)
		if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
			t.Fatal(err)
		}
		if st := p.Stats(); st.Dials != 2 || st.Reconnects != 0 {
			t.Errorf("Stats = %+v, want 2 dials, 0 reconnects", st)
		}
		if got := s.acceptCount(); got != 2 {
			t.Errorf("server accepted %d connections, want 2", got)
		}
	})
	t.Run("a running command keeps its connection", func(t *testing.T) {
		s, key := keyedServer(t)
		p := newTestPool(t, WithIdleClose(30*time.Millisecond))
		h := mustHost(t, p, testConfig(t, s, key))
		// "sleep" runs 100 ms: the timer armed at login fires during it.
		if _, _, err := run(t, h, "sleep", nil, false); err != nil {
			t.Fatalf("command failed: %v (closed under a running command?)", err)
		}
		if st := p.Stats(); st.Dials != 1 {
			t.Errorf("Stats = %+v, want 1 dial", st)
		}
		waitIdleClosed(t, p, 1)
	})
	t.Run("a bastion stays open", func(t *testing.T) {
		signer, keyPEM := clientKey(t)
		bastion := bastionServer(t, signer)
		target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
		p := newTestPool(t, WithIdleClose(50*time.Millisecond))
		cfg := testConfig(t, target, keyPEM)
		cfg.Jumps = []Config{jumpTo(bastion, keyPEM)}
		h := mustHost(t, p, cfg)
		for i := int64(1); i <= 2; i++ {
			if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
				t.Fatal(err)
			}
			waitIdleClosed(t, p, i)
		}
		time.Sleep(150 * time.Millisecond)
		if st := p.Stats(); st.IdleClosed != 2 || st.Forwards != 2 {
			t.Errorf("Stats = %+v, want the target closed twice, reached twice through the bastion", st)
		}
		if got := bastion.acceptCount(); got != 1 {
			t.Errorf("bastion accepted %d connections, want 1 (kept open)", got)
		}
	})
}
