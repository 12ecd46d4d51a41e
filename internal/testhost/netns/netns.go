// Package netns gives tests private networks for sandbox hosts: network
// namespaces joined by veth pairs, sandbox sshd hosts (internal/testhost)
// started inside them, and a relay that makes one of them reachable from the
// test process on a loopback port. It also reconfigures a sandbox host's
// sshd (extra host keys, certificates, auth methods), which tests of host
// keys and authentication need.
//
// Nothing here touches the machine's own network: addresses (10.X.Y.0/24)
// exist only inside namespaces this package creates, the root namespace gets
// no interface, address or route, and every namespace and link is deleted
// when the test ends (stale ones left by a killed test binary are swept by
// the next run). Traffic only ever flows on loopback and between those
// namespaces.
package netns

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

const namePrefix = "yama-nt-"

// Available reports why namespaces cannot be created here (nil if they can).
func Available() error {
	if err := testhost.Available(); err != nil {
		return err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("netns: ip(8) missing (apt-get install iproute2)")
	}
	return nil
}

// Net is the set of namespaces and links of one test.
type Net struct {
	tb     testing.TB
	id     string // unique per Net: "<pid>-<n>"
	octet  int    // second octet of this Net's 10.octet.0.0/16
	mu     sync.Mutex
	spaces []*NS
	links  int
}

// NS is one network namespace (/run/netns/<Name>).
type NS struct {
	Name string
	net  *Net
}

var netCount struct {
	sync.Mutex
	n int
}

// New returns an empty Net whose namespaces are deleted when tb ends. It
// skips the test when Available reports a problem.
func New(tb testing.TB) *Net {
	tb.Helper()
	if err := Available(); err != nil {
		tb.Skip(err)
	}
	sweepStale()
	netCount.Lock()
	netCount.n++
	n := netCount.n
	netCount.Unlock()
	r, err := rand.Int(rand.Reader, big.NewInt(200))
	if err != nil {
		tb.Fatal(err)
	}
	nt := &Net{tb: tb, id: fmt.Sprintf("%d-%d", os.Getpid(), n), octet: 20 + int(r.Int64())}
	tb.Cleanup(nt.close)
	return nt
}

// Namespace creates a namespace with its loopback up.
func (n *Net) Namespace(label string) *NS {
	n.tb.Helper()
	ns := &NS{Name: namePrefix + n.id + "-" + label, net: n}
	if err := ip("netns", "add", ns.Name); err != nil {
		n.tb.Fatal(err)
	}
	n.mu.Lock()
	n.spaces = append(n.spaces, ns)
	n.mu.Unlock()
	if err := ip("-n", ns.Name, "link", "set", "lo", "up"); err != nil {
		n.tb.Fatal(err)
	}
	return ns
}

// Link joins a and b with a veth pair on a fresh /24 and returns their
// addresses (10.X.Y.1 in a, 10.X.Y.2 in b). Neither namespace forwards,
// so a link only connects its two ends.
func (n *Net) Link(a, b *NS) (addrA, addrB string) {
	n.tb.Helper()
	n.mu.Lock()
	n.links++
	y := n.links
	n.mu.Unlock()
	if y > 250 {
		n.tb.Fatal("netns: too many links")
	}
	ifA, ifB := fmt.Sprintf("v%d-%s", y, "a"), fmt.Sprintf("v%d-%s", y, "b")
	addrA, addrB = fmt.Sprintf("10.%d.%d.1", n.octet, y), fmt.Sprintf("10.%d.%d.2", n.octet, y)
	// Created directly inside the namespaces: the root namespace never
	// holds either end, not even for a moment.
	steps := [][]string{
		{"-n", a.Name, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.Name},
		{"-n", a.Name, "addr", "add", addrA + "/24", "dev", ifA},
		{"-n", b.Name, "addr", "add", addrB + "/24", "dev", ifB},
		{"-n", a.Name, "link", "set", ifA, "up"},
		{"-n", b.Name, "link", "set", ifB, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			n.tb.Fatal(err)
		}
	}
	return addrA, addrB
}

// LinkName returns the interface names of the i-th link (1-based), in a and
// in b, for tests that cut it (SetLink).
func LinkName(i int) (inA, inB string) { return fmt.Sprintf("v%d-a", i), fmt.Sprintf("v%d-b", i) }

