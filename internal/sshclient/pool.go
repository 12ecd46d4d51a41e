package sshclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultKeepalive is how often pooled connections are probed. Well under
// common NAT/firewall idle timeouts and OpenSSH ClientAliveInterval setups.
const DefaultKeepalive = 15 * time.Second

// DefaultIdleClose is how long a pooled connection may sit unused before
// the pool closes it; the next command to that host logs in again. Within
// one Terraform walk a host's resource and data sources use its connection
// within moments of each other, and then never again. Holding every
// connection to the end of the walk cost about 75 KB of provider memory
// per host (the connection's buffers, its 8 goroutines, the dial's request
// context that its auth callbacks keep) and two sshd processes per host:
// with 1000 hosts the provider peaked at 235-247 MB RSS holding every
// connection, 166-170 MB closing idle ones (make bench, one run).
const DefaultIdleClose = 5 * time.Second

// Logger receives diagnostic events. Fields never contain secrets.
type Logger func(ctx context.Context, msg string, fields map[string]any)

// Option configures a Pool.
type Option func(*Pool)

// WithLogger sets the diagnostic hook (e.g. a tflog adapter in the provider).
func WithLogger(l Logger) Option { return func(p *Pool) { p.logger = l } }

// WithKeepalive sets how often pooled connections are probed (<= 0
// disables keepalives) and how long a probe may go unanswered before the
// connection is dropped (0 => the connection's Config.Timeout).
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(p *Pool) { p.keepalive, p.keepaliveTimeout = interval, timeout }
}

// WithIdleClose sets how long an unused connection stays open (<= 0:
// until Close). A bastion stays open while the pool lives: the connections
// behind it depend on it.
func WithIdleClose(d time.Duration) Option { return func(p *Pool) { p.idleClose = d } }

// Stats are monotonically increasing counters, for tests and benchmarks.
type Stats struct {
	Dials      int64 // connection attempts, over TCP or through a bastion (every hop counts)
	Forwards   int64 // connections opened through a bastion (direct-tcpip channels)
	Handshakes int64 // successful SSH handshakes (incl. authentication)
	Sessions   int64 // exec sessions opened
	Reconnects int64 // dials made to replace a connection that was lost
	IdleClosed int64 // connections closed after IdleClose unused
}

// Pool shares one SSH connection per (address, user, credentials, host key
// policy) across all Host values. One Pool per provider process.
type Pool struct {
	logger           Logger
	keepalive        time.Duration
	keepaliveTimeout time.Duration
	idleClose        time.Duration
	salt             []byte

	closed  atomic.Bool
	mu      sync.Mutex
	conns   map[string]*connEntry
	signers map[[32]byte]ssh.Signer // parsed private keys, see parseKey

	knownHosts knownHostsCache

	dials, forwards, handshakes, sessions, reconnects, idleClosed atomic.Int64
}

// NewPool returns an empty pool; nothing is dialed until Host.Run.
func NewPool(opts ...Option) *Pool {
	p := &Pool{keepalive: DefaultKeepalive, idleClose: DefaultIdleClose, conns: map[string]*connEntry{}, signers: map[[32]byte]ssh.Signer{}, salt: make([]byte, 32)}
	rand.Read(p.salt)
	for _, o := range opts {
		o(p)
	}
	return p
}

// Host validates cfg and returns a handle. It does not dial.
func (p *Pool) Host(cfg Config) (*Host, error) {
	if p.closed.Load() {
		return nil, &Error{Op: "config", Err: ErrPoolClosed}
	}
	r, err := resolve(cfg, p.salt, p.parseKey)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Bastions are pool entries like any host: one connection to a bastion
	// serves every host behind it (and the bastion itself as a target).
	var via *connEntry
	for _, j := range r.jumps {
		via = p.entry(j, via)
		via.bastion.Store(true)
	}
	e := p.entry(r, via)
	// The cap is per connection; the strictest Host sharing it wins.
	e.sem.lower(r.MaxSessions)
	return &Host{pool: p, r: r, conn: e}, nil
}

