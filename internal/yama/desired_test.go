package yama

import (
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

func state(runtime int, kind FileKind, content string) *State {
	st := &State{Managed: File{Path: DefaultFile, Kind: kind}}
	if runtime >= 0 {
		st.Available, st.Runtime = true, ptrace.Scope(runtime)
	}
	if kind == KindRegular {
		st.Managed.Readable, st.Managed.Content = true, []byte(content)
	}
	return st
}

func TestDiff(t *testing.T) {
	want := []byte("kernel.yama.ptrace_scope = 2\n")
	two := ptrace.AdminOnly
	cases := []struct {
		name        string
		st          *State
		d           Desired
		wantFile    bool
		wantRuntime bool
	}{
		{"converged", state(2, KindRegular, string(want)), Desired{File: DefaultFile, Content: want, Runtime: &two}, false, false},
		{"runtime drift", state(1, KindRegular, string(want)), Desired{File: DefaultFile, Content: want, Runtime: &two}, false, true},
		{"file edited", state(2, KindRegular, "# edited\n"+string(want)), Desired{File: DefaultFile, Content: want, Runtime: &two}, true, false},
		{"file deleted", state(2, KindMissing, ""), Desired{File: DefaultFile, Content: want, Runtime: &two}, true, false},
		{"file is a link", state(2, KindSymlink, ""), Desired{File: DefaultFile, Content: want, Runtime: &two}, true, false},
		{"file unmanaged", state(2, KindMissing, ""), Desired{File: DefaultFile, Runtime: &two}, false, false},
		{"runtime unmanaged", state(0, KindRegular, string(want)), Desired{File: DefaultFile, Content: want}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := Diff(c.st, c.d)
			if (ch.Content != nil) != c.wantFile || (ch.Runtime != nil) != c.wantRuntime {
				t.Errorf("Diff = file %v runtime %v; want file %v runtime %v", ch.Content != nil, ch.Runtime != nil, c.wantFile, c.wantRuntime)
			}
		})
	}
}

func TestSnapshotRestore(t *testing.T) {
	orig := state(1, KindRegular, "kernel.yama.ptrace_scope = 1\n")
	snap := TakeSnapshot(orig)

	now := state(2, KindRegular, "kernel.yama.ptrace_scope = 2\n")
	c, locked := snap.Restore(now, DefaultFile, true, true)
	if locked || string(c.Content) != "kernel.yama.ptrace_scope = 1\n" || c.Runtime == nil || *c.Runtime != 1 {
		t.Errorf("restore = %+v locked=%v", c, locked)
	}
	// Only managed parts are restored.
	c, _ = snap.Restore(now, DefaultFile, false, true)
	if c.Content != nil || c.Remove {
		t.Errorf("unmanaged file restored: %+v", c)
	}
	// A file that did not exist is removed.
	c, _ = TakeSnapshot(state(1, KindMissing, "")).Restore(now, DefaultFile, true, false)
	if !c.Remove || c.Runtime != nil {
		t.Errorf("restore of missing file = %+v", c)
	}
	// An empty original file is restored as empty, not removed.
	c, _ = TakeSnapshot(state(1, KindRegular, "")).Restore(now, DefaultFile, true, false)
	if c.Content == nil || len(c.Content) != 0 {
		t.Errorf("restore of empty file = %+v", c)
	}
	// Locked at 3: the live value cannot go back.
	c, locked = snap.Restore(state(3, KindRegular, "x"), DefaultFile, true, true)
	if !locked || c.Runtime != nil || c.Content == nil {
		t.Errorf("restore over a lock = %+v locked=%v", c, locked)
	}
	// A link that was there before is never touched.
	c, _ = TakeSnapshot(state(1, KindSymlink, "")).Restore(now, DefaultFile, true, false)
	if !c.Empty() {
		t.Errorf("restore of a link = %+v", c)
	}
}
