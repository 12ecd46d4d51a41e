package sshclient

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// bastionServer is a fake server that forwards direct-tcpip channels and
// accepts key.
func bastionServer(t *testing.T, key ssh.Signer, opts ...func(*fakeServer)) *fakeServer {
	opts = append([]func(*fakeServer){func(s *fakeServer) {
		s.authorized = []ssh.PublicKey{key.PublicKey()}
		s.forward = true
	}}, opts...)
	return newFakeServer(t, opts...)
}

// jumpTo is a Config for s that pins its host key.
func jumpTo(s *fakeServer, keyPEM string) Config {
	return Config{Host: s.host, Port: s.port, User: "jump", PrivateKey: keyPEM, HostKey: authorizedLine(s.hostKeys[0].PublicKey())}
}

func TestJumpHost(t *testing.T) {
	signer, keyPEM := clientKey(t)
	bastion := bastionServer(t, signer)
	target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })

	p := newTestPool(t)
	cfg := testConfig(t, target, keyPEM)
	cfg.Jumps = []Config{jumpTo(bastion, keyPEM)}
	h := mustHost(t, p, cfg)
	if got := h.Route(); !slices.Equal(got, []string{bastion.addr()}) {
		t.Errorf("Route = %v", got)
	}
	out, _, err := run(t, h, "whoami", nil, false)
	if err != nil || out != "alice\n" {
		t.Fatalf("Run through bastion: %q, %v", out, err)
	}
	if got := bastion.forwardLog(); !slices.Equal(got, []string{target.addr()}) {
		t.Errorf("bastion forwarded %v, want [%s]", got, target.addr())
	}
	if len(bastion.execLog()) != 0 {
		t.Errorf("commands ran on the bastion: %v", bastion.execLog())
	}
	if got := target.execLog(); len(got) != 1 {
		t.Errorf("target ran %v", got)
	}
	if st := p.Stats(); st.Dials != 2 || st.Forwards != 1 || st.Handshakes != 2 {
		t.Errorf("Stats = %+v, want 2 dials (bastion, target), 1 forward, 2 handshakes", st)
	}
}

// One connection to a bastion serves every host behind it, and the bastion
// itself when it is also a target with the same settings.
func TestJumpSharedBastion(t *testing.T) {
	signer, keyPEM := clientKey(t)
	bastion := bastionServer(t, signer)
	var targets []*fakeServer
	for range 3 {
		targets = append(targets, newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} }))
	}
	p := newTestPool(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3*5)
	for _, target := range targets {
		cfg := testConfig(t, target, keyPEM)
		cfg.Jumps = []Config{jumpTo(bastion, keyPEM)}
		h := mustHost(t, p, cfg)
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := run(t, h, "echo hello", nil, false)
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
	// The bastion as a target of its own: same user, key and pin.
	j := jumpTo(bastion, keyPEM)
	direct := mustHost(t, p, Config{Host: j.Host, Port: j.Port, User: j.User, PrivateKey: j.PrivateKey, HostKey: j.HostKey})
	if _, _, err := run(t, direct, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	if got := bastion.acceptCount(); got != 1 {
		t.Errorf("bastion accepted %d TCP connections, want 1", got)
	}
	if st := p.Stats(); st.Dials != 4 || st.Forwards != 3 || st.Handshakes != 4 {
		t.Errorf("Stats = %+v, want 4 dials, 3 forwards", st)
	}
	for _, target := range targets {
		if got := target.acceptCount(); got != 1 {
			t.Errorf("target %s accepted %d connections", target.addr(), got)
		}
	}

	// A bastion with other settings is another connection.
	other := jumpTo(bastion, keyPEM)
	other.User = "someone-else"
	cfg := testConfig(t, targets[0], keyPEM)
	cfg.Jumps = []Config{other}
	if _, _, err := run(t, mustHost(t, p, cfg), "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	if got := bastion.acceptCount(); got != 2 {
		t.Errorf("bastion accepted %d connections after a second identity, want 2", got)
	}
}

func TestJumpChain(t *testing.T) {
	signer, keyPEM := clientKey(t)
	first := bastionServer(t, signer)
	second := bastionServer(t, signer)
	target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })

	p := newTestPool(t)
	cfg := testConfig(t, target, keyPEM)
	cfg.Jumps = []Config{jumpTo(first, keyPEM), jumpTo(second, keyPEM)}
	h := mustHost(t, p, cfg)
	if out, _, err := run(t, h, "echo hello", nil, false); err != nil || out != "hello\n" {
		t.Fatalf("Run through two bastions: %q, %v", out, err)
	}
	if got := first.forwardLog(); !slices.Equal(got, []string{second.addr()}) {
		t.Errorf("first bastion forwarded to %v, want only the second bastion", got)
	}
	if got := second.forwardLog(); !slices.Equal(got, []string{target.addr()}) {
		t.Errorf("second bastion forwarded to %v, want only the target", got)
	}
	if st := p.Stats(); st.Dials != 3 || st.Forwards != 2 || st.Handshakes != 3 {
		t.Errorf("Stats = %+v", st)
	}
	// The same chain to another target reuses both bastion connections.
	target2 := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
	cfg2 := testConfig(t, target2, keyPEM)
	cfg2.Jumps = cfg.Jumps
	if _, _, err := run(t, mustHost(t, p, cfg2), "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	if first.acceptCount() != 1 || second.acceptCount() != 1 {
		t.Errorf("bastion connections not shared: first %d, second %d", first.acceptCount(), second.acceptCount())
	}

	t.Run("too many hops", func(t *testing.T) {
		cfg := testConfig(t, target, keyPEM)
		for range MaxJumps + 1 {
			cfg.Jumps = append(cfg.Jumps, jumpTo(first, keyPEM))
		}
		_, err := p.Host(cfg)
		checkErr(t, err, ErrConfig)
		if !strings.Contains(err.Error(), fmt.Sprintf("at most %d", MaxJumps)) {
			t.Errorf("error = %v", err)
		}
	})
}