// SetLink brings an interface of ns up or down (to cut a path mid-test).
func (ns *NS) SetLink(ifname string, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ip("-n", ns.Name, "link", "set", ifname, state)
}

// Do runs f on an OS thread that has joined ns, so sockets f creates and
// processes it starts live in ns. f must not rely on goroutines it starts
// running in ns.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is only unlocked once it is back in its own
		// namespace; otherwise it dies with this goroutine.
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer func() { _ = self.Close() }() // a read-only namespace handle
		target, err := os.Open("/run/netns/" + ns.Name)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET)
		_ = target.Close() // a read-only namespace handle, not needed once joined
		if err != nil {
			errc <- fmt.Errorf("netns: join %s: %w", ns.Name, err)
			return
		}
		ferr := f()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// Dial connects to addr from inside ns.
func (ns *NS) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}

// StartHost starts a sandbox host (see testhost.Env.Start) inside ns and
// makes its sshd listen on listen ("addr:port", e.g. an address from Link)
// as well. The host is stopped when the test ends.
func (ns *NS) StartHost(env *testhost.Env, opts testhost.Options, listen ...string) (*testhost.Host, error) {
	var h *testhost.Host
	err := ns.Do(func() error {
		var err error
		h, err = env.Start(opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	ns.net.tb.Cleanup(func() { _ = h.Stop() })
	if len(listen) == 0 {
		return h, nil
	}
	var lines []string
	for _, l := range listen {
		lines = append(lines, "ListenAddress "+l)
	}
	if err := Reconfigure(h, SSHD{Options: lines}); err != nil {
		return nil, err
	}
	for _, l := range listen { // listening now?
		c, err := ns.Dial(l, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("netns: %s not listening on %s in %s: %w\n%s", h.Name, l, ns.Name, err, h.SSHLog())
		}
		_ = c.Close() // only a probe: connecting was the test
	}
	return h, nil
}

// Relay listens on 127.0.0.1 (a random port) in the test's own namespace
// and forwards each connection to target inside ns: the one way into the
// private network, like a bastion's public address. It returns the port.
func (ns *NS) Relay(target string) int {
	tb := ns.net.tb
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		_ = ln.Close()
		tb.Fatalf("netns: relay listener has a %T address, not a TCP one", ln.Addr())
	}
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			_ = c.Close() // the relay is shutting down
			return false
		}
		conns = append(conns, c)
		return true
	}
	// Closing at cleanup is best effort: the test is over, and a
	// connection already closed by its peer has nothing left to report.
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if !track(c) {
					return
				}
				// The client sees the relay fail as a closed connection.
				up, err := ns.Dial(target, 10*time.Second)
				if err != nil {
					_ = c.Close()
					return
				}
				if !track(up) {
					_ = c.Close()
					return
				}
				// A relay has no one to report to: a copy ends when either
				// side goes away, and then passes the EOF on (half-close)
				// so the other side finishes too.
				go func() {
					_, _ = io.Copy(up, c)
					closeWrite(up)
				}()
				_, _ = io.Copy(c, up)
				closeWrite(c)
			}()
		}
	}()
	return addr.Port
}

// closeWrite half-closes one side of a relayed connection, so its peer
// reads EOF. An error means the peer is already gone, which is fine.
func closeWrite(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		// Both sides are dialled or accepted over "tcp".
		panic(fmt.Sprintf("netns: relay connection is a %T, want *net.TCPConn", c))
	}
	_ = tc.CloseWrite()
}

// close deletes the namespaces (and with them their links). Hosts running
// in them were stopped by their own cleanups, which run first.
func (n *Net) close() {
	n.mu.Lock()
	spaces := n.spaces
	n.spaces = nil
	n.mu.Unlock()
	for i := len(spaces) - 1; i >= 0; i-- {
		if err := ip("netns", "delete", spaces[i].Name); err != nil {
			n.tb.Errorf("netns cleanup: %v", err)
		}
	}
}

// sweepStale deletes namespaces of test binaries that no longer run.
func sweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, namePrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidText); os.IsNotExist(err) {
			_ = ip("netns", "delete", name)
		}
	}
}

func ip(args ...string) error {
	cmd := exec.Command("ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
