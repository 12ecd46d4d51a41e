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

// Diff returns only the steps needed to move st to want, so an apply on a
// converged host runs no write at all.
func Diff(st *State, want Desired) Change {
	c := Change{File: want.File}
	if want.Content != nil && (st.Managed.Kind != KindRegular || !st.Managed.Readable || !bytes.Equal(st.Managed.Content, want.Content)) {
		c.Content = want.Content
	}
	if want.Runtime != nil && (!st.Available || st.Runtime != *want.Runtime) {
		r := *want.Runtime
		c.Runtime = &r
	}
	return c
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

// Restore returns the change that puts the snapshot back. file and
// runtime say which parts the resource managed; the others are left as
// they are. A live value locked at 3 is left alone (the kernel would
// refuse); the caller tells the user.
func (s Snapshot) Restore(st *State, file string, manageFile, manageRuntime bool) (Change, bool) {
	c := Change{File: file}
	if manageFile {
		switch s.FileKind {
		case KindRegular:
			if !bytes.Equal(st.Managed.Content, s.Content) || st.Managed.Kind != KindRegular {
				c.Content = bytes.Clone(s.Content)
				if c.Content == nil {
					c.Content = []byte{}
				}
			}
		case KindMissing:
			c.Remove = st.Managed.Exists()
		}
	}
	locked := false
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
