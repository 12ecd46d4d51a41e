// Package yamatest runs package yama's real scripts on this machine, with a
// local shell, against a directory that stands in for a host's root. It
// proves the scripts' logic quickly and without SSH; the acceptance tests
// prove them again over SSH on sandbox hosts.
//
// It does not import package yama (whose own tests use it): LocalHost
// satisfies yama.Host, and its Root method is what yama uses to prefix every
// path the scripts touch.
package yamatest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ProcPath is the Yama file, relative to a root. It equals yama.ProcPath
// (package yama's tests check).
const ProcPath = "/proc/sys/kernel/yama/ptrace_scope"

// LocalHost is a yama.Host whose filesystem is the directory Dir.
type LocalHost struct {
	// Dir stands in for the host's /; the scripts receive it as the path
	// prefix R.
	Dir string
	// Shell is the command that runs a script given as "-c SCRIPT", split
	// on spaces: a shell's path ("/bin/dash") or a multi-call binary with
	// its applet ("/usr/bin/busybox sh").
	Shell string
	// Env is added to this process's environment for every script, e.g.
	// a PATH whose first directory holds a failing stand-in for a tool.
	Env []string
}

// Name implements yama.Host.
func (h LocalHost) Name() string { return "local:" + h.Shell }

// Root returns Dir; package yama prefixes every path the scripts touch
// with it.
func (h LocalHost) Root() string { return h.Dir }

// Run implements yama.Host: it runs script with Shell -c, feeding it stdin.
// privileged is ignored (the test process's own rights apply).
func (h LocalHost) Run(ctx context.Context, script string, stdin []byte, _ bool) ([]byte, []byte, error) {
	argv := append(strings.Fields(h.Shell), "-c", script)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	if len(h.Env) > 0 {
		cmd.Env = append(os.Environ(), h.Env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// Shells returns every POSIX shell on this machine worth proving the
// scripts against, as LocalHost.Shell values: dash is Debian's /bin/sh,
// bash is many users' login shell, busybox sh is the shell of small and
// embedded systems. scripts/deps.sh installs busybox; when it is missing,
// Shells fails the test under TF_ACC or CI (make test, CI) and otherwise
// leaves busybox out with a log line.
func Shells(t testing.TB) []string {
	t.Helper()
	var found []string
	for _, s := range []string{"/bin/sh", "/bin/dash", "/bin/bash"} {
		if _, err := os.Stat(s); err == nil {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		t.Fatal("no POSIX shell found")
	}
	switch bb, err := exec.LookPath("busybox"); {
	case err == nil:
		found = append(found, bb+" sh")
	case os.Getenv("TF_ACC") != "" || os.Getenv("CI") != "":
		t.Fatalf("busybox not found (%v): scripts/deps.sh installs it (Debian package busybox)", err)
	default:
		t.Logf("busybox not found, not proving the scripts under busybox sh (TF_ACC or CI makes this a failure): %v", err)
	}
	return found
}

// EachShell runs fn in a subtest per shell of Shells, each against a fresh
// root laid out by NewRoot(t, scope, files).
func EachShell(t *testing.T, scope string, files map[string]string, fn func(t *testing.T, h LocalHost)) {
	t.Helper()
	for _, sh := range Shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			fn(t, LocalHost{Dir: NewRoot(t, scope, files), Shell: sh})
		})
	}
}

// NewRoot lays out a fake host root in a fresh temporary directory: the
// Yama file holding scope (none when scope is empty: a kernel without
// Yama) and the given files, keyed by absolute path.
func NewRoot(t testing.TB, scope string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if scope != "" {
		WriteScope(t, root, scope)
	}
	for p, c := range files {
		WriteFile(t, root, p, c)
	}
	return root
}

// WriteScope writes scope, as is (add "\n" for the kernel's format), to the
// Yama file under root.
func WriteScope(t testing.TB, root, scope string) {
	t.Helper()
	WriteFile(t, root, ProcPath, scope)
}

// WriteFile writes content to the absolute path p under root (mode 0644),
// creating missing directories (mode 0755).
func WriteFile(t testing.TB, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Symlink makes the absolute path p under root a symbolic link to target,
// stored as given (a relative target resolves inside root; an absolute one
// such as /dev/null points at this machine's file, which is what a host's
// /dev/null mask means), creating missing directories.
func Symlink(t testing.TB, root, p, target string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

// ReadFile returns the content of the absolute path p under root.
func ReadFile(t testing.TB, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
