package testhost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Fault injection for tests: cutting connections, holding the live write,
// filling /etc/sysctl.d, and reading the audit logs.

// DropConnections kills every process of the sandbox except sshd's
// listener (PID 1 inside): each SSH connection's sshd and everything it
// started. To clients this is a connection cut at that instant; the host
// keeps accepting new connections, and connections made after the call
// (a client redialing at once) are left alone. It returns how many
// processes it killed.
func (h *Host) DropConnections() (int, error) {
	if !h.Running() {
		return 0, fmt.Errorf("testhost: %s is not running", h.Name)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h.Pid))
	if err != nil {
		return 0, err
	}
	killed := map[int]bool{}
	// The first round kills what runs now; later rounds kill only what
	// those processes forked meanwhile (whose parent is one we killed), so
	// a new connection to the listener survives.
	for round := 0; round < 100; round++ {
		found := 0
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return len(killed), err
		}
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == h.Pid || killed[pid] {
				continue
			}
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || l != ns {
				continue
			}
			st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			state, ppid := statFields(st)
			if state == 'Z' || state == 'X' || (round > 0 && !killed[ppid]) {
				continue
			}
			found++
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				killed[pid] = true
			}
		}
		if found == 0 && round > 0 {
			return len(killed), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return len(killed), fmt.Errorf("testhost: %s: processes kept forking while dropping connections", h.Name)
}

