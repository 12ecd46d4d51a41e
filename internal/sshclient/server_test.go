package sshclient

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// fakeServer is an in-process SSH server. Exec requests are interpreted by
// Go code (fakeShell); nothing is ever executed on this machine.
type fakeServer struct {
	t        testing.TB
	ln       net.Listener
	host     string
	port     int
	hostKeys []ssh.Signer

	// Authentication accepted by the server.
	authorized  []ssh.PublicKey
	userCA      ssh.PublicKey // accept user certificates signed by it (principal = user)
	password    string        // "password" method
	kbdPassword string        // "keyboard-interactive" method

	// Bastion behaviour: direct-tcpip channels.
	forward       bool        // open direct-tcpip channels (dial the target from here)
	forwardDenied bool        // reject them as "administratively prohibited"
	forwardStall  atomic.Bool // never answer channel open requests

	// Fake sudo behaviour.
	sudoPassword string // "" => NOPASSWD
	sudoDenied   bool   // user is not in sudoers
	sudoRefusal  string // sudo -n refuses with this text (a translated sudo), status 1
	sudoHang     bool   // sudo never prints anything
	splitPrompt  bool   // write the prompt in two chunks

	// loginShell, if set, plays a login shell that does not run our
	// command (nologin): it returns the exit status.
	loginShell func(e *execEnv) int

	stallGlobal atomic.Bool // read global requests but never reply

	mu        sync.Mutex
	execs     []string
	conns     []net.Conn
	accepts   int      // TCP connections accepted
	offered   []string // fingerprints of the public keys clients offered
	forwards  []string // "host:port" of direct-tcpip channels opened
	active    int
	maxActive int
}

func newFakeServer(t testing.TB, opts ...func(*fakeServer)) *fakeServer {
	t.Helper()
	s := &fakeServer{t: t, hostKeys: []ssh.Signer{newEd25519Signer(t)}}
	for _, o := range opts {
		o(s)
	}
	cfg := &ssh.ServerConfig{}
	if len(s.authorized) > 0 || s.userCA != nil {
		checker := &ssh.CertChecker{
			IsUserAuthority: func(auth ssh.PublicKey) bool {
				return s.userCA != nil && string(auth.Marshal()) == string(s.userCA.Marshal())
			},
			UserKeyFallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
				for _, k := range s.authorized {
					if string(k.Marshal()) == string(key.Marshal()) {
						return &ssh.Permissions{}, nil
					}
				}
				return nil, fmt.Errorf("key not authorized")
			},
		}
		cfg.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			s.offered = append(s.offered, ssh.FingerprintSHA256(key))
			s.mu.Unlock()
			return checker.Authenticate(c, key)
		}
	}
	if s.password != "" {
		cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if string(pw) == s.password {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("wrong password")
		}
	}
	if s.kbdPassword != "" {
		cfg.KeyboardInteractiveCallback = func(_ ssh.ConnMetadata, client ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := client("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(ans) == 1 && ans[0] == s.kbdPassword {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("wrong password")
		}
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.host = "127.0.0.1"
	s.port = ln.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.close)
	go s.serve(cfg)
	return s
}

func (s *fakeServer) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

func (s *fakeServer) close() {
	s.ln.Close()
	s.dropAll()
}

// dropAll closes every server-side TCP connection, as a crashing sshd would.
func (s *fakeServer) dropAll() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (s *fakeServer) execLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...)
}

func (s *fakeServer) maxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive
}

func (s *fakeServer) serve(cfg *ssh.ServerConfig) {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.accepts++
		s.mu.Unlock()
		go s.handleConn(nc, cfg)
	}
}

func (s *fakeServer) handleConn(nc net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return
	}
	defer sc.Close()
	connDone := make(chan struct{})
	go func() {
		sc.Wait()
		close(connDone)
	}()
	go func() {
		var held []*ssh.Request
		for r := range reqs {
			if s.stallGlobal.Load() {
				held = append(held, r) // never answered: a half-dead peer
				continue
			}
			r.Reply(false, nil) // what OpenSSH does for unknown requests
		}
		_ = held
	}()
	for nch := range chans {
		if nch.ChannelType() == "direct-tcpip" {
			go s.handleForward(nch, connDone)
			continue
		}
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go s.handleSession(sc, nc, connDone, ch, creqs)
	}
}

