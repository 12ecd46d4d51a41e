package yama

import (
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
	// TooLarge marks a file over MaxFileSize; Content is then empty.
	TooLarge bool
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
