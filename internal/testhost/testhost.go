// Package testhost starts sandbox hosts for tests: real OpenSSH sshd
// processes on loopback addresses (127.X.Y.Z), each in its own mount, UTS
// and PID namespace, with a fake writable Yama file and private sysctl
// directories.
//
// Inside a sandbox the whole root filesystem, /proc/sys, /sys and /dev are
// read-only (device nodes still work; /dev/shm is a private tmpfs); only the
// host's private tree (Host.Dir + "/fs", which mirrors
// the sandbox paths, see Host.Path) is writable: /etc (a composite of the
// real /etc bound back read-only plus private passwd, shadow, group,
// sudoers, hosts, hostname, sysctl.conf, sysctl.d), /run, /tmp, /var/tmp,
// /root, /home, /usr/lib/sysctl.d, /usr/local/lib/sysctl.d, /var/lib/sudo
// and /proc/sys/kernel/yama. The real kernel and system files cannot be
// changed from a sandbox.
//
// Processes that import this package can be re-executed as the namespace
// setup helper (see helper.go); that is how hosts start without a shell and
// hundreds of mount commands.
package testhost

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Test users present on every sandbox host, in addition to root (which
// logs in with the client key only).
const (
	UserRoot  = "root"
	UserSudo  = "yamasudo" // uid 2000, sudo without password
	UserPW    = "yamapw"   // uid 2001, sudo with password PasswordPW
	UserPlain = "yamauser" // uid 2002, no sudo; password PasswordUser

	PasswordPW   = "yamapw-Secret-1"
	PasswordUser = "yamauser-Secret-2"

	// YamaPath is the Yama sysctl file as seen inside a sandbox.
	YamaPath = "/proc/sys/kernel/yama/ptrace_scope"

	sshdPath = "/usr/sbin/sshd"
)

// Users lists every account that accepts the Env's client key.
var Users = []string{UserRoot, UserSudo, UserPW, UserPlain}

// Options describe one sandbox host. The zero value is a host with Yama at
// "1", empty sysctl directories, an empty /etc/sysctl.conf and sshd on 22.
type Options struct {
	NoYama          bool              // no /proc/sys/kernel/yama at all
	Scope           string            // initial ptrace_scope content, default "1" ("\n" is appended if missing)
	ReadOnlyProcSys bool              // yama file exists but its mount is read-only (EROFS)
	NoSysctlConf    bool              // no /etc/sysctl.conf (like Debian 13)
	Files           map[string]string // sandbox path -> content; only in private dirs
	Symlinks        map[string]string // sandbox path -> link target; only in private dirs
	Port            int               // default 22

	// ReadOnlySysctlD makes /etc/sysctl.d a read-only mount inside the
	// sandbox (writes fail with EROFS); its files are still seeded from
	// Files and writable from outside through Path.
	ReadOnlySysctlD bool
	// SysctlDSize, when positive, puts /etc/sysctl.d on a tmpfs of that
	// many bytes (rounded up to whole pages) inside the sandbox, seeded
	// with what Files and Symlinks put there, so that "disk full" is real
	// (ENOSPC). The tmpfs exists only in the sandbox's mount namespace:
	// while the host runs, Path reaches it through /proc/PID/root (see
	// FillSysctlD).
	SysctlDSize int
	// AuditCommands records every command the host is asked to run: sshd
	// runs each exec request through a ForceCommand that appends
	// $SSH_ORIGINAL_COMMAND (the exact command string the client sent) to
	// a log before running it as usual, and sudo logs each run (user and
	// COMMAND=) to its own log file. See CommandLog and SudoLog.
	AuditCommands bool
	// Locale, e.g. "de_DE.UTF-8", is the locale of every session (sshd
	// SetEnv LANG and LOCPATH): tools then print translated messages, as
	// on a host whose /etc/default/locale is not English. The locale is
	// compiled with localedef once per Env (see CanBuildLocale).
	Locale string
	// Shells sets login shells: user (root or a test user) -> the shell's
	// path as /etc/passwd holds it, e.g. "/usr/bin/fish", "/bin/tcsh",
	// "/usr/sbin/nologin" or BusyboxShell. sshd runs every command as
	// `<shell> -c <command>`. Unset users keep /bin/sh (root: the
	// machine's root shell). The path must exist on this machine (or be
	// BusyboxShell); a missing shell is an error of Start.
	Shells map[string]string
}

// BusyboxShell is a login shell path that runs busybox's sh: a symlink
// named sh to the machine's busybox, in the sandbox's /run (busybox picks
// its applet from the name it is run as, and sshd runs a login shell
// under the last element of its path).
const BusyboxShell = "/run/testhost/busybox/sh"

// Env owns the client key, known_hosts and every host started from it.
type Env struct {
	Dir string

	hostsDir  string // host trees: on tmpfs when possible (see makeHostsDir)
	keyPEM    string
	pubLine   string // authorized_keys line of the client key
	layout    *layout
	sshdExtra string   // sshd_config lines that depend on the sshd version
	octet     int      // second octet of this Env's 127.octet.0.0/16 block
	blockLock *os.File // held while the Env lives: see reserveBlock

	locales sync.Map // locale name -> *localeBuild

	mu     sync.Mutex
	next   int
	hosts  []*Host
	closed bool
}

// Host is one running (or stopped) sandbox host.
type Host struct {
	Name    string // hostname inside its UTS namespace, e.g. yama-h3
	Addr    string // e.g. 127.123.0.3
	Port    int
	HostKey string // "ssh-ed25519 AAAA..." (authorized_keys format, no comment)
	Dir     string // the host's files; Dir/fs mirrors its private paths (on /dev/shm when that is tmpfs)
	Pid     int    // sshd's pid (outside view); killing it tears the sandbox down

	env  *Env
	opts Options
	cmd  *exec.Cmd
	done chan struct{} // closed once sshd has been reaped
}

// Available reports why sandbox hosts cannot run here (nil if they can).
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("testhost: sandbox hosts need root (mount namespaces, sshd)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return fmt.Errorf("testhost: %s missing (apt-get install openssh-server sudo)", sshdPath)
	}
	return nil
}