func (s *fakeServer) handleSession(sc *ssh.ServerConn, nc net.Conn, connDone <-chan struct{}, ch ssh.Channel, reqs <-chan *ssh.Request) {
	// Count a session from channel accept until just before its exit
	// status is sent: the client cannot have released its slot earlier.
	s.mu.Lock()
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	s.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			s.active--
			s.mu.Unlock()
		})
	}
	defer release()
	done := make(chan struct{})
	started := false
	for req := range reqs {
		if req.Type != "exec" || started {
			req.Reply(false, nil) // includes "signal"; the fake exits on close
			continue
		}
		var p struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &p); err != nil {
			req.Reply(false, nil)
			continue
		}
		started = true
		s.mu.Lock()
		s.execs = append(s.execs, p.Command)
		s.mu.Unlock()
		req.Reply(true, nil)
		go func() {
			defer close(done)
			status := s.fakeShell(&execEnv{user: sc.User(), conn: nc, ch: ch, stdin: bufio.NewReader(ch), connDone: connDone}, p.Command)
			release()
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
			ch.Close()
		}()
	}
	if started {
		<-done
	}
}

// handleForward serves a direct-tcpip channel as OpenSSH does for
// ProxyJump: dial the requested address from here and copy both ways.
func (s *fakeServer) handleForward(nch ssh.NewChannel, connDone <-chan struct{}) {
	var req struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &req); err != nil {
		nch.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	switch {
	case s.forwardStall.Load():
		<-connDone // never answered
		return
	case s.forwardDenied || !s.forward:
		nch.Reject(ssh.Prohibited, "open failed")
		return
	}
	target := net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port)))
	tc, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		nch.Reject(ssh.ConnectionFailed, "Connection refused")
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		tc.Close()
		return
	}
	s.mu.Lock()
	s.forwards = append(s.forwards, target)
	s.conns = append(s.conns, tc) // dropAll cuts forwarded connections too
	s.mu.Unlock()
	go ssh.DiscardRequests(reqs)
	go func() {
		io.Copy(tc, ch)
		tc.(*net.TCPConn).CloseWrite()
	}()
	go func() {
		io.Copy(ch, tc)
		ch.CloseWrite()
		ch.Close()
	}()
	<-connDone
	tc.Close()
}

func (s *fakeServer) acceptCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

func (s *fakeServer) offeredKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.offered...)
}

func (s *fakeServer) forwardLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.forwards...)
}

type execEnv struct {
	user  string
	conn  net.Conn
	ch    ssh.Channel
	stdin *bufio.Reader
	root  bool

	connDone <-chan struct{}
}

// commandShape matches the command lines commandLine builds: the blob
// (wrapper and script, base64-encoded) and the sudo part, if any.
var commandShape = regexp.MustCompile(`^sh -c 'echo yama-login >&2; B=\$\(echo ([A-Za-z0-9+/=]+) \| base64 -d\); ` +
	`(?:set -- "\$\{B#\*yama-split\}"; eval "\$\{B%%yama-split\*\}"|exec env LC_ALL=C (sudo -n|sudo -S -p \S+) -- sh -c "\$\{B%%yama-split\*\}" yama "\$\{B#\*yama-split\}" "\$\{LC_ALL-\}")'$`)

// parsedCommand is a command line taken apart.
type parsedCommand struct {
	sudo    string // "", "sudo -n" or "sudo -S -p PROMPT"
	wrapper string
	script  string
}

func parseCommand(cmd string) (parsedCommand, bool) {
	m := commandShape.FindStringSubmatch(cmd)
	if m == nil {
		return parsedCommand{}, false
	}
	blob, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return parsedCommand{}, false
	}
	w, sc, ok := strings.Cut(string(blob), splitMarker)
	if !ok {
		return parsedCommand{}, false
	}
	return parsedCommand{sudo: m[2], wrapper: w, script: sc}, true
}

