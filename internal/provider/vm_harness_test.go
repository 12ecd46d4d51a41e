//go:build vmtest

package provider

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
)

// The real-kernel harness: Debian guests (test/vm/build-image.sh; Debian 12
// bookworm and Debian 13 trixie) booted under qemu, one at a time, reached
// only through 127.0.0.1 (qemu user networking forwards a loopback port to
// the guest's sshd). Nothing here touches this
// machine's own kernel settings: every sysctl write happens in the guest.
//
// Environment:
//
//	YAMA_VM_FULL=1     the whole reboot matrix (default: the CI subset)
//	YAMA_VM_SUITES=trixie  only these guests (default: bookworm,trixie)
//	YAMA_VM_IMAGE=dir  use an image directory instead of building/caching
//	                   one (with a single suite in YAMA_VM_SUITES)
//	YAMA_VM_ACCEL=kvm  qemu accelerator (default tcg: /dev/kvm on the build
//	                   machines is a paravirtual KVM on which stock Debian
//	                   kernels hang early in boot)

// vmImageDir builds (or finds in the cache) the image of one Debian suite
// ("bookworm", "trixie") and returns its directory. image, when set
// (YAMA_VM_IMAGE), is used as it is.
func vmImageDir(t *testing.T, tm *vmTimings, suite, image string) string {
	t.Helper()
	if image != "" {
		return image
	}
	_, thisFile, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(thisFile), "..", "..", "test", "vm", "build-image.sh")
	start := time.Now()
	cmd := exec.Command(script)
	cmd.Env = append(os.Environ(), "YAMA_VM_SUITE="+suite)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := lines[len(lines)-1]
	took := time.Since(start)
	what := "image build"
	if strings.Contains(stderr.String(), "cached image") {
		what = "image build (cached)"
	} else {
		t.Logf("build-image.sh:\n%s", vmLastLines(stderr.String(), 4))
	}
	tm.add(what, took)
	return dir
}

// vmTimings collects per-phase durations for the log.
type vmTimings struct {
	start  time.Time
	phases []vmPhase
}

type vmPhase struct {
	name string
	took time.Duration
}

func (tm *vmTimings) add(name string, d time.Duration) {
	tm.phases = append(tm.phases, vmPhase{name, d})
}

func (tm *vmTimings) report(t *testing.T) {
	var b strings.Builder
	for _, p := range tm.phases {
		fmt.Fprintf(&b, "  %-44s %7.1fs\n", p.name, p.took.Seconds())
	}
	fmt.Fprintf(&b, "  %-44s %7.1fs", "total", time.Since(tm.start).Seconds())
	t.Logf("VM timings:\n%s", b.String())
}

// guest is one running qemu VM.
type vmGuest struct {
	img        string // image directory (disk.img, vmlinuz, initrd, keys)
	dir        string // this run: overlay, serial log, pid file, ssh sockets
	port       int    // 127.0.0.1:port forwards to the guest's port 22
	key        string // client private key file
	knownHosts string
	pid        int
	bootID     string
	boots      int
}

