package sysctld

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestMemFSConformance(t *testing.T) {
	m, err := NewMemFS(
		Entry{Path: "/etc/sysctl.conf", Data: []byte("a = 1\n")},
		Entry{Path: "/etc/sysctl.d/99-sysctl.conf", Kind: KindSymlink, Target: "../sysctl.conf"},
		Entry{Path: "/etc/sysctl.d/10-x.conf", Data: []byte(set("1"))},
		Entry{Path: "usr/lib/sysctl.d/50-pid-max.conf", Data: []byte("kernel.pid_max = 4194304\n")},
		Entry{Path: "/lib", Kind: KindSymlink, Target: "usr/lib"},
		Entry{Path: "/run/sysctl.d", Kind: KindDir},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(m, "etc/sysctl.conf", "etc/sysctl.d/99-sysctl.conf", "usr/lib/sysctl.d/50-pid-max.conf", "lib", "run/sysctl.d"); err != nil {
		t.Fatal(err)
	}
}

func TestMemFSLinks(t *testing.T) {
	m := tree{
		"/etc/sysctl.conf":         "x = 1\n",
		"/etc/sysctl.d/99.conf":    "-> ../sysctl.conf",
		"/etc/sysctl.d/null.conf":  "-> /dev/null",
		"/etc/sysctl.d/up.conf":    "-> ../../../../../etc/sysctl.conf", // ".." stops at the root
		"/lib":                     "-> usr/lib",
		"/usr/lib/sysctl.d/a.conf": "y = 2\n",
		"/loop/a":                  "-> b",
		"/loop/b":                  "-> a",
	}.memFS(t)

	if b, err := m.ReadFile("etc/sysctl.d/99.conf"); err != nil || string(b) != "x = 1\n" {
		t.Errorf("ReadFile through link = %q, %v", b, err)
	}
	if b, err := m.ReadFile("etc/sysctl.d/up.conf"); err != nil || string(b) != "x = 1\n" {
		t.Errorf("ReadFile through ../ link = %q, %v", b, err)
	}
	if b, err := m.ReadFile("lib/sysctl.d/a.conf"); err != nil || string(b) != "y = 2\n" {
		t.Errorf("ReadFile through directory link = %q, %v", b, err)
	}
	if fi, err := m.Lstat("lib"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(lib) = %v, %v", fi, err)
	}
	if fi, err := m.Stat("lib"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(lib) = %v, %v", fi, err)
	}
	if tgt, err := m.ReadLink("etc/sysctl.d/null.conf"); err != nil || tgt != "/dev/null" {
		t.Errorf("ReadLink = %q, %v", tgt, err)
	}
	if _, err := m.ReadLink("etc/sysctl.conf"); err == nil {
		t.Error("ReadLink of a regular file succeeded")
	}
	if _, err := m.Open("etc/sysctl.d/null.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(link to absent /dev/null) = %v, want not exist", err)
	}
	if _, err := m.Open("loop/a"); !errors.Is(err, ErrLinkLoop) {
		t.Errorf("Open(loop) = %v, want ErrLinkLoop", err)
	}
	if _, err := m.Open("etc/sysctl.conf/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open through a file = %v, want not exist", err)
	}
	ents, err := m.ReadDir("lib/sysctl.d")
	if err != nil || len(ents) != 1 || ents[0].Name() != "a.conf" {
		t.Errorf("ReadDir(lib/sysctl.d) = %v, %v", ents, err)
	}
}

func TestMemFSAdd(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		ok      bool
	}{
		{"leading slash optional", []Entry{{Path: "/a/b"}, {Path: "a/c"}}, true},
		{"directories may repeat", []Entry{{Path: "/a", Kind: KindDir}, {Path: "/a/b"}, {Path: "/a", Kind: KindDir}}, true},
		{"duplicate file", []Entry{{Path: "/a"}, {Path: "/a"}}, false},
		{"file over implicit dir", []Entry{{Path: "/a/b"}, {Path: "/a"}}, false},
		{"parent is a file", []Entry{{Path: "/a"}, {Path: "/a/b"}}, false},
		{"parent is a symlink: add under the real path", []Entry{{Path: "/lib", Kind: KindSymlink, Target: "usr/lib"}, {Path: "/lib/x"}}, false},
		{"empty path", []Entry{{Path: ""}}, false},
		{"root", []Entry{{Path: "/"}}, false},
		{"dot-dot", []Entry{{Path: "/a/../b"}}, false},
		{"unclean", []Entry{{Path: "/a//b"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMemFS(tt.entries...)
			if (err == nil) != tt.ok {
				t.Errorf("NewMemFS err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"f": KindRegular, "d": KindDir, "l": KindSymlink, "c": KindDevice,
		"b": KindDevice, "p": KindOther, "s": KindOther, "symlink": KindSymlink, "regular": KindRegular} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, k := range []Kind{KindRegular, KindDir, KindSymlink, KindDevice, KindOther} {
		if got, err := ParseKind(k.String()); err != nil || got != k {
			t.Errorf("ParseKind(%v.String()) = %v, %v", k, got, err)
		}
	}
	if _, err := ParseKind("x"); err == nil {
		t.Error(`ParseKind("x") succeeded`)
	}
}
