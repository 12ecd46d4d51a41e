package yama

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

func writeOp(path string, content []byte) []FileOp {
	return []FileOp{{Path: path, Content: content}}
}

func removeOp(path string) []FileOp { return []FileOp{{Path: path, Remove: true}} }

func scopePtr(s ptrace.Scope) *ptrace.Scope { return &s }

func TestApplyWritesFileAndRuntime(t *testing.T) {
	content := []byte("# managed\nkernel.yama.ptrace_scope = 2\n")
	yamatest.EachShell(t, "1\n", nil, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, content), Runtime: scopePtr(2)})
		if err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, DefaultFile); got != string(content) {
			t.Errorf("file = %q", got)
		}
		if got := yamatest.ReadFile(t, h.Dir, ProcPath); got != "2\n" {
			t.Errorf("runtime file = %q", got)
		}
		if st.Runtime != 2 || string(st.Managed.Content) != string(content) {
			t.Errorf("read-back state = %v %q", st.Runtime, st.Managed.Content)
		}
		fi, err := os.Stat(filepath.Join(h.Dir, DefaultFile))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode = %v, %v; want 0644", fi.Mode(), err)
		}
		leftovers, _ := filepath.Glob(filepath.Join(h.Dir, "etc/sysctl.d/.*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})
}

func TestApplyOnlyTouchesWhatItIsAsked(t *testing.T) {
	old := "kernel.yama.ptrace_scope = 1\n"
	yamatest.EachShell(t, "1\n", map[string]string{DefaultFile: old}, func(t *testing.T, h yamatest.LocalHost) {
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(0)}); err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, DefaultFile); got != old {
			t.Errorf("runtime-only change rewrote the file: %q", got)
		}
		if got := yamatest.ReadFile(t, h.Dir, ProcPath); got != "0\n" {
			t.Errorf("runtime = %q", got)
		}
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("x = 1\n"))}); err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, ProcPath); got != "0\n" {
			t.Errorf("file-only change touched the runtime: %q", got)
		}
	})
}

func TestApplyRemove(t *testing.T) {
	yamatest.EachShell(t, "1", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 1\n"}, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: removeOp(DefaultFile)})
		if err != nil {
			t.Fatal(err)
		}
		if st.Managed.Exists() {
			t.Error("state still shows the drop-in")
		}
		if _, err := os.Stat(filepath.Join(h.Dir, DefaultFile)); !os.IsNotExist(err) {
			t.Errorf("file still there: %v", err)
		}
		// Removing what is not there is not an error: destroy must converge.
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: removeOp(DefaultFile)}); err != nil {
			t.Errorf("second remove: %v", err)
		}
	})
}

func TestApplyCreatesMissingDirectory(t *testing.T) {
	yamatest.EachShell(t, "1", nil, func(t *testing.T, h yamatest.LocalHost) {
		f := "/run/sysctl.d/60-yama.conf"
		if _, err := Apply(context.Background(), h, Change{File: f, Files: writeOp(f, []byte("k = 1\n"))}); err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, f); got != "k = 1\n" {
			t.Errorf("file = %q", got)
		}
	})
}

func TestApplyRefusesSymlinkedDropIn(t *testing.T) {
	yamatest.EachShell(t, "1", map[string]string{"/etc/sysctl.conf": "a = 1\n"}, func(t *testing.T, h yamatest.LocalHost) {
		yamatest.Symlink(t, h.Dir, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
		st, err := Apply(context.Background(), h, Change{File: "/etc/sysctl.d/99-sysctl.conf", Files: writeOp("/etc/sysctl.d/99-sysctl.conf", []byte("k = 1\n")), Runtime: scopePtr(2)})
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("err = %v, want ErrNotRegular", err)
		}
		if st == nil || st.Runtime != 1 {
			t.Errorf("state after refusal = %+v; the runtime step must not run after a failed file step", st)
		}
		if got := yamatest.ReadFile(t, h.Dir, "/etc/sysctl.conf"); got != "a = 1\n" {
			t.Errorf("link target modified: %q", got)
		}
	})
}

func TestApplyWithoutYama(t *testing.T) {
	yamatest.EachShell(t, "", nil, func(t *testing.T, h yamatest.LocalHost) {
		_, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(1)})
		if !errors.Is(err, ErrYamaAbsent) {
			t.Fatalf("err = %v, want ErrYamaAbsent", err)
		}
	})
}

