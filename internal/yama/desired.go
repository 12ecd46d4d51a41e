package yama

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

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
	// Mode (permission bits) and Owner ("uid:gid") of the drop-in, put
	// back with it; zero and empty in snapshots from before they were
	// kept, which restore as 0644 root:root.
	Mode  uint32 `json:"mode,omitempty"`
	Owner string `json:"owner,omitempty"`
	// Provisional marks a snapshot taken from a read of the host as it was
	// found (an import), not before the provider's first change: the
	// host's record (State.Original) wins over it when there is one.
	Provisional bool `json:"provisional,omitempty"`
}

// TakeSnapshot records st for a later Restore.
func TakeSnapshot(st *State) Snapshot {
	s := Snapshot{Runtime: -1, FileKind: st.Managed.Kind}
	if st.Available {
		s.Runtime = int(st.Runtime)
	}
	if st.Managed.Kind == KindRegular {
		s.Content = bytes.Clone(st.Managed.Content)
		if st.Managed.Meta.Type != 0 {
			s.Mode, s.Owner = st.Managed.Meta.Perm, st.Managed.Meta.Owner()
		}
	}
	return s
}

// recordMagic is the first line of a record (scripts/apply.sh, original).
const recordMagic = "terraform-provider-yama original 1"

// ErrBadRecord is returned for a record that is not what apply.sh writes.
var ErrBadRecord = errors.New("the record of the original is damaged")

// Recorded returns the snapshot the host's record holds (see
// State.Original): ok is false when there is no record or the login user
// cannot see it (only root can).
func (s *State) Recorded() (snap Snapshot, ok bool, err error) {
	f := s.Original
	if f.Kind != KindRegular || !f.Readable {
		return Snapshot{}, false, nil
	}
	snap, err = ParseRecord(f.Content)
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("%s: %w", f.Path, err)
	}
	return snap, true, nil
}

// ParseRecord reads a record: a header of "key value" lines (format, live
// value, the drop-in's kind and ls -ln line), a blank line, and the
// drop-in's bytes.
func ParseRecord(data []byte) (Snapshot, error) {
	head, body, found := bytes.Cut(data, []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	if !found || len(lines) < 3 || lines[0] != recordMagic {
		return Snapshot{}, fmt.Errorf("%w: no header", ErrBadRecord)
	}
	s := Snapshot{Runtime: -1}
	var meta *Meta
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "live":
			if v == "-" {
				continue
			}
			r, err := ptrace.KernelParse(v)
			if err != nil {
				return Snapshot{}, fmt.Errorf("%w: live value %q", ErrBadRecord, v)
			}
			s.Runtime = int(r)
		case "file":
			s.FileKind = FileKind(v)
		case "meta":
			m, err := ParseMeta(v)
			if err != nil {
				return Snapshot{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
			}
			meta = &m
		}
	}
	switch {
	case s.FileKind == KindMissing && len(body) == 0:
	case s.FileKind == KindRegular && meta != nil:
		s.Content, s.Mode, s.Owner = bytes.Clone(body), meta.Perm, meta.Owner()
		if len(s.Content) > MaxFileSize {
			return Snapshot{}, fmt.Errorf("%w: over %d bytes", ErrBadRecord, MaxFileSize)
		}
	default:
		return Snapshot{}, fmt.Errorf("%w: drop-in %q", ErrBadRecord, s.FileKind)
	}
	return s, nil
}

// sameFile reports whether f holds the snapshot's drop-in: content, and
// mode and owner when the snapshot knows them.
func (s Snapshot) sameFile(f File) bool {
	if !holds(f, s.Content) {
		return false
	}
	return s.Mode == 0 || f.Meta.Type == 0 || (f.Meta.Perm == s.Mode && f.Meta.Owner() == s.Owner)
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
			if !s.sameFile(st.Managed) {
				c.Files = append(c.Files, FileOp{Path: file, Content: append([]byte{}, s.Content...), Mode: s.Mode, Owner: s.Owner})
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
