package yamatest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestEachShellRunsWithRoot: every shell gets the script with -c and the
// stdin, and the root's layout is what NewRoot and Symlink made.
func TestEachShellRunsWithRoot(t *testing.T) {
	const script = `IFS= read -r R; IFS= read -r x; cat -- "$R/proc/sys/kernel/yama/ptrace_scope"; printf "%s:" "$x"; readlink -- "$R/etc/sysctl.d/99-sysctl.conf"`
	var ran []string
	EachShell(t, "2\n", map[string]string{"/etc/sysctl.conf": "a = 1\n"}, func(t *testing.T, h LocalHost) {
		ran = append(ran, h.Shell)
		Symlink(t, h.Root(), "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
		out, stderr, err := h.Run(context.Background(), script, []byte(h.Root()+"\nhello\n"), false)
		if err != nil || string(out) != "2\nhello:../sysctl.conf\n" {
			t.Fatalf("%s: out %q, stderr %q, err %v", h.Name(), out, stderr, err)
		}
		if got := ReadFile(t, h.Dir, "/etc/sysctl.d/99-sysctl.conf"); got != "a = 1\n" {
			t.Errorf("through the link: %q", got)
		}
	})
	if len(ran) == 0 {
		t.Fatal("no shell ran")
	}
	if os.Getenv("TF_ACC") != "" || os.Getenv("CI") != "" {
		if !slices.ContainsFunc(ran, func(s string) bool { return strings.HasSuffix(s, "busybox sh") }) {
			t.Errorf("shells %q: busybox sh missing under TF_ACC/CI", ran)
		}
	}
}

func TestNewRootWithoutYama(t *testing.T) {
	root := NewRoot(t, "", nil)
	if _, err := os.Lstat(filepath.Join(root, ProcPath)); !os.IsNotExist(err) {
		t.Errorf("Yama file present with an empty scope: %v", err)
	}
	WriteScope(t, root, "3")
	if got := ReadFile(t, root, ProcPath); got != "3" {
		t.Errorf("WriteScope wrote %q", got)
	}
}
