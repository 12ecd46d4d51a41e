package testhost

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// Precomputed with `openssl passwd -6 -salt ...` (SHA-512 crypt).
const (
	hashPW   = "$6$yamapwsalt$H53hkOKOo5ySP9tqm/TGNVTv9aQxHGi9gNWZ6NX.jUrsmWbysFgS6dFStVW0CKX91HD15dFBLt05GB9Pg7Vek0"
	hashUser = "$6$yamausersalt$DMokNTZQKX5ErNUfUhE5FVR9svOYIjfqJOKPZl1WaBvVXWaMvBWL9fPObfeDcLZ7PUTKOkC7XSq9JLnGpnXh0."
	yamaDir  = "/proc/sys/kernel/yama"
	sysctlD  = "/etc/sysctl.d"

	// Logs kept by Options.AuditCommands, as seen inside the sandbox.
	commandLog = "/run/testhost/commands.log"
	sudoLog    = "/run/testhost/sudo.log"
	// localeDir holds the compiled Options.Locale inside the sandbox.
	localeDir = "/run/testhost/locale"
	// commandEnd ends each entry of the command log.
	commandEnd = "\n--- testhost: end of command ---\n"
)

// testUsers: uid 1000 exists on the build machines, so start at 2000.
// "*" (not "!") in shadow: with UsePAM no, "!" would block key logins.
var testUsers = []struct {
	name, hash string
	uid        int
}{{UserSudo, "*", 2000}, {UserPW, hashPW, 2001}, {UserPlain, hashUser, 2002}}

// The private dirs. /etc is always a composite: the real entries are bound
// back read-only over placeholders, the names below are the host's own
// files, so renames in /etc (sed -i sysctl.conf) work inside the sandbox
// and Path() sees them. A plain dir missing on this machine (e.g.
// /usr/local/lib/sysctl.d) turns its parent into a composite instead of
// being created on the real filesystem.
var (
	etcOwn    = []string{"passwd", "shadow", "group", "sudoers", "sudoers.d", "hosts", "hostname", "sysctl.conf", "sysctl.d"}
	plainDirs = []string{"/run", "/tmp", "/var/tmp", "/root", "/home", "/usr/lib/sysctl.d", "/usr/local/lib/sysctl.d", "/var/lib/sudo", "/var/lib/terraform-provider-yama"}
)

// privDir is a sandbox dir replaced by the host's copy under Host.Dir/fs.
type privDir struct {
	path      string
	info      os.FileInfo       // the real dir: mode and owner to copy
	composite bool              // real entries shown through (below)
	keep      map[string]bool   // composite: real entry -> is a dir; bound back read-only
	mounted   []string          // composite: kept entries that are mount points themselves
	links     map[string]string // composite: real symlinks, copied
	own       map[string]bool   // composite: the host's own names
}

// layout is computed once per Env: the same for every host.
type layout struct {
	dirs  []*privDir // parents first
	files map[string][]byte
}

func planLayout() (*layout, error) {
	own := map[string]map[string]bool{"/etc": {}}
	for _, n := range etcOwn {
		own["/etc"][n] = true
	}
	l := &layout{}
	for _, p := range plainDirs {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			l.dirs = append(l.dirs, &privDir{path: p, info: fi})
			continue
		}
		parent := filepath.Dir(p)
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("testhost: neither %s nor %s exists", p, parent)
		}
		if own[parent] == nil {
			own[parent] = map[string]bool{}
		}
		own[parent][filepath.Base(p)] = true
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for dir, names := range own {
		d, err := readComposite(dir, names, string(mi))
		if err != nil {
			return nil, err
		}
		l.dirs = append(l.dirs, d)
	}
	sort.Slice(l.dirs, func(i, j int) bool { return l.dirs[i].path < l.dirs[j].path })
	l.files = accountFiles()
	return l, nil
}