// NewTestEnv returns an Env in tb.TempDir() that is closed with the test,
// or skips the test when Available reports a problem.
func NewTestEnv(tb testing.TB) *Env {
	tb.Helper()
	if err := Available(); err != nil {
		tb.Skip(err)
	}
	e, err := NewEnv(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Error(err)
		}
	})
	return e
}

// NewEnv prepares dir (created if missing; it should be empty) for hosts:
// the client key (dir/id_ed25519, OpenSSH format), an empty
// dir/known_hosts and a random 127.X.0.0/16 block so concurrent test
// binaries rarely collide (Start also skips addresses already in use).
func NewEnv(dir string) (*Env, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	hostsDir, err := makeHostsDir(dir)
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "testhost client")
	if err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	octet, lock, err := reserveBlock()
	if err != nil {
		return nil, err
	}
	lay, err := planLayout()
	if err != nil {
		return nil, err
	}
	e := &Env{
		Dir:       dir,
		hostsDir:  hostsDir,
		keyPEM:    string(pem.EncodeToMemory(block)),
		pubLine:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))),
		layout:    lay,
		sshdExtra: sshdVersionOptions(),
		octet:     octet,
		blockLock: lock,
	}
	if err := os.WriteFile(e.ClientKeyPath(), []byte(e.keyPEM), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(e.ClientKeyPath()+".pub", []byte(e.pubLine+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(e.KnownHostsPath(), nil, 0o644); err != nil {
		return nil, err
	}
	return e, nil
}

// ClientKeyPEM is the client's private key (OpenSSH PEM, unencrypted).
func (e *Env) ClientKeyPEM() string { return e.keyPEM }

// ClientKeyPath is the file holding ClientKeyPEM (mode 0600).
func (e *Env) ClientKeyPath() string { return filepath.Join(e.Dir, "id_ed25519") }

// ClientPublicKey is the client key in authorized_keys format.
func (e *Env) ClientPublicKey() string { return e.pubLine }

// KnownHostsPath is a known_hosts file listing every host started so far.
func (e *Env) KnownHostsPath() string { return filepath.Join(e.Dir, "known_hosts") }

// Hosts returns the hosts started so far (including stopped ones).
func (e *Env) Hosts() []*Host {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*Host(nil), e.hosts...)
}

// Start starts one host and waits until its sshd listens. It is safe for
// concurrent use.
func (e *Env) Start(opts Options) (*Host, error) {
	if opts.Port == 0 {
		opts.Port = 22
	}
	if opts.Scope == "" {
		opts.Scope = "1"
	}
	h, err := e.allocate(opts.Port)
	if err != nil {
		return nil, err
	}
	h.opts = opts
	spec, err := e.layout.build(h, opts, e)
	if err != nil {
		return nil, fmt.Errorf("testhost: prepare %s: %w", h.Name, err)
	}
	if err := h.launch(spec); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed { // Close ran meanwhile: do not leak the process.
		_ = h.Stop()
		return nil, errors.New("testhost: env closed")
	}
	e.hosts = append(e.hosts, h)
	return h, e.writeKnownHosts()
}

// StartMany starts n hosts with the same options, a few at a time (the
// work is CPU-bound: more parallelism than cores buys little). On error
// the hosts started so far stay registered and are stopped by Close.
func (e *Env) StartMany(n int, opts Options) ([]*Host, error) {
	hosts := make([]*Host, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4*runtime.NumCPU())
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			hosts[i], errs[i] = e.Start(opts)
		}()
	}
	wg.Wait()
	return hosts, errors.Join(errs...)
}