// Every failure on the way names the hop that failed.
func TestJumpErrorsNameTheHop(t *testing.T) {
	signer, keyPEM := clientKey(t)
	_, strangerPEM := clientKey(t)
	target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
	bastion := bastionServer(t, signer)
	denying := bastionServer(t, signer, func(s *fakeServer) { s.forwardDenied = true })
	stallingFwd := bastionServer(t, signer)
	stallingFwd.forwardStall.Store(true)
	stall := stallListener(t)
	closed := closedPort(t)
	stranger := newEd25519Signer(t).PublicKey()

	// Long enough for every working hop's handshake on a loaded machine;
	// the stalling cases wait it out.
	const timeout = 2 * time.Second
	tests := []struct {
		name        string
		cfg         func(c *Config)
		want        error
		bastion     string // Error.Bastion
		via         string // Error.Via
		op          string
		msg         string
		hostKeyHost string // HostKeyError.Host
	}{
		{name: "bastion host key unknown", want: ErrHostKeyUnknown, bastion: bastion.addr(), op: "hostkey", hostKeyHost: bastion.addr(),
			msg: "via bastion " + bastion.addr() + ": host key is unknown",
			cfg: func(c *Config) {
				j := jumpTo(bastion, keyPEM)
				j.HostKey, j.KnownHostsFile = "", writeKnownHosts(t, "# empty")
				c.Jumps = []Config{j}
			}},
		{name: "bastion host key changed", want: ErrHostKeyChanged, bastion: bastion.addr(), op: "hostkey", hostKeyHost: bastion.addr(),
			cfg: func(c *Config) {
				j := jumpTo(bastion, keyPEM)
				j.HostKey = authorizedLine(stranger)
				c.Jumps = []Config{j}
			}},
		{name: "bastion auth refused", want: ErrAuthFailed, bastion: bastion.addr(), op: "auth",
			cfg: func(c *Config) {
				j := jumpTo(bastion, strangerPEM)
				c.Jumps = []Config{j}
			}},
		{name: "bastion unreachable", want: ErrUnreachable, bastion: "127.0.0.1:" + fmt.Sprint(closed), op: "connect",
			cfg: func(c *Config) {
				c.Jumps = []Config{{Host: "127.0.0.1", Port: closed, Password: "pw", InsecureIgnoreHostKey: true}}
			}},
		{name: "bastion handshake stall", want: ErrHandshakeTimeout, bastion: "127.0.0.1:" + fmt.Sprint(stall), op: "handshake",
			cfg: func(c *Config) {
				c.Jumps = []Config{{Host: "127.0.0.1", Port: stall, Password: "pw", InsecureIgnoreHostKey: true}}
			}},
		{name: "bastion forbids forwarding", want: ErrUnreachable, via: denying.addr(), op: "connect", msg: "AllowTcpForwarding",
			cfg: func(c *Config) { c.Jumps = []Config{jumpTo(denying, keyPEM)} }},
		{name: "bastion never opens the channel", want: ErrUnreachable, via: stallingFwd.addr(), op: "connect", msg: "did not connect to",
			cfg: func(c *Config) { c.Jumps = []Config{jumpTo(stallingFwd, keyPEM)} }},
		{name: "target down behind bastion", want: ErrUnreachable, via: bastion.addr(), op: "connect", msg: "could not connect to 127.0.0.1:" + fmt.Sprint(closed),
			cfg: func(c *Config) {
				c.Port = closed
				c.Jumps = []Config{jumpTo(bastion, keyPEM)}
			}},
		{name: "target handshake stall behind bastion", want: ErrHandshakeTimeout, via: bastion.addr(), op: "handshake",
			cfg: func(c *Config) {
				c.Port = stall
				c.Jumps = []Config{jumpTo(bastion, keyPEM)}
			}},
		{name: "target host key changed behind bastion", want: ErrHostKeyChanged, via: bastion.addr(), op: "hostkey", hostKeyHost: target.addr(),
			msg: "(through bastion " + bastion.addr() + ")",
			cfg: func(c *Config) {
				c.HostKey = authorizedLine(stranger)
				c.Jumps = []Config{jumpTo(bastion, keyPEM)}
			}},
		{name: "target auth refused behind bastion", want: ErrAuthFailed, via: bastion.addr(), op: "auth",
			cfg: func(c *Config) {
				c.PrivateKey = strangerPEM
				c.Jumps = []Config{jumpTo(bastion, keyPEM)}
			}},
		{name: "second hop host key unknown", want: ErrHostKeyUnknown, bastion: denying.addr(), op: "hostkey", hostKeyHost: denying.addr(),
			cfg: func(c *Config) {
				j := jumpTo(denying, keyPEM)
				j.HostKey, j.KnownHostsFile = "", writeKnownHosts(t, "# empty")
				c.Jumps = []Config{jumpTo(bastion, keyPEM), j}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // several wait out the timeout
			cfg := testConfig(t, target, keyPEM)
			cfg.Timeout = timeout
			tt.cfg(&cfg)
			start := time.Now()
			_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "echo hello", nil, false)
			elapsed := time.Since(start)
			e := checkErr(t, err, tt.want)
			t.Logf("%s: %v", elapsed.Round(time.Millisecond), err)
			if want := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)); e.Host != want {
				t.Errorf("Host = %q, want the target %q", e.Host, want)
			}
			if e.Bastion != tt.bastion || e.Via != tt.via || e.Op != tt.op {
				t.Errorf("Bastion/Via/Op = %q/%q/%q, want %q/%q/%q", e.Bastion, e.Via, e.Op, tt.bastion, tt.via, tt.op)
			}
			if tt.bastion != "" && !strings.Contains(err.Error(), "via bastion "+tt.bastion) {
				t.Errorf("message does not name the bastion: %v", err)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message lacks %q: %v", tt.msg, err)
			}
			if tt.hostKeyHost != "" {
				var hk *HostKeyError
				if !errors.As(err, &hk) || hk.Host != tt.hostKeyHost {
					t.Errorf("HostKeyError for %q, want %q: %v", hk, tt.hostKeyHost, err)
				}
			}
			if elapsed > 2*timeout+3*time.Second {
				t.Errorf("took %s with timeout %s", elapsed, timeout)
			}
			if len(target.execLog()) != 0 {
				t.Errorf("target ran commands")
			}
		})
	}
}

