package sysctld

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// loadLayout builds a MemFS from testdata/layouts/NAME: root/ mirrors the
// host's "/", links.txt lists symlinks as "path -> target" (kept out of git's
// symlink support on purpose, so the tree is plain files everywhere).
func loadLayout(t testing.TB, dir string) *MemFS {
	t.Helper()
	return layoutTree(t, dir).memFS(t)
}

func layoutTree(t testing.TB, dir string) tree {
	t.Helper()
	tr := tree{}
	root := filepath.Join(dir, "root")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := "/" + filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if d.IsDir() {
			return nil // MemFS creates parents; git keeps no empty directories
		}
		data, err := os.ReadFile(p)
		tr[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	links, err := os.ReadFile(filepath.Join(dir, "links.txt"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range manifestLines(links) {
		from, to, ok := strings.Cut(l.text, " -> ")
		if !ok {
			t.Fatalf("%s/links.txt:%d: want \"path -> target\", got %q", dir, l.n, l.text)
		}
		tr[strings.TrimSpace(from)] = "-> " + strings.TrimSpace(to)
	}
	return tr
}

// manifestLines returns the non-blank, non-# lines, in order, with their
// line numbers.
func manifestLines(data []byte) []numberedLine {
	var out []numberedLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, numberedLine{n, l})
		}
	}
	return out
}

type numberedLine struct {
	n    int
	text string
}

// summary renders a Result in expect.txt's words, for comparison.
func summary(r Result) string {
	f := []string{r.Mode.String(), "-", "-"}
	if r.Set {
		f[1], f[2] = r.Value, at(r.Source)
		if r.Source.Via != "" {
			f = append(f, "via:"+r.Source.Via)
		}
	}
	for _, m := range r.Masked {
		f = append(f, "masked:"+m.Path)
	}
	for _, s := range r.Failed {
		f = append(f, "failed:"+at(s.Assignment))
	}
	if len(r.Errors) > 0 {
		f = append(f, fmt.Sprintf("errors:%d", len(r.Errors)))
	}
	return strings.Join(f, " ")
}

func TestLayouts(t *testing.T) {
	dirs, err := filepath.Glob("testdata/layouts/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no layouts: %v", err)
	}
	want := []string{"debian", "fedora", "hardening", "lock-early", "mask-devnull", "mask-same-name", "ubuntu"}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(d))
	}
	if !slices.Equal(names, want) {
		t.Errorf("layouts = %v, want %v", names, want)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m := loadLayout(t, dir)
			exp, err := os.ReadFile(filepath.Join(dir, "expect.txt"))
			if err != nil {
				t.Fatal(err)
			}
			lines := manifestLines(exp)
			if len(lines) == 0 {
				t.Fatal("expect.txt has no expectations")
			}
			for _, line := range lines {
				fields := strings.Fields(line.text)
				mode, err := ParseMode(fields[0])
				if err != nil {
					t.Fatal(err)
				}
				o := Options{Mode: mode, LockValue: "3", Check: ptraceCheck}
				r, err := o.Resolve(m, ptrace)
				if err != nil {
					t.Fatal(err)
				}
				if got := summary(r); got != strings.Join(fields, " ") {
					t.Errorf("\n got: %s\nwant: %s\n%s", got, strings.Join(fields, " "), dump(r))
				}
			}
		})
	}
}