// allocate reserves a name and a free loopback address.
func (e *Env) allocate(port int) (*Host, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("testhost: env closed")
	}
	for e.next < 254*256 {
		e.next++
		i := e.next
		// Skip .0 and .255 in the last octet: valid on lo, but confusing.
		addr := fmt.Sprintf("127.%d.%d.%d", e.octet, (i-1)/254, (i-1)%254+1)
		// Another test binary may have drawn the same block.
		l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close() // only a probe that the address is free
		name := fmt.Sprintf("yama-h%d", i)
		return &Host{Name: name, Addr: addr, Port: port, Dir: filepath.Join(e.hostsDir, name), env: e}, nil
	}
	return nil, errors.New("testhost: no free loopback address")
}

// Loopback blocks 127.N.0.0/16 with N in [firstOctet, firstOctet+octets)
// are shared by every process using this package (go test runs several
// packages' test binaries at once).
const (
	firstOctet = 100
	octets     = 151
)

// reserveBlock picks this Env's loopback block, starting at a random one,
// and holds an exclusive lock on a file named after it: two Envs, in this
// process or another, never share a block, so one never takes an address
// that another's stopped host left (a test expecting "refused" would meet
// the other's sshd and its host key). The kernel drops the lock when the
// process ends, however it ends.
func reserveBlock() (int, *os.File, error) {
	if err := os.MkdirAll(filepath.Dir(blockFile(0)), 0o700); err != nil {
		return 0, nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(octets))
	if err != nil {
		return 0, nil, err
	}
	for i := 0; i < octets; i++ {
		octet := firstOctet + (int(n.Int64())+i)%octets
		f, err := os.OpenFile(blockFile(octet), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return 0, nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return octet, f, nil
		}
		_ = f.Close()
	}
	return 0, nil, errors.New("testhost: every loopback block is in use by other test processes")
}

// blockFile is the lock file of a block, shared by every process.
func blockFile(octet int) string {
	return filepath.Join(os.TempDir(), "yama-testhost-blocks", strconv.Itoa(octet)+".lock")
}

// writeKnownHosts rewrites known_hosts atomically; e.mu must be held.
func (e *Env) writeKnownHosts() error {
	var b strings.Builder
	for _, h := range e.hosts {
		b.WriteString(h.KnownHostsLine() + "\n")
	}
	tmp := e.KnownHostsPath() + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, e.KnownHostsPath())
}