func readComposite(dir string, own map[string]bool, mountinfo string) (*privDir, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	d := &privDir{path: dir, info: fi, composite: true, own: own, keep: map[string]bool{}, links: map[string]string{}}
	isMount := func(p string) bool { return strings.Contains(mountinfo, " "+p+" ") }
	for _, e := range ents {
		switch {
		case own[e.Name()]:
		case e.Type()&os.ModeSymlink != 0:
			if d.links[e.Name()], err = os.Readlink(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		default:
			d.keep[e.Name()] = e.IsDir()
			// e.g. a container's /etc/resolv.conf: its own mount, maybe rw,
			// so it does not inherit the read-only root.
			if isMount(dir) || isMount(filepath.Join(dir, e.Name())) {
				d.mounted = append(d.mounted, e.Name())
			}
		}
	}
	return d, nil
}

// accountFiles returns the private /etc files shared by all hosts: the
// real ones plus the test users (root keeps its entry; its home /root is
// private and empty, so the machine's .bashrc is not run).
func accountFiles() map[string][]byte {
	users := map[string]bool{}
	for _, u := range testUsers {
		users[u.name] = true
	}
	read := func(p string) []string {
		b, _ := os.ReadFile(p)
		var out []string
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if name, _, _ := strings.Cut(line, ":"); line != "" && !users[name] {
				out = append(out, line)
			}
		}
		return out
	}
	passwd, group, shadow := read("/etc/passwd"), read("/etc/group"), read("/etc/shadow")
	for i, line := range shadow {
		if f := strings.Split(line, ":"); f[0] == "root" && len(f) > 1 && strings.HasPrefix(f[1], "!") {
			f[1] = "*" // a locked root would refuse key logins with UsePAM no
			shadow[i] = strings.Join(f, ":")
		}
	}
	sudoers, err := os.ReadFile("/etc/sudoers")
	if err != nil {
		sudoers = []byte("root ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n")
	}
	sudoers = append(sudoers, fmt.Sprintf("\n# testhost users\n%s ALL=(ALL:ALL) NOPASSWD: ALL\n%s ALL=(ALL:ALL) ALL\n", UserSudo, UserPW)...)
	for _, u := range testUsers {
		passwd = append(passwd, fmt.Sprintf("%s:x:%d:%d:testhost:/home/%s:/bin/sh", u.name, u.uid, u.uid, u.name))
		group = append(group, fmt.Sprintf("%s:x:%d:", u.name, u.uid))
		shadow = append(shadow, fmt.Sprintf("%s:%s:19000:0:99999:7:::", u.name, u.hash))
	}
	j := func(l []string) []byte { return []byte(strings.Join(l, "\n") + "\n") }
	return map[string][]byte{"/etc/passwd": j(passwd), "/etc/group": j(group), "/etc/shadow": j(shadow), "/etc/sudoers": sudoers}
}

// withShells returns passwd with the login shell (the last field) of the
// users in shells replaced. Every user must exist, and every shell must
// exist on this machine (BusyboxShell is created in the sandbox).
func withShells(passwd []byte, shells map[string]string) ([]byte, error) {
	lines := strings.Split(strings.TrimRight(string(passwd), "\n"), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		f := strings.Split(line, ":")
		sh, ok := shells[f[0]]
		if !ok || len(f) != 7 {
			continue
		}
		if sh != BusyboxShell {
			if _, err := os.Stat(sh); err != nil {
				return nil, fmt.Errorf("login shell for %s: %w", f[0], err)
			}
		}
		f[6] = sh
		lines[i] = strings.Join(f, ":")
		seen[f[0]] = true
	}
	for user := range shells {
		if !seen[user] {
			return nil, fmt.Errorf("login shell for %s: no such user in the sandbox's passwd", user)
		}
	}
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}

// private reports whether sandbox path p lives in the host's own tree.
func (l *layout) private(p string) bool {
	if under(p, yamaDir) {
		return true
	}
	var best *privDir
	for _, d := range l.dirs {
		if under(p, d.path) && (best == nil || len(d.path) > len(best.path)) {
			best = d
		}
	}
	if best == nil || !best.composite {
		return best != nil
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(p, best.path), "/"), "/")
	_, kept := best.keep[first]
	return !kept
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

const (
	shmDir     = "/dev/shm"
	tmpfsMagic = 0x01021994
)

// makeHostsDir returns the directory for host trees. Each tree needs about
// 200 files (mostly placeholders of the composite /etc); ext4 on the build
// VMs takes about 0.85 ms per file creation, tmpfs about 15 µs. So trees
// go to a fresh dir on /dev/shm when that is a tmpfs (linked from
// dir/hosts; trees left by dead processes are swept), else to dir/hosts.
func makeHostsDir(dir string) (string, error) {
	link := filepath.Join(dir, "hosts")
	var st syscall.Statfs_t
	if syscall.Statfs(shmDir, &st) != nil || st.Type != tmpfsMagic {
		return link, os.Mkdir(link, 0o755)
	}
	stale, _ := filepath.Glob(shmDir + "/yama-testhost-*-*")
	for _, d := range stale {
		pid := strings.Split(filepath.Base(d), "-")[2]
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			_ = os.RemoveAll(d)
		}
	}
	d, err := os.MkdirTemp(shmDir, fmt.Sprintf("yama-testhost-%d-", os.Getpid()))
	if err != nil {
		return "", err
	}
	return d, os.Symlink(d, link)
}

