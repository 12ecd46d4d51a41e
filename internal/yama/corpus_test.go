package yama

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

// TestWriteFuzzCorpus regenerates the committed seed corpora under
// testdata/fuzz from real runs of the scripts (local dash against fake
// host roots), so the fuzzers start from what hosts really print:
//
//	YAMA_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus ./internal/yama
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("YAMA_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set YAMA_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	layouts := map[string]struct {
		scope string
		files map[string]string
		links map[string]string
	}{
		"ubuntu": {"1", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 1\n", "/etc/sysctl.conf": "#kernel.yama.ptrace_scope = 0\n"},
			map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}},
		"debian-conf-sets-0": {"0", map[string]string{"/etc/sysctl.conf": "# local\nkernel.yama.ptrace_scope = 0\n", "/usr/lib/sysctl.d/50-pid-max.conf": "kernel.pid_max = 4194304\n"},
			map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}},
		"fedora-masked": {"0", map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n"},
			map[string]string{"/etc/sysctl.d/10-default-yama-scope.conf": "/dev/null"}},
		"locked-early": {"3", map[string]string{"/run/sysctl.d/05-lock.conf": "kernel/yama/ptrace_scope=3\n", DefaultFile: "# managed\r\nkernel.yama.ptrace_scope = 2\r\n",
			"/etc/sysctl.d/zz-glob.conf": "-kernel.yama.* = 1\n-kernel.yama.ptrace_scope\n"}, nil},
		"dangling-and-loop": {"2", map[string]string{"/usr/local/lib/sysctl.d/x.conf": "kernel.yama.ptrace_scope=2"},
			map[string]string{"/etc/sysctl.d/a.conf": "missing.conf", "/etc/sysctl.d/b.conf": "b.conf", "/run/sysctl.d/c.conf": "/etc/sysctl.d/a.conf"}},
		"oversized":      {"1", map[string]string{"/etc/sysctl.d/big.conf": strings.Repeat("# padding\n", MaxFileSize/10+10) + "kernel.yama.ptrace_scope = 0\n"}, nil},
		"binary-content": {"1", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 1\x00\xff\xfe\x1e\n"}, nil},
		"no-yama":        {"", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 2\n"}, nil},
	}
	var outputs = map[string][]byte{}
	for name, l := range layouts {
		root := yamatest.NewRoot(t, l.scope, l.files)
		if l.scope != "" {
			yamatest.WriteFile(t, root, ProcPath, l.scope+"\n")
		}
		for p, target := range l.links {
			yamatest.Symlink(t, root, p, target)
		}
		h := yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}
		out, stderr, err := h.Run(context.Background(), readScript, readInput(testBoundary, root, DefaultFile), false)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		// The sandbox prefix must not leak into the corpus.
		out = []byte(strings.ReplaceAll(string(out), root, ""))
		outputs[name] = out
		writeCorpus(t, "FuzzParseOutput", name, fmt.Sprintf("[]byte(%q)", out))
		if st, err := parseOutput(out, testBoundary); err == nil {
			writeCorpus(t, "FuzzBootView", name, "bool(false)", "byte('\\x02')", fmt.Sprintf("[]byte(%q)", encodeFuzzState(st)))
			writeCorpus(t, "FuzzBootView", name+"-systemd", "bool(true)", "byte('\\x01')", fmt.Sprintf("[]byte(%q)", encodeFuzzState(st)))
		}

		// A real apply on the same layout, and one that fails half-way
		// (the live value made read-only after the file is written is not
		// possible locally; a read-only sysctl.d directory is).
		const marker = "\x1eB\x1e"
		c := Change{File: DefaultFile, Files: []FileOp{{Path: DefaultFile, Content: sysctld.Render(Key, "2", "fuzz seed")}}}
		if l.scope != "" {
			two := ptrace.Scope(2)
			c.Runtime = &two
		}
		out, stderr, err = h.Run(context.Background(), applyScript, applyInput(marker, root, c), true)
		out = []byte(strings.ReplaceAll(string(out), root, ""))
		writeCorpus(t, "FuzzApplyOutcome", name, fmt.Sprintf("[]byte(%q)", out), fmt.Sprintf("[]byte(%q)", stderr), fmt.Sprintf("bool(%t)", err != nil), "bool(true)")
	}
	// A failing apply: a directory where the drop-in should be.
	for name, prep := range map[string]func(root string){
		"not-regular": func(root string) { _ = os.MkdirAll(filepath.Join(root, DefaultFile), 0o755) },
	} {
		root := yamatest.NewRoot(t, "1", map[string]string{"/etc/sysctl.d/.keep": ""})
		prep(root)
		h := yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}
		two := ptrace.Scope(2)
		c := Change{File: DefaultFile, Files: []FileOp{{Path: DefaultFile, Content: []byte("kernel.yama.ptrace_scope = 2\n")}}, Runtime: &two}
		out, stderr, err := h.Run(context.Background(), applyScript, applyInput("\x1eB\x1e", root, c), true)
		out = []byte(strings.ReplaceAll(string(out), root, ""))
		stderr = []byte(strings.ReplaceAll(string(stderr), root, ""))
		writeCorpus(t, "FuzzApplyOutcome", "fail-"+name, fmt.Sprintf("[]byte(%q)", out), fmt.Sprintf("[]byte(%q)", stderr), fmt.Sprintf("bool(%t)", err != nil), "bool(true)")
	}
	// Cut short: the first half of a real output.
	out := outputs["ubuntu"]
	writeCorpus(t, "FuzzParseOutput", "ubuntu-cut", fmt.Sprintf("[]byte(%q)", out[:len(out)/2]))
}

// encodeFuzzState writes st.Config in stateFromFuzz's format.
func encodeFuzzState(st *State) []byte {
	var recs []string
	for _, f := range st.Config {
		kind := "m"
		switch {
		case f.Kind == KindRegular && f.TooLarge:
			kind = "L"
		case f.Kind == KindRegular && f.Readable:
			kind = "r"
		case f.Kind == KindRegular:
			kind = "u"
		case f.Kind == KindSymlink:
			kind = "l"
		case f.Kind == KindDir:
			kind = "d"
		case f.Kind == KindOther:
			kind = "o"
		}
		recs = append(recs, strings.Join([]string{kind, f.Path, f.Target, string(f.Content)}, "\x1e"))
	}
	return []byte(strings.Join(recs, "\x1f"))
}

func writeCorpus(t *testing.T, target, name string, values ...string) {
	t.Helper()
	body := "go test fuzz v1\n" + strings.Join(values, "\n") + "\n"
	sum := sha256.Sum256([]byte(body))
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:4]))
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
