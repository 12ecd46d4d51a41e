package yama

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

func scopePtr(s ptrace.Scope) *ptrace.Scope { return &s }

func TestApplyWritesFileAndRuntime(t *testing.T) {
	content := []byte("# managed\nkernel.yama.ptrace_scope = 2\n")
	shellHosts(t, "1\n", nil, func(t *testing.T, h localHost) {
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Content: content, Runtime: scopePtr(2)})
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, h.root, DefaultFile); got != string(content) {
			t.Errorf("file = %q", got)
		}
		if got := readFile(t, h.root, ProcPath); got != "2\n" {
			t.Errorf("runtime file = %q", got)
		}
		if st.Runtime != 2 || string(st.Managed.Content) != string(content) {
			t.Errorf("read-back state = %v %q", st.Runtime, st.Managed.Content)
		}
		fi, err := os.Stat(filepath.Join(h.root, DefaultFile))
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode = %v, %v; want 0644", fi.Mode(), err)
		}
		leftovers, _ := filepath.Glob(filepath.Join(h.root, "etc/sysctl.d/.*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})
}

func TestApplyOnlyTouchesWhatItIsAsked(t *testing.T) {
	old := "kernel.yama.ptrace_scope = 1\n"
	shellHosts(t, "1\n", map[string]string{DefaultFile: old}, func(t *testing.T, h localHost) {
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(0)}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, h.root, DefaultFile); got != old {
			t.Errorf("runtime-only change rewrote the file: %q", got)
		}
		if got := readFile(t, h.root, ProcPath); got != "0\n" {
			t.Errorf("runtime = %q", got)
		}
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Content: []byte("x = 1\n")}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, h.root, ProcPath); got != "0\n" {
			t.Errorf("file-only change touched the runtime: %q", got)
		}
	})
}

func TestApplyRemove(t *testing.T) {
	shellHosts(t, "1", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 1\n"}, func(t *testing.T, h localHost) {
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Managed.Exists() {
			t.Error("state still shows the drop-in")
		}
		if _, err := os.Stat(filepath.Join(h.root, DefaultFile)); !os.IsNotExist(err) {
			t.Errorf("file still there: %v", err)
		}
		// Removing what is not there is not an error: destroy must converge.
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Remove: true}); err != nil {
			t.Errorf("second remove: %v", err)
		}
	})
}

func TestApplyCreatesMissingDirectory(t *testing.T) {
	shellHosts(t, "1", nil, func(t *testing.T, h localHost) {
		f := "/run/sysctl.d/60-yama.conf"
		if _, err := Apply(context.Background(), h, Change{File: f, Content: []byte("k = 1\n")}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, h.root, f); got != "k = 1\n" {
			t.Errorf("file = %q", got)
		}
	})
}

func TestApplyRefusesSymlinkedDropIn(t *testing.T) {
	shellHosts(t, "1", map[string]string{"/etc/sysctl.conf": "a = 1\n"}, func(t *testing.T, h localHost) {
		mustSymlink(t, "../sysctl.conf", filepath.Join(h.root, "etc/sysctl.d/99-sysctl.conf"))
		st, err := Apply(context.Background(), h, Change{File: "/etc/sysctl.d/99-sysctl.conf", Content: []byte("k = 1\n"), Runtime: scopePtr(2)})
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("err = %v, want ErrNotRegular", err)
		}
		if st == nil || st.Runtime != 1 {
			t.Errorf("state after refusal = %+v; the runtime step must not run after a failed file step", st)
		}
		if got := readFile(t, h.root, "/etc/sysctl.conf"); got != "a = 1\n" {
			t.Errorf("link target modified: %q", got)
		}
	})
}

func TestApplyWithoutYama(t *testing.T) {
	shellHosts(t, "", nil, func(t *testing.T, h localHost) {
		_, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(1)})
		if !errors.Is(err, ErrYamaAbsent) {
			t.Fatalf("err = %v, want ErrYamaAbsent", err)
		}
	})
}

func TestApplyRejectsBadInput(t *testing.T) {
	h := localHost{root: t.TempDir(), shell: "/bin/sh"}
	if _, err := Apply(context.Background(), h, Change{File: "/tmp/x.conf"}); !errors.Is(err, ErrBadFile) {
		t.Errorf("bad file: %v", err)
	}
	if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(9)}); !errors.Is(err, ptrace.ErrInvalid) {
		t.Errorf("bad scope: %v", err)
	}
}
