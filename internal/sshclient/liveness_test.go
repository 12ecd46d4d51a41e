package sshclient

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// lossyProxy relays TCP to a server until partition() is called; from then
// on it swallows every byte in both directions without closing anything,
// as a dead network path or a frozen peer would.
type lossyProxy struct {
	ln          net.Listener
	port        int
	partitioned atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
}

func newLossyProxy(t *testing.T, target string) *lossyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
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
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

func (p *lossyProxy) pipe(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.partitioned.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *lossyProxy) partition() { p.partitioned.Store(true) }

// A path that dies silently while a command runs is noticed by the
// keepalive within interval + timeout: the command fails with
// ErrConnectionLost instead of hanging, and is not run again.
func TestDeadPathMidCommand(t *testing.T) {
	// Wide enough that a loaded machine answers every probe while the path
	// is healthy: only the partition may drop the connection.
	const interval, timeout = 250 * time.Millisecond, time.Second
	t.Run("direct", func(t *testing.T) {
		t.Parallel()
		s, key := keyedServer(t)
		proxy := newLossyProxy(t, s.addr())
		cfg := testConfig(t, s, key)
		cfg.Port = proxy.port
		p := newTestPool(t, WithKeepalive(interval, timeout))
		h := mustHost(t, p, cfg)
		checkLostWithin(t, h, s, proxy, interval+timeout)
		if n := countExec(s, plainCommand("hang")); n != 1 {
			t.Errorf("script ran %d times, want 1", n)
		}
	})
	t.Run("bastion path dies", func(t *testing.T) {
		t.Parallel()
		signer, keyPEM := clientKey(t)
		bastion := bastionServer(t, signer)
		target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
		proxy := newLossyProxy(t, bastion.addr())
		j := jumpTo(bastion, keyPEM)
		j.Port = proxy.port
		cfg := testConfig(t, target, keyPEM)
		cfg.Jumps = []Config{j}
		p := newTestPool(t, WithKeepalive(interval, timeout))
		h := mustHost(t, p, cfg)
		checkLostWithin(t, h, target, proxy, interval+timeout)
		if n := countExec(target, plainCommand("hang")); n != 1 {
			t.Errorf("script ran %d times, want 1", n)
		}
	})
}

func checkLostWithin(t *testing.T, h *Host, s *fakeServer, proxy *lossyProxy, bound time.Duration) {
	t.Helper()
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	before := countExec(s, plainCommand("hang"))
	errc := make(chan error, 1)
	go func() {
		_, _, err := h.Run(context.Background(), "hang", nil, false)
		errc <- err
	}()
	waitExec(t, s, plainCommand("hang"), before) // the command is running
	proxy.partition()
	start := time.Now()
	select {
	case err := <-errc:
		elapsed := time.Since(start)
		t.Logf("failed after %s: %v", elapsed.Round(time.Millisecond), err)
		e := checkErr(t, err, ErrConnectionLost)
		if e.Op != "exec" {
			t.Errorf("Op = %q", e.Op)
		}
		if elapsed > bound+3*time.Second {
			t.Errorf("took %s, want about %s", elapsed, bound)
		}
	case <-time.After(bound + 5*time.Second):
		t.Fatalf("Run still hanging %s after the path died", bound+5*time.Second)
	}
}

// waitExec waits until s has received cmd more than before times, so
// that a test cuts the connection while the command runs, not before it
// was sent (a sleep would guess, and lose on a loaded machine).
func waitExec(t *testing.T, s *fakeServer, cmd string, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for countExec(s, cmd) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("%q did not reach the server within 10s", cmd)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countExec(s *fakeServer, cmd string) int {
	n := 0
	for _, c := range s.execLog() {
		if c == cmd {
			n++
		}
	}
	return n
}

// The server process dies while a command runs (its TCP connections are
// closed): the command fails at once with ErrConnectionLost, through a
// bastion too, and the next command reconnects.
func TestServerDiesMidCommand(t *testing.T) {
	signer, keyPEM := clientKey(t)
	bastion := bastionServer(t, signer)
	target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
	for _, viaBastion := range []bool{false, true} {
		t.Run("bastion="+strconv.FormatBool(viaBastion), func(t *testing.T) {
			cfg := testConfig(t, target, keyPEM)
			if viaBastion {
				cfg.Jumps = []Config{jumpTo(bastion, keyPEM)}
			}
			p := newTestPool(t, WithKeepalive(0, 0)) // no keepalive: the closed socket alone must be noticed
			h := mustHost(t, p, cfg)
			if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
				t.Fatal(err)
			}
			before := countExec(target, plainCommand("hang"))
			errc := make(chan error, 1)
			go func() {
				_, _, err := h.Run(context.Background(), "hang", nil, false)
				errc <- err
			}()
			waitExec(t, target, plainCommand("hang"), before)
			start := time.Now()
			target.dropAll()
			select {
			case err := <-errc:
				checkErr(t, err, ErrConnectionLost)
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("noticed after %s", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run still hanging after the server died")
			}
			if out, _, err := run(t, h, "echo hello", nil, false); err != nil || out != "hello\n" {
				t.Fatalf("next command: %q, %v", out, err)
			}
			if st := p.Stats(); st.Reconnects != 1 {
				t.Errorf("Stats = %+v, want 1 reconnect", st)
			}
		})
	}
}