func TestApplyRejectsBadInput(t *testing.T) {
	h := yamatest.LocalHost{Dir: t.TempDir(), Shell: "/bin/sh"}
	if _, err := Apply(context.Background(), h, Change{File: "/tmp/x.conf"}); !errors.Is(err, ErrBadFile) {
		t.Errorf("bad file: %v", err)
	}
	if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(9)}); !errors.Is(err, ptrace.ErrInvalid) {
		t.Errorf("bad scope: %v", err)
	}
}

func TestApplySeveralFilesInOrder(t *testing.T) {
	managed := []byte("kernel.yama.ptrace_scope = 2\n")
	extra := []byte("# wins at boot\nkernel.yama.ptrace_scope = 2\n\x00\xff 'q' $(x)\n")
	yamatest.EachShell(t, "1\n", map[string]string{"/etc/sysctl.d/50-old.conf": "a = 1\n"}, func(t *testing.T, h yamatest.LocalHost) {
		c := Change{File: DefaultFile, Runtime: scopePtr(2), Files: []FileOp{
			{Path: DefaultFile, Content: managed},
			{Path: "/etc/sysctl.d/zz-yama.conf", Content: extra},
			{Path: "/etc/sysctl.d/50-old.conf", Remove: true},
			{Path: "/etc/sysctl.d/60-empty.conf", Content: []byte{}},
		}}
		st, err := Apply(context.Background(), h, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, "/etc/sysctl.d/zz-yama.conf"); got != string(extra) {
			t.Errorf("extra file = %q", got)
		}
		if got := yamatest.ReadFile(t, h.Dir, "/etc/sysctl.d/60-empty.conf"); got != "" {
			t.Errorf("empty file = %q", got)
		}
		if st.Lookup("/etc/sysctl.d/50-old.conf").Exists() {
			t.Error("removed file still reported")
		}
	})
}

func TestApplyStopsAtFirstFailedFile(t *testing.T) {
	yamatest.EachShell(t, "1\n", map[string]string{"/etc/sysctl.conf": "a = 1\n"}, func(t *testing.T, h yamatest.LocalHost) {
		yamatest.Symlink(t, h.Dir, "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
		c := Change{File: DefaultFile, Runtime: scopePtr(2), Files: []FileOp{
			{Path: "/etc/sysctl.d/99-sysctl.conf", Content: []byte("x\n")},
			{Path: DefaultFile, Content: []byte("y\n")},
		}}
		st, err := Apply(context.Background(), h, c)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotRegular) || e.Path != "/etc/sysctl.d/99-sysctl.conf" {
			t.Fatalf("err = %v, want ErrNotRegular naming 99-sysctl.conf", err)
		}
		if st.Managed.Exists() || st.Runtime != 1 {
			t.Errorf("steps after the failure ran: managed %+v runtime %d", st.Managed, st.Runtime)
		}
	})
}

// The whole desired state may be sent: what the host already holds is not
// rewritten (same inode, so no rename happened).
func TestApplySkipsWhatIsAlreadyThere(t *testing.T) {
	content := "kernel.yama.ptrace_scope = 2\n"
	yamatest.EachShell(t, "2\n", map[string]string{DefaultFile: content}, func(t *testing.T, h yamatest.LocalHost) {
		before, err := os.Stat(filepath.Join(h.Dir, DefaultFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte(content)), Runtime: scopePtr(2)}); err != nil {
			t.Fatal(err)
		}
		after, err := os.Stat(filepath.Join(h.Dir, DefaultFile))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(before, after) {
			t.Error("an identical drop-in was rewritten")
		}
	})
}

// A live value locked at 3, or no Yama at all, is refused before any file
// is written, so an apply never leaves half a change behind.
func TestApplyPrecheckRefusesBeforeWriting(t *testing.T) {
	cases := []struct {
		name, scope string
		want        error
	}{
		{"locked at 3", "3\n", ErrLocked},
		{"no yama", "", ErrYamaAbsent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yamatest.EachShell(t, c.scope, nil, func(t *testing.T, h yamatest.LocalHost) {
				_, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("x\n")), Runtime: scopePtr(1)})
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if _, err := os.Stat(filepath.Join(h.Dir, DefaultFile)); !os.IsNotExist(err) {
					t.Errorf("drop-in written despite the refusal: %v", err)
				}
			})
		})
	}
}
