package yama

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// FileKind says what a path is on the host.
type FileKind string

// The kinds the scripts report.
const (
	KindRegular FileKind = "reg"
	KindSymlink FileKind = "link"
	KindDir     FileKind = "dir"
	KindOther   FileKind = "other"
	KindMissing FileKind = "missing"
)

// File is one path as the host reported it.
type File struct {
	Path string
	Kind FileKind
	// Target is the symlink's target, as readlink prints it.
	Target string
	// Content is the file's bytes (following a symlink), when Readable.
	Content []byte
	// Readable is false for a file the connecting user may not read.
	Readable bool
	// Withheld is true for a regular file the script did not read on
	// purpose: the managed drop-in was not a plain file (see Unsafe).
	Withheld bool
	// TooLarge marks a file over MaxFileSize; Content is then empty.
	TooLarge bool
	// Meta is what ls -ln says of the path; only the managed drop-in has
	// it (Type is 0 otherwise, or when ls could not tell).
	Meta Meta
}

// Exists reports whether anything is at the path (a dangling symlink
// counts: it still occupies the name).
func (f File) Exists() bool { return f.Kind != KindMissing && f.Kind != "" }

// State is everything one read of a host learns.
type State struct {
	// Available is false when the kernel has no Yama (no proc file).
	Available bool
	// Runtime is the live value; valid only when Available.
	Runtime ptrace.Scope
	// Managed is the drop-in this resource manages.
	Managed File
	// Systemd is true when systemd is the running init
	// (/run/systemd/system exists), so systemd-sysctl applies sysctl.d.
	Systemd bool
	// Config lists every sysctl.d *.conf file, /etc/sysctl.conf and the
	// sysctl.d directories themselves (and /lib, to spot merged /usr), in
	// the order the host reported them.
	Config []File
	// Original is the record of what the host held before the provider
	// first changed it (RecordPath; see Snapshot and ParseRecord): missing
	// when there is none, KindOther and not Readable when the login user
	// cannot tell (only root can see it).
	Original File
	// Changed lists the changes an Apply made, in order (nil for a Read).
	Changed []Step
	// ChangedKnown is true when Changed is complete: the apply's answer
	// arrived. After a lost answer (State from a read-back) Changed holds
	// only the steps whose report got through.
	ChangedKnown bool
}

// Locked reports whether the live value is 3, which the kernel will not
// change until reboot.
func (s *State) Locked() bool { return s.Available && s.Runtime == ptrace.NoAttach }

// Lookup returns what the host reported at path: the managed drop-in or
// any sysctl.d entry; a path it did not report is missing.
func (s *State) Lookup(path string) File {
	if s.Managed.Path == path {
		return s.Managed
	}
	for _, f := range s.Config {
		if f.Path == path {
			return f
		}
	}
	return File{Path: path, Kind: KindMissing}
}

// Unsafe says what the managed drop-in is when it is anything but a
// regular file with one link ("" when it is one, or missing): a symbolic
// link, a hard link, a directory, a FIFO, a device. Such a path is never
// read, written or recorded: it could lead to any file on the host.
func (f File) Unsafe() string {
	switch f.Kind {
	case KindMissing, "":
		return ""
	case KindSymlink:
		return "a symbolic link (to " + f.Target + ")"
	case KindDir:
		return "a directory"
	case KindRegular:
		// The script reads only a file with one link (else it withholds
		// it); Links is checked too in case meta says more.
		switch {
		case f.Meta.Links > 1:
			return fmt.Sprintf("a hard link (one of %d names of the same file)", f.Meta.Links)
		case f.Withheld:
			return "a regular file whose link count could not be read"
		}
		return ""
	}
	switch f.Meta.Type {
	case 'p':
		return "a FIFO"
	case 'c':
		return "a character device"
	case 'b':
		return "a block device"
	case 's':
		return "a socket"
	}
	return "not a regular file"
}

// Meta is a file's type, mode, link count and owner, as ls -ln prints them.
type Meta struct {
	Type  byte   // ls's type letter: '-' regular, 'd', 'l', 'p', 'c', 'b', 's'
	Perm  uint32 // permission bits with setuid, setgid and sticky: 0640, 04755
	Links int
	UID   int
	GID   int
}

// Owner is "uid:gid", as chown takes it.
func (m Meta) Owner() string { return strconv.Itoa(m.UID) + ":" + strconv.Itoa(m.GID) }

// ParseMeta reads the first four fields of an ls -ln (or -lnd) line:
// "-rw-r-----  1 0 4 27 Jan  1 00:00 /etc/sysctl.d/10-ptrace.conf". A mode
// string may end in "+" (ACL) or "." (SELinux context), which are ignored.
func ParseMeta(line string) (Meta, error) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f[0]) < 10 {
		return Meta{}, fmt.Errorf("%w: not an ls -ln line: %q", ErrProtocol, line)
	}
	mode := f[0]
	m := Meta{Type: mode[0]}
	var err1, err2, err3 error
	m.Links, err1 = strconv.Atoi(f[1])
	m.UID, err2 = strconv.Atoi(f[2])
	m.GID, err3 = strconv.Atoi(f[3])
	const maxID = 1<<32 - 1 // uid_t and gid_t are 32 bits
	if err := errors.Join(err1, err2, err3); err != nil || m.Links < 0 || m.UID < 0 || m.GID < 0 || m.UID > maxID || m.GID > maxID {
		return Meta{}, fmt.Errorf("%w: not an ls -ln line: %q", ErrProtocol, line)
	}
	// rwxrwxrwx, with s/S (setuid, setgid) and t/T (sticky) in the x slots.
	for i, c := range mode[1:10] {
		bit := uint32(1) << (8 - i)
		var special uint32
		switch i {
		case 2:
			special = 0o4000
		case 5:
			special = 0o2000
		case 8:
			special = 0o1000
		}
		switch {
		case c == '-':
		case c == rune("rwxrwxrwx"[i]):
			m.Perm |= bit
		case special != 0 && (c == 's' || c == 't'):
			m.Perm |= bit | special
		case special != 0 && (c == 'S' || c == 'T'):
			m.Perm |= special
		default:
			return Meta{}, fmt.Errorf("%w: not an ls -ln mode: %q", ErrProtocol, mode)
		}
	}
	return m, nil
}
