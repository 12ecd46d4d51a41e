package sysctld

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// Kind is the type of a MemFS entry, as a remote listing reports it
// (e.g. find -printf %y: f, d, l, c/b, p/s).
type Kind uint8

const (
	KindRegular Kind = iota // regular file with Data
	KindDir                 // directory (parents are created implicitly)
	KindSymlink             // symbolic link to Target
	KindDevice              // character or block device: systemd counts it as a mask, like /dev/null
	KindOther               // fifo, socket, anything else: never read
)

func (k Kind) String() string {
	switch k {
	case KindRegular:
		return "regular"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	case KindDevice:
		return "device"
	case KindOther:
		return "other"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind maps a remote listing's type to a Kind: find -printf %y letters
// ("f", "d", "l", "c", "b", "p", "s", ...) or Kind.String names.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "f", "regular":
		return KindRegular, nil
	case "d", "dir":
		return KindDir, nil
	case "l", "symlink":
		return KindSymlink, nil
	case "c", "b", "device":
		return KindDevice, nil
	case "p", "s", "D", "other":
		return KindOther, nil
	}
	return 0, fmt.Errorf("sysctld: unknown file kind %q", s)
}

// Entry is one node of a MemFS.
//
// The JSON form (the provider keeps a host's entries in Terraform state)
// leaves out empty fields: Terraform rewrites the whole state after each
// resource it applies, so every byte is paid for once per host per host.
type Entry struct {
	Path   string `json:"path"`             // host path; a leading "/" is optional ("/etc/sysctl.conf" == "etc/sysctl.conf")
	Kind   Kind   `json:"kind,omitempty"`   // zero: KindRegular
	Target string `json:"target,omitempty"` // KindSymlink: the link text as readlink(2) returns it, relative or absolute
	Data   []byte `json:"data,omitempty"`   // KindRegular: the content
}

// MemFS is an in-memory host tree of files, directories and symlinks. It
// implements fs.FS, fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and
// fs.ReadLinkFS; Open and Stat follow symlinks (absolute targets from the
// root), Lstat and ReadLink do not.
//
// The provider fills it from a remote listing. Add entries under their real
// paths (not through a symlinked directory) and add the targets of symlinks
// that leave the listed directories (e.g. /etc/sysctl.conf), otherwise they
// are dangling. A MemFS is not safe for concurrent Add and reads.
type MemFS struct {
	m map[string]*Entry // key: cleaned path without leading "/"; no root entry
}

