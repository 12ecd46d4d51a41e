package yama

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// localHost runs the real scripts with a local shell against a directory
// that stands in for a host's root. It proves the scripts' logic quickly;
// the acceptance tests prove them again over SSH on sandbox hosts.
type localHost struct {
	root  string
	shell string
}

func (h localHost) Name() string { return "local:" + h.shell }
func (h localHost) Root() string { return h.root }

func (h localHost) Run(ctx context.Context, script string, stdin []byte, _ bool) ([]byte, []byte, error) {
	cmd := exec.CommandContext(ctx, h.shell, "-c", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// shells returns every POSIX shell on this machine worth proving the
// scripts against: dash is Debian's /bin/sh, bash is many users' login shell.
func shells(t *testing.T) []string {
	var found []string
	for _, s := range []string{"/bin/sh", "/bin/dash", "/bin/bash"} {
		if _, err := os.Stat(s); err == nil {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		t.Fatal("no POSIX shell found")
	}
	return found
}

// newRoot lays out a fake host root: a Yama file holding scope and the
// given files (relative to /).
func newRoot(t *testing.T, scope string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if scope != "" {
		writeFile(t, root, ProcPath, scope)
	}
	for p, c := range files {
		writeFile(t, root, p, c)
	}
	return root
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// shellHosts runs fn once per available shell, each against a fresh root.
func shellHosts(t *testing.T, scope string, files map[string]string, fn func(t *testing.T, h localHost)) {
	for _, sh := range shells(t) {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			fn(t, localHost{root: newRoot(t, scope, files), shell: sh})
		})
	}
}
