package sysctld

import (
	"errors"
	"io/fs"
	"path"
	"strings"
)

// maxHops bounds symlink expansions per lookup. Linux allows 40 (MAXSYMLINKS);
// using the same bound means a chain that works on the host works here, and a
// loop still ends quickly.
const maxHops = 40

// ErrLinkLoop is returned (wrapped) for a path that needs more than 40
// symlink expansions, the kernel's ELOOP.
var ErrLinkLoop = errors.New("too many levels of symbolic links")

// lookupFS is the little the path walker needs: Lstat on a path whose
// parent holds no symlinks, and ReadLink on a symlink.
type lookupFS interface {
	lstat(name string) (fs.FileMode, error)
	readLink(name string) (string, error)
}

// anyFS adapts an fs.FS. Without fs.ReadLinkFS it cannot see symlinks: Stat
// follows them (if the FS does) and every path looks physical.
type anyFS struct{ fsys fs.FS }

func (a anyFS) lstat(name string) (fs.FileMode, error) {
	var fi fs.FileInfo
	var err error
	if rl, ok := a.fsys.(fs.ReadLinkFS); ok {
		fi, err = rl.Lstat(name)
	} else {
		fi, err = fs.Stat(a.fsys, name)
	}
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

func (a anyFS) readLink(name string) (string, error) { return fs.ReadLink(a.fsys, name) }

// realPath resolves name (relative to the host root, as fs.FS wants) to a
// path without symlinks, like realpath(3) inside a chroot: absolute link
// targets start again at the root, relative ones at the link's directory,
// and ".." is taken physically (after links) and stops at the root. With
// follow false the last component is not expanded (lstat semantics). The
// root is returned as ".". Missing components give an error wrapping
// fs.ErrNotExist; too many expansions give ErrLinkLoop.
func realPath(l lookupFS, name string, follow bool) (string, error) {
	todo := strings.Split(name, "/")
	var done []string
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		p := path.Join(append(done, c)...)
		if len(todo) == 0 && !follow {
			done = append(done, c)
			break
		}
		mode, err := l.lstat(p)
		if err != nil {
			return "", err
		}
		if mode&fs.ModeSymlink != 0 {
			if hops++; hops > maxHops {
				return "", &fs.PathError{Op: "resolve", Path: name, Err: ErrLinkLoop}
			}
			target, err := l.readLink(p)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target, "/") {
				done = done[:0]
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if len(todo) > 0 && !mode.IsDir() {
			return "", &fs.PathError{Op: "resolve", Path: name, Err: errNotDir}
		}
		done = append(done, c)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// errNotDir wraps fs.ErrNotExist: a path through a regular file does not
// exist, which is how a config lookup should treat it.
var errNotDir = notDirError{}

type notDirError struct{}

func (notDirError) Error() string        { return "not a directory" }
func (notDirError) Is(target error) bool { return target == fs.ErrNotExist }