// NewMemFS returns a MemFS holding entries (see Add).
func NewMemFS(entries ...Entry) (*MemFS, error) {
	m := &MemFS{m: map[string]*Entry{}}
	for _, e := range entries {
		if err := m.Add(e); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Add inserts e, creating missing parent directories. It refuses paths that
// are empty, the root, or contain "..", a parent that is not a directory, and
// a second entry at the same path (unless both are directories).
func (m *MemFS) Add(e Entry) error {
	name := strings.TrimLeft(e.Path, "/")
	if name == "" || !fs.ValidPath(name) || slices.Contains(strings.Split(name, "/"), "..") {
		return fmt.Errorf("sysctld: bad MemFS path %q", e.Path)
	}
	if m.m == nil {
		m.m = map[string]*Entry{}
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if p, ok := m.m[dir]; ok && p.Kind != KindDir {
			return fmt.Errorf("sysctld: MemFS path %q: parent %q is a %s", e.Path, "/"+dir, p.Kind)
		}
	}
	if old, ok := m.m[name]; ok {
		if old.Kind == KindDir && e.Kind == KindDir {
			return nil
		}
		return fmt.Errorf("sysctld: MemFS path %q added twice", e.Path)
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if _, ok := m.m[dir]; !ok {
			m.m[dir] = &Entry{Path: dir, Kind: KindDir}
		}
	}
	c := e
	c.Path = name
	c.Data = bytes.Clone(e.Data)
	m.m[name] = &c
	return nil
}

// lstat and readLink let realPath walk a MemFS by raw lookups.
func (m *MemFS) lstat(name string) (fs.FileMode, error) {
	e, err := m.raw("lstat", name)
	if err != nil {
		return 0, err
	}
	return e.mode(), nil
}

func (m *MemFS) readLink(name string) (string, error) {
	e, err := m.raw("readlink", name)
	if err != nil {
		return "", err
	}
	if e.Kind != KindSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.Target, nil
}

var rootEntry = &Entry{Path: ".", Kind: KindDir}

// raw looks up a physical path (no symlinks in it).
func (m *MemFS) raw(op, name string) (*Entry, error) {
	if name == "." {
		return rootEntry, nil
	}
	if e, ok := m.m[name]; ok {
		return e, nil
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// find resolves name (an fs.FS path) and returns its entry.
func (m *MemFS) find(op, name string, follow bool) (*Entry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	resolvedPath, err := realPath(m, name, follow)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			pe.Op, pe.Path = op, name
			return nil, pe
		}
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	e, err := m.raw(op, resolvedPath)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, nil
}

// Lstat describes name without following a final symlink.
func (m *MemFS) Lstat(name string) (fs.FileInfo, error) {
	e, err := m.find("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return e.info(path.Base(name)), nil
}

// ReadLink returns the target of the symlink name.
func (m *MemFS) ReadLink(name string) (string, error) {
	e, err := m.find("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.Kind != KindSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return e.Target, nil
}

// Stat describes name, following symlinks.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	e, err := m.find("stat", name, true)
	if err != nil {
		return nil, err
	}
	return e.info(path.Base(name)), nil
}

// ReadFile returns the content of name, following symlinks. Devices and
// other special files read as empty.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	e, err := m.find("read", name, true)
	if err != nil {
		return nil, err
	}
	if e.Kind == KindDir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	return bytes.Clone(e.Data), nil
}

var errIsDir = errors.New("is a directory")

// ReadDir lists the directory name (following symlinks), sorted by name.
func (m *MemFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := m.find("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if e.Kind != KindDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	prefix := e.Path + "/"
	if e.Path == "." {
		prefix = ""
	}
	var out []fs.DirEntry
	for p, c := range m.m {
		if rest, ok := strings.CutPrefix(p, prefix); ok && !strings.Contains(rest, "/") {
			out = append(out, fs.FileInfoToDirEntry(c.info(rest)))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Open opens name, following symlinks.
func (m *MemFS) Open(name string) (fs.File, error) {
	e, err := m.find("open", name, true)
	if err != nil {
		return nil, err
	}
	fi := e.info(path.Base(name))
	if e.Kind == KindDir {
		ents, err := m.ReadDir(name)
		if err != nil {
			return nil, err
		}
		return &memDir{fi: fi, ents: ents}, nil
	}
	return &memFile{fi: fi, r: bytes.NewReader(e.Data)}, nil
}

func (e *Entry) mode() fs.FileMode {
	switch e.Kind {
	case KindDir:
		return fs.ModeDir | 0o755
	case KindSymlink:
		return fs.ModeSymlink | 0o777
	case KindDevice:
		return fs.ModeDevice | fs.ModeCharDevice | 0o666
	case KindOther:
		return fs.ModeNamedPipe | 0o644
	}
	return 0o644
}

func (e *Entry) info(name string) fs.FileInfo {
	size := int64(len(e.Data))
	if e.Kind == KindSymlink {
		size = int64(len(e.Target))
	}
	return memInfo{name: name, size: size, mode: e.mode()}
}

type memInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

type memFile struct {
	fi fs.FileInfo
	r  *bytes.Reader
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *memFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *memFile) Seek(off int64, whence int) (int64, error) {
	return f.r.Seek(off, whence)
}
func (f *memFile) ReadAt(b []byte, off int64) (int, error) { return f.r.ReadAt(b, off) }
func (f *memFile) Close() error                            { return nil }

type memDir struct {
	fi   fs.FileInfo
	ents []fs.DirEntry
	off  int
}

func (d *memDir) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.fi.Name(), Err: errIsDir}
}
func (d *memDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.off += len(rest)
	return rest, nil
}