// startGuest boots the image with a fresh qcow2 overlay (the base image
// stays clean) and waits until root can log in over SSH.
func startGuest(t *testing.T, img string, tm *vmTimings) *vmGuest {
	t.Helper()
	// Registered before g.stop below, so cleanup stops qemu (and the ssh
	// masters whose sockets live here) before the directory is removed.
	dir := t.TempDir()
	g := &vmGuest{img: img, dir: dir, key: filepath.Join(img, "id_ed25519"), knownHosts: filepath.Join(img, "known_hosts")}
	t.Cleanup(func() { g.stop(t) })
	overlay := filepath.Join(dir, "overlay.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
		"-b", filepath.Join(img, "disk.img"), overlay).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	g.port = vmFreePort(t)
	hostKey, err := os.ReadFile(filepath.Join(img, "host_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(hostKey))
	if len(f) < 2 {
		t.Fatalf("host_ed25519.pub: %q", hostKey)
	}
	// One line per boot: the port is this run's.
	if err := os.WriteFile(g.knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", g.port, f[0], f[1])), 0o644); err != nil {
		t.Fatal(err)
	}
	accel := "tcg,thread=multi,tb-size=128"
	if a := os.Getenv("YAMA_VM_ACCEL"); a != "" {
		accel = a
	}
	args := []string{
		"-accel", accel, "-cpu", "max", "-smp", "2", "-m", "512",
		// Only the devices the guest uses: no VGA, floppy, CD-ROM or
		// parallel port whose drivers would load at every boot.
		"-nodefaults",
		"-kernel", filepath.Join(img, "vmlinuz"), "-initrd", filepath.Join(img, "initrd"),
		"-append", "root=/dev/vda rw console=ttyS0",
		"-drive", "file=" + overlay + ",if=virtio,format=qcow2",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", g.port),
		"-device", "virtio-net-pci,netdev=n0",
		"-display", "none",
		"-serial", "file:" + g.serialLog(),
		"-daemonize", "-pidfile", filepath.Join(dir, "qemu.pid"),
	}
	start := time.Now()
	if out, err := exec.Command("qemu-system-x86_64", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-system-x86_64: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "qemu.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if g.pid, err = strconv.Atoi(strings.TrimSpace(string(raw))); err != nil {
		t.Fatal(err)
	}
	g.waitBoot(t, "", 0)
	took := time.Since(start)
	tm.add("boot (qemu start to SSH)", took)
	t.Logf("guest up on 127.0.0.1:%d after %.1fs (qemu pid %d)", g.port, took.Seconds(), g.pid)
	return g
}

func (g *vmGuest) serialLog() string { return filepath.Join(g.dir, "serial.log") }

// stop kills qemu by its pid (and only if that pid is still our qemu).
func (g *vmGuest) stop(t *testing.T) {
	if g.pid == 0 {
		return
	}
	pid := g.pid
	g.pid = 0
	for _, u := range []string{"root", "yamasudo", "yamauser"} {
		_ = exec.Command("ssh", append(g.sshOpts(u, true), "-O", "exit", u+"@127.0.0.1")...).Run()
	}
	if !g.ours(pid) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 50 && g.ours(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if g.ours(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func (g *vmGuest) ours(pid int) bool {
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmd, []byte(g.dir))
}

func vmFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sshOpts are the OpenSSH client options for user; multiplexed connections
// make the many independent checks cheap.
func (g *vmGuest) sshOpts(user string, mux bool) []string {
	opts := []string{"-F", "/dev/null", "-p", strconv.Itoa(g.port),
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", g.key,
		"-o", "UserKnownHostsFile=" + g.knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=4"}
	if mux {
		opts = append(opts, "-o", "ControlMaster=auto", "-o", "ControlPath="+filepath.Join(g.dir, "ssh-"+user), "-o", "ControlPersist=120")
	} else {
		opts = append(opts, "-o", "ControlMaster=no", "-o", "ControlPath=none")
	}
	return opts
}

// vmSshResult is what one remote command did.
type vmSshResult struct {
	stdout, stderr string
	code           int
}

// sshAs runs script with sh on the guest as user through the OpenSSH
// client, independently of the provider's own SSH code.
func (g *vmGuest) sshAs(user, script string, stdin []byte, timeout time.Duration, mux bool) (vmSshResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append(g.sshOpts(user, mux), user+"@127.0.0.1", "sh -c "+vmShellQuote(script))
	cmd := exec.CommandContext(ctx, "ssh", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	// A multiplexing master inherits stdout/stderr: WaitDelay keeps it from
	// holding Wait forever.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	r := vmSshResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
		if ctx.Err() != nil {
			return r, fmt.Errorf("ssh %s: timed out after %s", user, timeout)
		}
		return r, nil
	case errors.Is(err, exec.ErrWaitDelay):
		return r, nil
	case err != nil:
		return r, err
	}
	return r, nil
}

// root runs script as root and fails the test unless it exits 0.
func (g *vmGuest) root(t *testing.T, script string) string {
	t.Helper()
	return g.rootIn(t, script, nil)
}

func (g *vmGuest) rootIn(t *testing.T, script string, stdin []byte) string {
	t.Helper()
	r, err := g.sshAs("root", script, stdin, 2*time.Minute, true)
	if err != nil {
		t.Fatalf("guest: %s: %v", script, err)
	}
	if r.code != 0 {
		t.Fatalf("guest: %s: exit %d\nstdout: %s\nstderr: %s", vmFirstLine(script), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// sysctlConf returns /etc/sysctl.conf's content and whether it exists
// (Debian 13 ships none).
func (g *vmGuest) sysctlConf(t *testing.T) (string, bool) {
	t.Helper()
	out := g.root(t, "if [ -e /etc/sysctl.conf ]; then echo yes; cat /etc/sysctl.conf; else echo no; fi")
	first, rest, _ := strings.Cut(out, "\n")
	return rest, first == "yes"
}

// liveScope reads the kernel's value with the OpenSSH client: cat, not the
// provider.
func (g *vmGuest) liveScope(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(g.root(t, "cat /proc/sys/kernel/yama/ptrace_scope"))
}

// sysctlValues reads keys with procps' sysctl -n, one command for all.
func (g *vmGuest) sysctlValues(t *testing.T, keys []string) map[string]string {
	t.Helper()
	var script strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&script, "printf '%%s\\t' %s; /usr/sbin/sysctl -n %s | tr '\\n\\t' '  '; echo\n", vmShellQuote(k), vmShellQuote(k))
	}
	out := g.root(t, script.String())
	vals := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if ok {
			vals[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	for _, k := range keys {
		if vals[k] == "" {
			t.Fatalf("guest: sysctl -n %s gave nothing:\n%s", k, out)
		}
	}
	return vals
}

// waitBoot waits until root logs in over SSH on a boot other than notBoot
// (the boot_id before a reboot), then records the new boot id. It only
// starts knocking once the serial console (read from logOffset on) says
// sshd started: connections made earlier queue up in qemu's user network
// and hit the new sshd all at once (MaxStartups throttling), which delays
// the boot by tens of seconds under TCG.
func (g *vmGuest) waitBoot(t *testing.T, notBoot string, logOffset int) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(6 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		if !g.ours(g.pid) {
			t.Fatalf("qemu (pid %d) exited while booting; serial log:\n%s", g.pid, vmLastLines(vmReadFile(g.serialLog()), 40))
		}
		// Fallback after 3 minutes, in case the console says nothing.
		if !g.sshdStarted(logOffset) && time.Since(start) < 3*time.Minute {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if !g.sshdStarted(logOffset) && last == "" {
			t.Logf("the console did not say that sshd started within 3 minutes; knocking anyway. Serial log:\n%s",
				vmLastLines(vmReadFile(g.serialLog()), 30))
		}
		r, err := g.sshAs("root", "cat /proc/sys/kernel/random/boot_id", nil, 30*time.Second, false)
		if err == nil && r.code == 0 {
			id := strings.TrimSpace(r.stdout)
			if id != "" && id != notBoot {
				g.bootID = id
				g.boots++
				return
			}
			last = "still the old boot"
		} else {
			last = fmt.Sprint(err, " ", strings.TrimSpace(r.stderr))
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("guest did not come up on 127.0.0.1:%d (last: %s); serial log:\n%s", g.port, last, vmLastLines(vmReadFile(g.serialLog()), 40))
}

var vmAnsiEscape = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// sshdStarted reports whether systemd announced sshd on the console after
// offset ("[  OK  ] Started ssh.service - OpenBSD Secure Shell server.").
func (g *vmGuest) sshdStarted(offset int) bool {
	log := vmReadFile(g.serialLog())
	if len(log) <= offset {
		return false
	}
	// Kernel messages can cut a console line in two: the targets and the
	// getty's prompt, which come after sshd on Debian 12 and 13, count too.
	log = vmAnsiEscape.ReplaceAllString(log[offset:], "")
	for _, m := range []string{"Started ssh.service", "Reached target multi-user.target", " login: "} {
		if strings.Contains(log, m) {
			return true
		}
	}
	return false
}

// reboot runs systemctl reboot in the guest and waits for SSH on the next
// boot: qemu resets and boots the same kernel; the overlay keeps the disk.
func (g *vmGuest) reboot(t *testing.T) time.Duration {
	t.Helper()
	old := g.bootID
	offset := len(vmReadFile(g.serialLog()))
	start := time.Now()
	for _, u := range []string{"root", "yamasudo", "yamauser"} {
		_ = exec.Command("ssh", append(g.sshOpts(u, true), "-O", "exit", u+"@127.0.0.1")...).Run()
	}
	// The session may end with the connection, so its exit code means
	// nothing; the new boot id is the proof.
	_, _ = g.sshAs("root", "systemctl reboot", nil, 30*time.Second, false)
	g.waitBoot(t, old, offset)
	return time.Since(start)
}

// Files written into the guest.

type vmGfile struct {
	path    string
	content string // regular file content ("" for an empty file)
	link    string // symlink target instead of content
}

// writeFiles installs files in one tar stream (replacing whatever is at
// each path; parents are created).
func (g *vmGuest) writeFiles(t *testing.T, files []vmGfile) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var paths []string
	for _, f := range files {
		name := strings.TrimPrefix(f.path, "/")
		paths = append(paths, vmShellQuote(f.path))
		h := &tar.Header{Name: name, Mode: 0o644, ModTime: time.Now(), Format: tar.FormatGNU}
		if f.link != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.link, 0o777
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if f.link == "" {
			if _, err := io.WriteString(tw, f.content); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	g.rootIn(t, "rm -f -- "+strings.Join(paths, " ")+" && tar -x -C / --no-same-owner -f -", buf.Bytes())
}

// removeFiles deletes paths (missing ones are fine).
func (g *vmGuest) removeFiles(t *testing.T, paths ...string) {
	t.Helper()
	if len(paths) == 0 {
		return
	}
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = vmShellQuote(p)
	}
	g.root(t, "rm -f -- "+strings.Join(q, " "))
}

// vmGuestTree is the guest's boot-relevant configuration as resolver
// entries, read with tar (not the provider): every sysctl.d directory,
// /etc/sysctl.conf, the /lib symlink (merged /usr), and the staging
// directory from which a boot unit regenerates /run/sysctl.d.
type guestTree struct {
	entries []sysctld.Entry
}

// vmRunStaging holds the /run/sysctl.d files that yama-vm-run-sysctl.service
// copies into /run/sysctl.d early at boot, before systemd-sysctl runs: the
// stand-in for a generator that recreates /run content on every boot.
const vmRunStaging = "/etc/yama-vm/run-sysctl.d"

func (g *vmGuest) bootFiles(t *testing.T) guestTree {
	t.Helper()
	out := g.root(t, `cd / && set -- &&
for p in etc/sysctl.d run/sysctl.d usr/local/lib/sysctl.d usr/lib/sysctl.d lib lib/sysctl.d etc/sysctl.conf `+vmRunStaging[1:]+`; do
	case $p in lib/*) [ -L lib ] && continue ;; esac
	if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi
done
tar -c -f - -- "$@"`)
	var tr guestTree
	seen := map[string]bool{}
	rd := tar.NewReader(strings.NewReader(out))
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("guest sysctl tree: %v", err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		e := sysctld.Entry{Path: name}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Kind = sysctld.KindDir
		case tar.TypeSymlink:
			e.Kind, e.Target = sysctld.KindSymlink, h.Linkname
		case tar.TypeReg:
			data, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			e.Kind, e.Data = sysctld.KindRegular, data
		case tar.TypeChar, tar.TypeBlock:
			e.Kind = sysctld.KindDevice
		default:
			e.Kind = sysctld.KindOther
		}
		tr.entries = append(tr.entries, e)
	}
	return tr
}

// atBoot is the tree as the next boot will see it: /run is a tmpfs, so
// /run/sysctl.d then holds only what the boot unit copies from vmRunStaging.
func (tr guestTree) atBoot() guestTree {
	var out guestTree
	for _, e := range tr.entries {
		switch {
		case strings.HasPrefix(e.Path, "/run/"):
			continue
		case strings.HasPrefix(e.Path, vmRunStaging+"/"):
			c := e
			c.Path = "/run/sysctl.d/" + path.Base(e.Path)
			out.entries = append(out.entries, c)
		case e.Path == vmRunStaging || strings.HasPrefix(e.Path, "/etc/yama-vm"):
			continue
		default:
			out.entries = append(out.entries, e)
		}
	}
	return out
}

// now is the tree as the host holds it now (what the provider reads).
func (tr guestTree) now() guestTree {
	var out guestTree
	for _, e := range tr.entries {
		if !strings.HasPrefix(e.Path, "/etc/yama-vm") {
			out.entries = append(out.entries, e)
		}
	}
	return out
}

// resolve predicts key with the provider's resolver.
func (tr guestTree) resolve(t *testing.T, key string, mode sysctld.Mode) sysctld.Result {
	t.Helper()
	fsys, err := sysctld.NewMemFS(tr.entries...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sysctld.Options{Mode: mode}.Resolve(fsys, key)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (tr guestTree) String() string {
	var lines []string
	for _, e := range tr.entries {
		switch e.Kind {
		case sysctld.KindSymlink:
			lines = append(lines, e.Path+" -> "+e.Target)
		case sysctld.KindRegular:
			if strings.HasSuffix(e.Path, ".conf") && len(e.Data) < 400 {
				lines = append(lines, fmt.Sprintf("%s: %q", e.Path, e.Data))
			} else {
				lines = append(lines, fmt.Sprintf("%s: (%d bytes)", e.Path, len(e.Data)))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// vmDescribe renders a resolver result for a failure message.
func vmDescribe(r sysctld.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): set=%v value=%q source=%s:%d\n", r.Key, r.Mode, r.Set, r.Value, r.Source.File, r.Source.Line)
	for _, s := range r.Applied {
		fmt.Fprintf(&b, "  %s:%d %s=%q %s %s\n", s.File, s.Line, s.Key, s.Value, s.Outcome, s.Reason)
	}
	for _, m := range r.Masked {
		fmt.Fprintf(&b, "  masked %s (%s %s)\n", m.Path, m.Reason, m.By)
	}
	return b.String()
}

func vmShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func vmFirstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func vmReadFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func vmLastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