// fakeShell understands exactly the command lines sshclient produces, and
// plays the login shell, sudo and the wrapper around fakeScript.
func (s *fakeServer) fakeShell(e *execEnv, cmd string) int {
	stderr := e.ch.Stderr()
	p, ok := parseCommand(cmd)
	if !ok {
		fmt.Fprintf(stderr, "fake: unsupported command shape %q\n", cmd)
		return 127
	}
	if s.loginShell != nil {
		return s.loginShell(e)
	}
	io.WriteString(stderr, loginMarker+"\n")
	switch {
	case p.sudo == "sudo -n":
		switch {
		case s.sudoRefusal != "":
			fmt.Fprint(stderr, s.sudoRefusal)
			return 1
		case s.sudoDenied:
			fmt.Fprintf(stderr, "sudo: %s is not in the sudoers file.  This incident will be reported.\n", e.user)
			return 1
		case s.sudoPassword != "":
			fmt.Fprint(stderr, "sudo: a password is required\n")
			return 1
		}
	case strings.HasPrefix(p.sudo, "sudo -S -p "):
		prompt := strings.TrimPrefix(p.sudo, "sudo -S -p ")
		if s.sudoHang {
			io.Copy(io.Discard, e.stdin) // silent until the client gives up
			return 1
		}
		if s.sudoPassword != "" {
			ok := false
			for try := 0; try < 3 && !ok; try++ {
				if s.splitPrompt {
					half := len(prompt) / 2
					io.WriteString(stderr, prompt[:half])
					time.Sleep(20 * time.Millisecond)
					io.WriteString(stderr, prompt[half:])
				} else {
					io.WriteString(stderr, prompt)
				}
				line, err := e.stdin.ReadString('\n') // sudo reads up to the newline only
				if err != nil {
					return 1
				}
				if strings.TrimSuffix(line, "\n") == s.sudoPassword {
					ok = true
				} else {
					time.Sleep(10 * time.Millisecond)
					io.WriteString(stderr, "Sorry, try again.\n")
				}
			}
			if !ok {
				io.WriteString(stderr, "sudo: 3 incorrect password attempts\n")
				return 1
			}
		}
		if s.sudoDenied {
			fmt.Fprintf(stderr, "%s is not in the sudoers file.  This incident will be reported.\n", e.user)
			return 1
		}
	}
	if p.sudo != "" {
		if !strings.HasPrefix(p.wrapper, sudoWrapperHead) {
			fmt.Fprint(stderr, "fake: sudo wrapper without its ready marker\n")
			return 2
		}
		io.WriteString(stderr, sudoReady+"\n")
		e.root = true
	}
	// The wrapper: our marker line first on stdin.
	if line, err := e.stdin.ReadString('\n'); err != nil || line != stdinMarker+"\n" {
		io.WriteString(stderr, inputLost+"\n")
		return 90
	}
	return s.fakeScript(e, p.script)
}

func (s *fakeServer) fakeScript(e *execEnv, script string) int {
	stdout, stderr := e.ch, e.ch.Stderr()
	switch {
	case script == "echo hello":
		io.WriteString(stdout, "hello\n")
	case script == "cat":
		io.Copy(stdout, e.stdin)
	case script == "whoami":
		if e.root {
			io.WriteString(stdout, "root\n")
		} else {
			io.WriteString(stdout, e.user+"\n")
		}
	case script == "sleep":
		time.Sleep(100 * time.Millisecond)
	case script == "hang":
		select { // until the connection goes away (test cleanup)
		case <-e.connDone:
		case <-time.After(10 * time.Second):
		}
	case script == "flood":
		chunk := make([]byte, 1<<16)
		for i := 0; i < 2*MaxOutput/len(chunk); i++ { // twice the bound
			if _, err := stdout.Write(chunk); err != nil {
				return 1
			}
		}
	case script == "drop":
		e.conn.Close() // connection lost mid-command
		return 0
	case script == "sudo-like failure":
		// A script of ours failing with a message that looks like sudo's.
		io.WriteString(stderr, "sudo: a password is required\n")
		return 1
	case strings.HasPrefix(script, "exit "):
		n, _ := strconv.Atoi(strings.TrimPrefix(script, "exit "))
		io.WriteString(stderr, "failing on purpose\n")
		return n
	default:
		fmt.Fprintf(stderr, "fake: unknown script %q\n", script)
		return 127
	}
	return 0
}

func newEd25519Signer(t testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newECDSASigner(t testing.TB) ssh.Signer {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