// Close stops every host and removes the files NewEnv and Start created.
func (e *Env) Close() error {
	e.mu.Lock()
	e.closed = true
	hosts := e.hosts
	e.mu.Unlock()
	if e.blockLock != nil {
		defer func() { _ = e.blockLock.Close() }() // frees the block for other processes
	}
	for _, h := range hosts { // kill all first: namespace teardown overlaps
		_ = h.cmd.Process.Kill()
	}
	var errs []error
	for _, h := range hosts {
		errs = append(errs, h.Stop())
	}
	// Safe even if a namespace were still alive: its mounts are private,
	// so outside the host trees hold only plain files.
	if err := os.RemoveAll(e.hostsDir); err != nil {
		errs = append(errs, err)
	}
	for _, p := range []string{"hosts", "id_ed25519", "id_ed25519.pub", "known_hosts", "known_hosts.tmp"} {
		if err := os.RemoveAll(filepath.Join(e.Dir, p)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Endpoint is "addr:port".
func (h *Host) Endpoint() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// KnownHostsLine is the host's known_hosts line ([addr]:port unless 22).
func (h *Host) KnownHostsLine() string {
	if h.Port == 22 {
		return h.Addr + " " + h.HostKey
	}
	return fmt.Sprintf("[%s]:%d %s", h.Addr, h.Port, h.HostKey)
}

// Path maps a sandbox path to the outside path of the same file, so tests
// can read or change host state behind the provider's back, e.g.
// Path(YamaPath), Path("/etc/sysctl.d/10-ptrace.conf"). Paths outside the
// private dirs (read-only inside the sandbox) map to themselves.
//
// With Options.SysctlDSize, /etc/sysctl.d is a tmpfs that only the
// sandbox's mount namespace has: while the host runs, its paths map to
// /proc/PID/root/etc/sysctl.d/..., which the kernel resolves in that
// namespace.
func (h *Host) Path(p string) string {
	p = filepath.Clean("/" + p)
	if h.opts.SysctlDSize > 0 && under(p, sysctlD) && h.cmd != nil && h.Running() {
		return fmt.Sprintf("/proc/%d/root%s", h.Pid, p)
	}
	if h.env.layout.private(p) {
		return filepath.Join(h.Dir, "fs", p)
	}
	return p
}

// SSHLog returns sshd's log (LogLevel VERBOSE: one "Connection from" line
// per TCP connection).
func (h *Host) SSHLog() string {
	b, _ := os.ReadFile(h.Path("/run/testhost/sshd.log"))
	return string(b)
}

// Stop kills the host (sshd is PID 1 of the sandbox, so every session
// dies with it) and waits for it. Stopping a stopped host is a no-op.
func (h *Host) Stop() error {
	select {
	case <-h.done:
		return nil
	default:
	}
	if err := h.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-h.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("testhost: %s (pid %d) did not exit", h.Name, h.Pid)
	}
}

// Running reports whether the host's sshd is still alive.
func (h *Host) Running() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// launch starts the helper (which becomes sshd) and waits until sshd
// listens: sshd writes its PidFile only after listen(2), so the pid file
// is a readiness signal that does not add a connection to the log.
func (h *Host) launch(spec string) error {
	logf, err := os.Create(filepath.Join(h.Dir, "helper.log"))
	if err != nil {
		return err
	}
	// The helper writes through its own copy of the fd; ours is only
	// handed over, and the log is read back by path.
	defer func() { _ = logf.Close() }()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"yama-testhost-helper", h.Name}
	cmd.Env = []string{specEnv + "=" + spec}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf // a file, not a pipe: no copy goroutine, no Wait hang
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID, // sshd becomes PID 1: killing it kills all sessions
		Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
		Pdeathsig:    syscall.SIGKILL, // best effort if the test binary dies
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhost: start %s: %w", h.Name, err)
	}
	h.cmd, h.Pid, h.done = cmd, cmd.Process.Pid, make(chan struct{})
	go func() { _ = cmd.Wait(); close(h.done) }()

	pidFile := h.Path("/run/testhost/sshd.pid")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			return nil
		}
		select {
		case <-h.done:
			return fmt.Errorf("testhost: %s exited before listening:\n%s", h.Name, h.logTail())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = h.Stop()
			return fmt.Errorf("testhost: %s not listening on %s after 10s:\n%s", h.Name, h.Endpoint(), h.logTail())
		}
	}
}

func (h *Host) logTail() string {
	helper, _ := os.ReadFile(filepath.Join(h.Dir, "helper.log"))
	s := string(helper) + h.SSHLog()
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}
