package yama

import (
	"bytes"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// Desired is what a host should hold. A nil part is not managed.
type Desired struct {
	File    string
	Content []byte        // nil: leave the drop-in alone
	Runtime *ptrace.Scope // nil: leave the live value alone
}

func holds(f File, content []byte) bool {
	return f.Kind == KindRegular && f.Readable && bytes.Equal(f.Content, content)
}

// Snapshot is what a host held before this provider changed it, so that a
// destroy can put it back.
type Snapshot struct {
	// Runtime is the live value, or -1 when Yama was absent.
	Runtime int `json:"runtime"`
	// FileKind is the drop-in's kind; only "reg" and "missing" can be
	// restored (this package never replaces a link or a device).
	FileKind FileKind `json:"file_kind"`
	Content  []byte   `json:"content,omitempty"`
}

// TakeSnapshot records st for a later Restore.
func TakeSnapshot(st *State) Snapshot {
	s := Snapshot{Runtime: -1, FileKind: st.Managed.Kind}
	if st.Available {
		s.Runtime = int(st.Runtime)
	}
	if st.Managed.Kind == KindRegular {
		s.Content = bytes.Clone(st.Managed.Content)
	}
	return s
}

// Restore returns the change that puts the snapshot back. manageFile and
// manageRuntime say which parts the resource managed; the others are left
// as they are. extra are files the resource created (which did not exist
// before it): they are removed. A live value locked at 3 is left alone
// (the kernel would refuse); locked tells the caller to say so.
func (s Snapshot) Restore(st *State, file string, manageFile, manageRuntime bool, extra []string) (c Change, locked bool) {
	c = Change{File: file}
	if manageFile {
		switch s.FileKind {
		case KindRegular:
			if !holds(st.Managed, s.Content) {
				c.Files = append(c.Files, FileOp{Path: file, Content: append([]byte{}, s.Content...)})
			}
		case KindMissing:
			if st.Managed.Exists() {
				c.Files = append(c.Files, FileOp{Path: file, Remove: true})
			}
		}
	}
	c.Files = append(c.Files, RemoveExisting(st, extra)...)
	if manageRuntime && s.Runtime >= 0 && st.Available && int(st.Runtime) != s.Runtime {
		r := ptrace.Scope(s.Runtime)
		if ptrace.CanChangeLive(st.Runtime, r) != nil {
			locked = true
		} else {
			c.Runtime = &r
		}
	}
	return c, locked
}

// RemoveExisting returns remove operations for those of paths that exist.
func RemoveExisting(st *State, paths []string) []FileOp {
	var ops []FileOp
	for _, p := range paths {
		if st.Lookup(p).Exists() {
			ops = append(ops, FileOp{Path: p, Remove: true})
		}
	}
	return ops
}