// entry returns the pool slot for r, creating it; p.mu must be held. The
// key includes the route, so an existing entry always has the same via.
func (p *Pool) entry(r *resolved, via *connEntry) *connEntry {
	e := p.conns[r.connKey]
	if e == nil {
		e = &connEntry{pool: p, addr: r.addr, via: via, sem: newSemaphore(r.MaxSessions)}
		p.conns[r.connKey] = e
	}
	return e
}

// parseKey caches parsed keys so Host() stays cheap when the provider calls
// it per resource: decrypting an OpenSSH key runs bcrypt_pbkdf (~0.1s).
func (p *Pool) parseKey(pemText, passphrase string) (ssh.Signer, error) {
	h := sha256.New()
	h.Write(p.salt)
	_, _ = fmt.Fprintf(h, "%d:%s%d:%s", len(pemText), pemText, len(passphrase), passphrase) // a hash.Hash never returns a write error
	var id [32]byte
	h.Sum(id[:0])
	p.mu.Lock()
	s, ok := p.signers[id]
	p.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := parsePrivateKey(pemText, passphrase)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.signers[id] = s
	p.mu.Unlock()
	return s, nil
}

// Close closes every pooled connection; running sessions fail. Further
// Host and Run calls return ErrPoolClosed.
func (p *Pool) Close() error {
	p.closed.Store(true)
	p.mu.Lock()
	entries := make([]*connEntry, 0, len(p.conns))
	for _, e := range p.conns {
		entries = append(entries, e)
	}
	p.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		c := e.cur
		e.cur = nil
		e.mu.Unlock()
		if c != nil {
			// Best effort: the pool is going away, and a connection that
			// fails to close cleanly is gone all the same.
			_ = c.client.Close()
		}
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (p *Pool) Stats() Stats {
	return Stats{
		Dials:      p.dials.Load(),
		Forwards:   p.forwards.Load(),
		Handshakes: p.handshakes.Load(),
		Sessions:   p.sessions.Load(),
		Reconnects: p.reconnects.Load(),
		IdleClosed: p.idleClosed.Load(),
	}
}

// backgroundCtx is the context events between requests (keepalive drops,
// idle closes) are logged with: none of a request's. A request's context
// carries the plugin SDK's loggers, which are not safe to use from another
// goroutine while the request runs: tflog masks a log's fields in place,
// in a map the context shares, and an idle close logged with another
// request's context crashed the provider ("concurrent map iteration and
// map write") in a 1000-host plan. The provider's logger drops events
// without a request; the next command's dial is logged.
func (p *Pool) backgroundCtx() context.Context { return context.Background() }

func (p *Pool) log(ctx context.Context, msg string, fields map[string]any) {
	if p.logger == nil {
		return
	}
	if g, _ := ctx.Value(logGateKey{}).(*logGate); g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.closed {
			return
		}
	}
	p.logger(ctx, msg, fields)
}

// logGate lets a detached dial log with the context of the request that
// started it only while that request still waits for it (see get): the
// plugin SDK's logger is not safe for two goroutines at once on one
// context, and a request that stopped waiting goes on using its context.
// Logging holds the gate's lock, so once close returns no dial log is
// running or will run with that context.
type logGate struct {
	mu     sync.Mutex
	closed bool
}

type logGateKey struct{}

func withLogGate(ctx context.Context) (context.Context, *logGate) {
	g := &logGate{}
	return context.WithValue(ctx, logGateKey{}, g), g
}

func (g *logGate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// Host is a validated target. Many Host values may share one connection.
type Host struct {
	pool *Pool
	r    *resolved
	conn *connEntry
}

// Name returns "host:port" (IPv6 bracketed).
func (h *Host) Name() string { return h.r.addr }

// Route returns the bastions' "host:port", first hop first; empty for a
// direct connection.
func (h *Host) Route() []string { return h.r.route() }

// String never prints credentials, whatever verb is used.
func (h *Host) String() string { return fmt.Sprintf("sshclient.Host(%s@%s)", h.r.User, h.r.addr) }

// via is the last bastion's "host:port", "" for a direct connection.
func (h *Host) via() string {
	if v := h.r.via(); v != nil {
		return v.addr
	}
	return ""
}

// ReuseKey identifies the pooled connection h uses: hosts with equal keys
// share one connection. It is a salted digest, never the secrets.
func (h *Host) ReuseKey() string { return h.r.connKey }