// spec is what the helper needs inside the namespaces (see helper.go).
type spec struct {
	Hostname string
	Root     string // Host.Dir/fs: mirrors the sandbox paths
	Yama     string // "", "rw" or "ro"
	// SysctlD: "" (a plain private dir), "ro" (read-only mount) or
	// "tmpfs" (a tmpfs of SysctlDSize bytes, seeded from the tree).
	SysctlD     []string
	SysctlDSize int
	Dirs        []specDir
	Argv        []string
}

type specDir struct {
	Path    string
	Keep    []string // real entries to bind back read-only (composite only)
	Mounted []string // entries of Keep that need an explicit read-only remount
}

// build creates the host's tree and key and returns the helper spec.
func (l *layout) build(h *Host, o Options, e *Env) (string, error) {
	root := filepath.Join(h.Dir, "fs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	sp := spec{Hostname: h.Name, Root: root}
	for _, d := range l.dirs {
		p := root + d.path
		if err := mkdirLike(p, d.info); err != nil {
			return "", err
		}
		sd := specDir{Path: d.path, Mounted: d.mounted}
		for name, isDir := range d.keep {
			sd.Keep = append(sd.Keep, name)
			if err := placeholder(filepath.Join(p, name), isDir); err != nil {
				return "", err
			}
		}
		for name, target := range d.links {
			if err := os.Symlink(target, filepath.Join(p, name)); err != nil {
				return "", err
			}
		}
		sp.Dirs = append(sp.Dirs, sd)
	}

	files := map[string][]byte{
		"/etc/hosts":    fmt.Appendf(nil, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", h.Addr, h.Name),
		"/etc/hostname": []byte(h.Name + "\n"),
	}
	if !o.NoSysctlConf {
		files["/etc/sysctl.conf"] = nil
	}
	for p, b := range l.files {
		files[p] = b
	}
	if len(o.Shells) > 0 {
		passwd, err := withShells(files["/etc/passwd"], o.Shells)
		if err != nil {
			return "", err
		}
		files["/etc/passwd"] = passwd
	}
	if o.AuditCommands {
		// sudo writes this log itself, as root, for every run it allows
		// or refuses: who ran it and COMMAND= (the argv sudo executed).
		files["/etc/sudoers"] = append(slices.Clone(files["/etc/sudoers"]), "\n# testhost: AuditCommands\nDefaults logfile="+sudoLog+"\n"...)
	}
	for p, b := range files {
		if err := writeLike(root+p, b, p); err != nil {
			return "", err
		}
	}
	// The composites' own names that are not files start as empty dirs.
	for _, d := range l.dirs {
		for name := range d.own {
			p := d.path + "/" + name
			if _, isFile := files[p]; !isFile && (p != "/etc/sysctl.conf" || !o.NoSysctlConf) {
				if err := os.Mkdir(root+p, 0o755); err != nil {
					return "", err
				}
			}
		}
	}
	dirs := []string{"/run/sshd", "/run/sysctl.d", "/run/testhost/authorized_keys", "/.kstage"}
	for _, u := range testUsers {
		dirs = append(dirs, "/home/"+u.name)
	}
	if !o.NoYama {
		dirs = append(dirs, yamaDir)
	}
	for _, p := range dirs {
		if err := os.MkdirAll(root+p, 0o755); err != nil {
			return "", err
		}
	}
	for _, u := range testUsers {
		if err := os.Chown(root+"/home/"+u.name, u.uid, u.uid); err != nil {
			return "", err
		}
	}
	for _, u := range Users {
		if err := os.WriteFile(root+"/run/testhost/authorized_keys/"+u, []byte(e.pubLine+"\n"), 0o644); err != nil {
			return "", err
		}
	}
	if !o.NoYama {
		sp.Yama = "rw"
		if o.ReadOnlyProcSys {
			sp.Yama = "ro"
		}
		scope := o.Scope
		if !strings.HasSuffix(scope, "\n") {
			scope += "\n" // procfs reads end with a newline
		}
		if err := os.WriteFile(root+YamaPath, []byte(scope), 0o644); err != nil {
			return "", err
		}
	}
	if err := l.userFiles(h, o); err != nil {
		return "", err
	}
	for _, sh := range o.Shells {
		if sh != BusyboxShell {
			continue
		}
		bb, err := exec.LookPath("busybox")
		if err != nil {
			return "", fmt.Errorf("login shell %s: %w (apt-get install busybox)", sh, err)
		}
		if err := os.MkdirAll(filepath.Dir(root+sh), 0o755); err != nil {
			return "", err
		}
		if err := os.Symlink(bb, root+sh); err != nil && !os.IsExist(err) {
			return "", err
		}
	}
	if o.SysctlDSize > 0 {
		sp.SysctlD = append(sp.SysctlD, "tmpfs")
		sp.SysctlDSize = o.SysctlDSize
	}
	if o.ReadOnlySysctlD {
		sp.SysctlD = append(sp.SysctlD, "ro")
	}

	key, err := hostKey(root + "/run/testhost/ssh_host_ed25519_key")
	if err != nil {
		return "", err
	}
	h.HostKey = key
	cfg := fmt.Sprintf(sshdConfig, h.Endpoint(), e.sshdExtra)
	if o.Locale != "" {
		if err := e.linkLocale(o.Locale, root+localeDir); err != nil {
			return "", err
		}
		cfg += fmt.Sprintf("SetEnv LANG=%s LOCPATH=%s\n", o.Locale, localeDir)
	}
	if o.AuditCommands {
		// Every user may append to the log: commands run as the login user.
		if err := os.WriteFile(root+commandLog, nil, 0o666); err != nil {
			return "", err
		}
		if err := os.Chmod(root+commandLog, 0o666); err != nil { // umask
			return "", err
		}
		cfg += auditConfig
	}
	if err := os.WriteFile(root+"/run/testhost/sshd_config", []byte(cfg), 0o644); err != nil {
		return "", err
	}
	sp.Argv = []string{sshdPath, "-D", "-f", "/run/testhost/sshd_config", "-E", "/run/testhost/sshd.log"}
	b, err := json.Marshal(sp)
	return string(b), err
}

// userFiles applies Options.Files and Options.Symlinks.
func (l *layout) userFiles(h *Host, o Options) error {
	put := func(p string, f func(string) error) error {
		if !strings.HasPrefix(p, "/") || !l.private(filepath.Clean(p)) {
			return fmt.Errorf("%s is not in a private sandbox dir", p)
		}
		out := h.Path(p)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
			return err
		}
		return f(out)
	}
	for p, content := range o.Files {
		if err := put(p, func(out string) error { return os.WriteFile(out, []byte(content), 0o644) }); err != nil {
			return err
		}
	}
	for p, target := range o.Symlinks {
		if err := put(p, func(out string) error { return os.Symlink(target, out) }); err != nil {
			return err
		}
	}
	return nil
}

const sshdConfig = `# testhost sandbox sshd
ListenAddress %s
HostKey /run/testhost/ssh_host_ed25519_key
PidFile /run/testhost/sshd.pid
AuthorizedKeysFile /run/testhost/authorized_keys/%%u
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 10
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
Subsystem sftp internal-sftp
%s`

// auditConfig runs every exec request through a wrapper that logs the
// command string exactly as the client sent it (printf turns the \n of its
// format into the newlines of commandEnd), then runs it the way sshd would
// have (a shell with -c), with the same stdin, stdout, stderr and exit
// status.
const auditConfig = `ForceCommand printf '%s\n--- testhost: end of command ---\n' "$SSH_ORIGINAL_COMMAND" >>` + commandLog + `; exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
`

// sshdVersionOptions: OpenSSH 9.8+ penalizes sources that fail auth, which
// would make tests of failing logins refuse later connections from
// loopback. Older sshd rejects the option, hence the version check.
func sshdVersionOptions() string {
	out, _ := exec.Command(sshdPath, "-V").CombinedOutput()
	m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if major > 9 || major == 9 && minor >= 8 {
		return "PerSourcePenalties no\n"
	}
	return ""
}

func hostKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), nil
}

// mkdirLike creates p with the mode and owner of the real dir it replaces
// (/tmp stays 1777, /root 0700).
func mkdirLike(p string, fi os.FileInfo) error {
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(p, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(p, fi.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetgid))
}

// writeLike writes data to out with the mode and owner of the real host's
// file hostPath (shadow stays root:shadow 0640, sudoers 0440), 0644 root
// when the host has no such file.
func writeLike(out string, data []byte, hostPath string) error {
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fi, err := os.Stat(hostPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(out, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(out, fi.Mode().Perm())
}

func placeholder(p string, dir bool) error {
	if dir {
		return os.Mkdir(p, 0o755)
	}
	return os.WriteFile(p, nil, 0o644)
}
