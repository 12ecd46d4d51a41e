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