// Processes lists the command lines (arguments joined by spaces) of the
// live processes of the sandbox other than sshd's listener (PID 1 inside):
// each connection's sshd and everything the sessions started. A test uses
// it to check that a command it gave up on is really gone from the host.
func (h *Host) Processes() ([]string, error) {
	if !h.Running() {
		return nil, fmt.Errorf("testhost: %s is not running", h.Name)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", h.Pid))
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == h.Pid {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err != nil || l != ns {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // exited meanwhile
		}
		if state, _ := statFields(st); state == 'Z' || state == 'X' {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		out = append(out, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return out, nil
}

// ProcessesLeft waits up to within for the host's processes whose command
// line contains marker to go, and returns those still there.
func (h *Host) ProcessesLeft(marker string, within time.Duration) ([]string, error) {
	deadline := time.Now().Add(within)
	for {
		ps, err := h.Processes()
		if err != nil {
			return nil, err
		}
		var left []string
		for _, p := range ps {
			if strings.Contains(p, marker) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statFields returns the state and parent pid from a /proc/PID/stat line.
func statFields(stat []byte) (state byte, ppid int) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')') // comm may contain spaces and parens
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid
}

// FillSysctlD fills the sized tmpfs of a host started with
// Options.SysctlDSize until the kernel answers ENOSPC, with a file whose
// name no sysctl tool reads (.testhost-filler). Every later write in
// /etc/sysctl.d then fails with "No space left on device".
func (h *Host) FillSysctlD() (err error) {
	if h.opts.SysctlDSize <= 0 {
		return errors.New("testhost: FillSysctlD needs Options.SysctlDSize")
	}
	f, err := os.OpenFile(h.Path(sysctlD+"/.testhost-filler"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	chunk := make([]byte, 4096)
	for i := 0; i <= h.opts.SysctlDSize/len(chunk)+1; i++ {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
	// Page rounding may leave a sliver: write byte by byte until full.
	for i := 0; i < 1<<16; i++ {
		if _, err := f.Write(chunk[:1]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
	return fmt.Errorf("testhost: %s: /etc/sysctl.d never filled up", h.Name)
}

// CommandLog returns, in order, every command string clients sent to a
// host started with Options.AuditCommands, exactly as sshd received it.
func (h *Host) CommandLog() []string {
	b, _ := os.ReadFile(h.Path(commandLog))
	var out []string
	for _, c := range strings.Split(string(b), commandEnd) {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// SudoLog returns sudo's own log of a host started with
// Options.AuditCommands: one entry per sudo run, with the user and the
// COMMAND= sudo executed (or the reason it refused).
func (h *Host) SudoLog() string {
	b, _ := os.ReadFile(h.Path(sudoLog))
	return string(b)
}

// WriteGate holds every open of a host's Yama file for writing until the
// test answers it; opens for reading pass at once. With it, an apply runs
// up to its live write and stops there, deterministically, so a test can
// cut the connection exactly between the drop-in write and the live write.
// It uses fanotify permission events (FAN_OPEN_PERM) on the file's inode,
// which the sandbox shares through a bind mount.
//
// While a gate is open, do not write the Yama file from the test's own
// goroutines (setHostFile): that open would be held too.
type WriteGate struct {
	f    *os.File
	held chan struct{} // closed when the first write is held
	done chan struct{} // closed when the event loop ends

	mu      sync.Mutex
	pending []int32 // event fds of held opens, awaiting an answer
	answer  uint32  // 0: hold new writes; else FAN_ALLOW or FAN_DENY
	heldBy  []string
	loopErr error
}

// GateYamaWrites starts holding writes to the host's Yama file.
func (h *Host) GateYamaWrites() (*WriteGate, error) {
	if h.opts.NoYama {
		return nil, errors.New("testhost: the host has no Yama file")
	}
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_TID, uint(os.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC))
	if err != nil {
		return nil, fmt.Errorf("testhost: fanotify_init: %w", err)
	}
	if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, unix.AT_FDCWD, h.Path(YamaPath)); err != nil {
		_ = unix.Close(fd) // best effort: the fanotify_mark error is what matters
		return nil, fmt.Errorf("testhost: fanotify_mark %s: %w", h.Path(YamaPath), err)
	}
	g := &WriteGate{f: os.NewFile(uintptr(fd), "fanotify"), held: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	return g, nil
}

// Held is closed once a write is being held.
func (g *WriteGate) Held() <-chan struct{} { return g.held }

// HeldBy describes the processes whose writes were held (pid, command line).
func (g *WriteGate) HeldBy() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.heldBy...)
}

// Release answers the held writes, and every later one: allow lets them
// proceed; deny fails their open with EPERM.
func (g *WriteGate) Release(allow bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answer = unix.FAN_DENY
	if allow {
		g.answer = unix.FAN_ALLOW
	}
	for _, fd := range g.pending {
		g.respond(fd, g.answer)
	}
	g.pending = nil
}

// Close allows whatever is still held and removes the gate.
func (g *WriteGate) Close() error {
	g.mu.Lock()
	if g.answer == 0 {
		g.answer = unix.FAN_ALLOW
	}
	for _, fd := range g.pending {
		g.respond(fd, g.answer)
	}
	g.pending = nil
	g.mu.Unlock()
	err := g.f.Close()
	<-g.done
	return err
}

const fanMetaLen = 24 // struct fanotify_event_metadata

func (g *WriteGate) loop() {
	defer close(g.done)
	buf := make([]byte, 4096)
	for {
		n, err := g.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				g.mu.Lock()
				g.loopErr = err
				g.mu.Unlock()
			}
			return
		}
		for off := 0; off+fanMetaLen <= n; {
			ev := buf[off:]
			length := binary.NativeEndian.Uint32(ev[0:4])
			mask := binary.NativeEndian.Uint64(ev[8:16])
			fd := int32(binary.NativeEndian.Uint32(ev[16:20]))
			pid := int(int32(binary.NativeEndian.Uint32(ev[20:24])))
			if length < fanMetaLen {
				break
			}
			off += int(length)
			if fd < 0 {
				continue // queue overflow: nothing to answer
			}
			if mask&unix.FAN_OPEN_PERM == 0 {
				_ = unix.Close(int(fd)) // an event fd we need no answer for; closing cannot usefully fail
				continue
			}
			g.decide(fd, pid)
		}
	}
}

func (g *WriteGate) decide(fd int32, pid int) {
	write := openForWrite(pid)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !write:
		g.respond(fd, unix.FAN_ALLOW)
	case g.answer != 0:
		g.respond(fd, g.answer)
	default:
		g.pending = append(g.pending, fd)
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		g.heldBy = append(g.heldBy, fmt.Sprintf("pid %d: %s", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))))
		if len(g.heldBy) == 1 {
			close(g.held)
		}
	}
}

// respond answers one permission event; g.mu is held.
func (g *WriteGate) respond(fd int32, answer uint32) {
	var r [8]byte
	binary.NativeEndian.PutUint32(r[0:4], uint32(fd))
	binary.NativeEndian.PutUint32(r[4:8], answer)
	_, _ = g.f.Write(r[:])
	_ = unix.Close(int(fd)) // the event's fd is done with once answered
}

// openForWrite tells from the opener's blocked system call (pid is a
// thread id: the gate asks for FAN_REPORT_TID, so a multi-threaded opener
// such as the test binary itself is looked up by the right thread) (it waits in
// open or openat for our answer) whether it opens for writing. Anything
// it cannot tell counts as a write, so a mistake holds too much, which a
// test notices, rather than too little.
func openForWrite(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid)) // /proc/TID works for any thread
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	var flagsArg int
	switch {
	case len(f) > 3 && f[0] == strconv.Itoa(unix.SYS_OPENAT):
		flagsArg = 3
	case len(f) > 2 && f[0] == strconv.Itoa(unix.SYS_OPEN):
		flagsArg = 2
	default:
		return true
	}
	flags, err := strconv.ParseUint(strings.TrimPrefix(f[flagsArg], "0x"), 16, 64)
	if err != nil {
		return true
	}
	return flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0
}
