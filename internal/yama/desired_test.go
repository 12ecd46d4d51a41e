package yama

import (
	"strings"
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
			if (len(ch.Files) == 1) != c.wantFile || (ch.Runtime != nil) != c.wantRuntime {
				t.Errorf("Diff = files %v runtime %v; want file %v runtime %v", ch.Files, ch.Runtime != nil, c.wantFile, c.wantRuntime)
			}
		})
	}
}

func TestDiffExtraFiles(t *testing.T) {
	st := state(1, KindRegular, "x")
	st.Config = []File{{Path: "/etc/sysctl.d/zz-b.conf", Kind: KindRegular, Readable: true, Content: []byte("same")}}
	ch := Diff(st, Desired{File: DefaultFile, Content: []byte("x"), Extra: map[string][]byte{
		"/etc/sysctl.d/zz-b.conf": []byte("same"),
		"/etc/sysctl.d/zz-a.conf": []byte("new"),
	}})
	if len(ch.Files) != 1 || ch.Files[0].Path != "/etc/sysctl.d/zz-a.conf" {
		t.Errorf("Diff = %+v, want only the missing extra file", ch.Files)
	}
}

func TestSnapshotRestore(t *testing.T) {
	orig := state(1, KindRegular, "kernel.yama.ptrace_scope = 1\n")
	snap := TakeSnapshot(orig)
	now := state(2, KindRegular, "kernel.yama.ptrace_scope = 2\n")
	cases := []struct {
		name          string
		snap          Snapshot
		now           *State
		file, runtime bool
		extra         []string
		wantFiles     string
		wantRuntime   int // -1: none
		wantLocked    bool
	}{
		{"both back", snap, now, true, true, nil, "write " + DefaultFile, 1, false},
		{"only managed parts", snap, now, false, true, nil, "", 1, false},
		{"missing file removed", TakeSnapshot(state(1, KindMissing, "")), now, true, false, nil, "remove " + DefaultFile, -1, false},
		{"empty file kept empty", TakeSnapshot(state(1, KindRegular, "")), now, true, false, nil, "write " + DefaultFile, -1, false},
		{"locked at 3", snap, state(3, KindRegular, "x"), true, true, nil, "write " + DefaultFile, -1, true},
		{"link never touched", TakeSnapshot(state(1, KindSymlink, "")), now, true, false, nil, "", -1, false},
		{"created extra removed", snap, withConfig(now, "/etc/sysctl.d/zz-yama.conf"), false, false, []string{"/etc/sysctl.d/zz-yama.conf", "/etc/sysctl.d/gone.conf"}, "remove /etc/sysctl.d/zz-yama.conf", -1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, locked := c.snap.Restore(c.now, DefaultFile, c.file, c.runtime, c.extra)
			var got []string
			for _, op := range ch.Files {
				if op.Remove {
					got = append(got, "remove "+op.Path)
				} else {
					got = append(got, "write "+op.Path)
				}
			}
			if strings.Join(got, ", ") != c.wantFiles {
				t.Errorf("files = %v, want %q", got, c.wantFiles)
			}
			rt := -1
			if ch.Runtime != nil {
				rt = int(*ch.Runtime)
			}
			if rt != c.wantRuntime || locked != c.wantLocked {
				t.Errorf("runtime %d locked %v, want %d %v", rt, locked, c.wantRuntime, c.wantLocked)
			}
		})
	}
}

func withConfig(st *State, paths ...string) *State {
	c := *st
	for _, p := range paths {
		c.Config = append(c.Config, File{Path: p, Kind: KindRegular, Readable: true})
	}
	return &c
}
