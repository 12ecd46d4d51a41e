package testhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

const (
	specEnv = "YAMA_TESTHOST_SPEC"
	oPath   = 0x200000 // O_PATH (missing from package syscall)
)

// init turns a re-executed copy of the current binary (test binary or
// CLI) into the sandbox setup helper: Start runs /proc/self/exe in fresh
// mount, UTS and PID namespaces with the spec in the environment; the
// helper mounts the sandbox with plain syscalls (a few hundred per host,
// far cheaper than a shell running mount(8)) and then execs sshd, which
// thereby keeps the helper's pid and namespaces.
func init() {
	if raw := os.Getenv(specEnv); raw != "" {
		fmt.Fprintf(os.Stderr, "testhost helper: %v\n", runHelper(raw))
		os.Exit(1)
	}
}

func runHelper(raw string) error {
	var s spec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return err
	}
	if err := setupSandbox(&s); err != nil {
		return err
	}
	return syscall.Exec(s.Argv[0], s.Argv, []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"})
}

func setupSandbox(s *spec) error {
	// Go made / recursively private after unshare; do it again and check,
	// because a shared mount would propagate our binds to the machine.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil || bytes.Contains(mi, []byte(" shared:")) {
		return fmt.Errorf("mounts not private (%v)", err)
	}
	// Root lives under a dir covered below (/dev/shm or /tmp); paths through
	// an open fd keep working regardless.
	fd, err := syscall.Open(s.Root, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer func() { _ = syscall.Close(fd) }() // an O_PATH fd: nothing to flush
	root := fmt.Sprintf("/proc/self/fd/%d", fd)

	if err := syscall.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	// Hundreds of parallel connections per host need fds. Raising the hard
	// limit needs CAP_SYS_RESOURCE, which root lacks on some machines (hard
	// limit 20000 on the build VMs): then settle for the hard limit.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Max < 1<<16 && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1 << 16, Max: 1 << 16}) == nil {
		lim.Max = 1 << 16
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	if err := procSys(root, s.Yama); err != nil {
		return err
	}
	// From here on, everything bound from the real filesystem inherits
	// read-only; only the host's own dirs are switched back to rw.
	// Device nodes stay writable on a read-only /dev; /dev/pts is its own
	// mount and stays rw.
	for _, p := range []string{"/", "/sys", "/dev"} {
		if err := remount(p, true); err != nil {
			return err
		}
	}
	for _, d := range s.Dirs {
		// Make the host's dir a mount, bind the real entries onto its
		// placeholders, then move the whole tree into place (a recursive
		// bind instead would leave every entry mounted twice).
		own := root + d.Path
		if err := bind(own, own); err != nil {
			return err
		}
		for _, name := range d.Keep {
			if err := bind(d.Path+"/"+name, own+"/"+name); err != nil {
				return err
			}
		}
		for _, name := range d.Mounted {
			if err := remount(own+"/"+name, true); err != nil {
				return err
			}
		}
		if d.Path == "/etc" && slices.Contains(s.SysctlD, "tmpfs") {
			// Mounted on the tree before the move, so it moves along.
			if err := sizedTmpfs(own+"/sysctl.d", s.SysctlDSize); err != nil {
				return err
			}
		}
		if err := syscall.Mount(own, d.Path, "", syscall.MS_MOVE, ""); err != nil {
			return fmt.Errorf("move %s to %s: %w", own, d.Path, err)
		}
		if err := remount(d.Path, false); err != nil {
			return err
		}
	}
	if slices.Contains(s.SysctlD, "ro") {
		if err := bind(sysctlD, sysctlD); err != nil {
			return err
		}
		if err := remount(sysctlD, true); err != nil {
			return err
		}
	}
	// A private /dev/shm: the machine's one holds the other hosts' trees.
	if err := syscall.Mount("tmpfs", "/dev/shm", "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777,size=16m"); err != nil {
		return fmt.Errorf("tmpfs on /dev/shm: %w", err)
	}
	return syscall.Chdir("/")
}

// procSys makes /proc/sys read-only and replaces /proc/sys/kernel by a
// tmpfs holding read-only binds of the real entries plus the fake yama dir
// (overlayfs over procfs is refused by the kernel). A real yama entry is
// never exposed.
func procSys(root, yama string) error {
	const k = "/proc/sys/kernel"
	stage := root + "/.kstage"
	if err := bind(k, stage); err != nil {
		return err
	}
	if err := remount(stage, true); err != nil {
		return err
	}
	if err := bind("/proc/sys", "/proc/sys"); err != nil {
		return err
	}
	if err := remount("/proc/sys", true); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", k, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=0555,size=64k"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", k, err)
	}
	ents, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == "yama" {
			continue
		}
		t := k + "/" + e.Name()
		if e.IsDir() {
			err = os.Mkdir(t, 0o555)
		} else {
			err = os.WriteFile(t, nil, 0o444)
		}
		if err != nil {
			return err
		}
		if err := bind(stage+"/"+e.Name(), t); err != nil {
			return err
		}
	}
	if yama != "" {
		if err := os.Mkdir(k+"/yama", 0o555); err != nil {
			return err
		}
		if err := bind(root+yamaDir, k+"/yama"); err != nil {
			return err
		}
		if yama == "ro" {
			if err := remount(k+"/yama", true); err != nil {
				return err
			}
		}
	}
	if err := remount(k, true); err != nil {
		return err
	}
	return syscall.Unmount(stage, syscall.MNT_DETACH)
}

// sizedTmpfs replaces dir by a tmpfs of size bytes holding a copy of its
// entries (regular files and symlinks; mode kept, owner root), so that a
// write beyond size fails with ENOSPC.
func sizedTmpfs(dir string, size int) error {
	type entry struct {
		name, target string
		mode         os.FileMode
		data         []byte
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var keep []entry
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		en := entry{name: e.Name(), mode: fi.Mode()}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			en.target, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			en.data, err = os.ReadFile(p)
		default:
			return fmt.Errorf("%s: only files and symlinks can be copied to a sized tmpfs", p)
		}
		if err != nil {
			return err
		}
		keep = append(keep, en)
	}
	opts := fmt.Sprintf("mode=0755,size=%d", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, opts); err != nil {
		return fmt.Errorf("tmpfs (%s) on %s: %w", opts, dir, err)
	}
	for _, en := range keep {
		p := filepath.Join(dir, en.name)
		if en.mode&os.ModeSymlink != 0 {
			err = os.Symlink(en.target, p)
		} else if err = os.WriteFile(p, en.data, en.mode.Perm()); err == nil {
			err = os.Chmod(p, en.mode.Perm())
		}
		if err != nil {
			return fmt.Errorf("seed the %d-byte tmpfs on %s: %w", size, dir, err)
		}
	}
	return nil
}

func bind(src, dst string) error {
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, dst, err)
	}
	return nil
}

// remount changes only this namespace's mount at p (MS_BIND|MS_REMOUNT is
// per mount, never the filesystem). It keeps nosuid/nodev/noexec (the
// statfs and mount bits are equal for those; atime flags are kept by the
// kernel when none are given).
func remount(p string, ro bool) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", p, err)
	}
	flags := uintptr(syscall.MS_BIND|syscall.MS_REMOUNT) | uintptr(st.Flags)&(syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC)
	if ro {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("", p, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s (ro=%v): %w", p, ro, err)
	}
	return nil
}