func TestJumpConfigErrorsNameTheHop(t *testing.T) {
	p := newTestPool(t)
	_, err := p.Host(Config{Host: "10.0.0.2", Password: "pw", InsecureIgnoreHostKey: true,
		Jumps: []Config{{Host: "10.0.0.1", Password: "pw", HostKey: "ssh-ed25519 garbage"}}})
	e := checkErr(t, err, ErrConfig)
	if e.Bastion != "10.0.0.1:22" || e.Host != "10.0.0.2:22" || !strings.Contains(err.Error(), "via bastion 10.0.0.1:22") {
		t.Errorf("error = %v (Bastion %q)", err, e.Bastion)
	}
	_, err = p.Host(Config{Host: "10.0.0.2", Password: "pw", InsecureIgnoreHostKey: true,
		Jumps: []Config{{Host: "10.0.0.1", InsecureIgnoreHostKey: true}}})
	if e := checkErr(t, err, ErrConfig); e.Bastion != "10.0.0.1:22" || !strings.Contains(err.Error(), "no authentication method") {
		t.Errorf("error = %v", err)
	}
	_, err = p.Host(Config{Host: "10.0.0.2", Password: "pw", InsecureIgnoreHostKey: true,
		Jumps: []Config{{Host: "-oProxyCommand=x", Password: "pw"}}})
	if e := checkErr(t, err, ErrConfig); e.Bastion != "#1" {
		t.Errorf("error = %v (Bastion %q)", err, e.Bastion)
	}
	if st := p.Stats(); st.Dials != 0 {
		t.Errorf("dialed: %+v", st)
	}
}

func TestJumpReconnectAfterBastionDrop(t *testing.T) {
	signer, keyPEM := clientKey(t)
	bastion := bastionServer(t, signer)
	target := newFakeServer(t, func(s *fakeServer) { s.authorized = []ssh.PublicKey{signer.PublicKey()} })
	p := newTestPool(t)
	cfg := testConfig(t, target, keyPEM)
	cfg.Jumps = []Config{jumpTo(bastion, keyPEM)}
	h := mustHost(t, p, cfg)
	if _, _, err := run(t, h, "echo hello", nil, false); err != nil {
		t.Fatal(err)
	}
	bastion.dropAll() // the bastion crashes: its connection and the tunnel die
	out, _, err := run(t, h, "echo hello", nil, false)
	if err != nil || out != "hello\n" {
		t.Fatalf("after bastion drop: %q, %v", out, err)
	}
	if got := bastion.acceptCount(); got != 2 {
		t.Errorf("bastion accepted %d connections, want 2 (one redial)", got)
	}
	if st := p.Stats(); st.Reconnects < 1 || st.Forwards != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

// stallListener accepts TCP connections and never speaks.
func stallListener(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
