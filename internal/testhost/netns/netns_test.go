package netns

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
)

// A chain a - b - c: a reaches b, b reaches c, a does not reach c, the
// root namespace gains nothing, and a host inside c is reachable only
// from b. Everything is gone after the test.
func TestChainIsolation(t *testing.T) {
	env := testhost.NewTestEnv(t)
	var names []string
	t.Run("chain", func(t *testing.T) {
		rootBefore := rootNetwork(t)
		n := New(t)
		a, b, c := n.Namespace("a"), n.Namespace("b"), n.Namespace("c")
		names = []string{a.Name, b.Name, c.Name}
		_, bAddr := n.Link(a, b)
		bcAddr, cAddr := n.Link(b, c)
		if got := rootNetwork(t); got != rootBefore {
			t.Errorf("root namespace changed:\nbefore %s\nafter  %s", rootBefore, got)
		}

		h, err := c.StartHost(env, testhost.Options{}, net.JoinHostPort(cAddr, "22"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := b.Dial(net.JoinHostPort(cAddr, "22"), 2*time.Second)
		if err != nil {
			t.Fatalf("b cannot reach the host in c: %v", err)
		}
		banner, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.HasPrefix(banner, "SSH-2.0-") {
			t.Errorf("banner = %q", banner)
		}
		if !strings.Contains(h.SSHLog(), "Connection from "+bcAddr) {
			t.Errorf("sshd did not log b's address %s:\n%s", bcAddr, h.SSHLog())
		}
		_, err = a.Dial(net.JoinHostPort(cAddr, "22"), 2*time.Second)
		if !errors.Is(err, syscall.ENETUNREACH) {
			t.Errorf("a reached c (or failed oddly): %v", err)
		}
		if _, err := a.Dial(net.JoinHostPort(bAddr, "9"), 2*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("a -> b: want connection refused on a closed port, got %v", err)
		}

		// The relay is the one way in from here.
		port := b.Relay(net.JoinHostPort(cAddr, "22"))
		rc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		banner, _ = bufio.NewReader(rc).ReadString('\n')
		rc.Close()
		if !strings.HasPrefix(banner, "SSH-2.0-") {
			t.Errorf("relayed banner = %q", banner)
		}
	})
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s left behind", n)
		}
	}
}

// Reconfigure restarts sshd with extra options and keeps the sandbox.
func TestReconfigure(t *testing.T) {
	env := testhost.NewTestEnv(t)
	h, err := env.Start(testhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := h.Pid
	if err := Reconfigure(h, SSHD{Options: []string{"MaxAuthTries 1", "Banner " + RunDir + "/banner"}, Files: map[string][]byte{"banner": []byte("hello\n")}}); err != nil {
		t.Fatal(err)
	}
	if !h.Running() || h.Pid != pid {
		t.Fatalf("sandbox restarted")
	}
	c, err := net.DialTimeout("tcp", h.Endpoint(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := Reconfigure(h, SSHD{Options: []string{"NoSuchOption yes"}}); err == nil || !strings.Contains(err.Error(), "rejects") {
		t.Errorf("bad option: %v", err)
	}
	if !h.Running() {
		t.Errorf("a rejected configuration killed the host")
	}
}

// rootNetwork summarises the root namespace's links, addresses and routes.
func rootNetwork(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{{"-o", "link"}, {"-o", "addr"}, {"route"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
	}
	return b.String()
}
