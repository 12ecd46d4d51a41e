package yama

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
)

// stateFromFuzz decodes fuzz bytes into a State as a host could report it.
// Records are separated by 0x1f, fields by 0x1e: kind, path, link target,
// content. The kind byte: r readable file, u unreadable file, L too large,
// l symlink (readable target), d dir, o other, anything else missing.
func stateFromFuzz(systemd bool, data []byte) *State {
	st := &State{Available: true, Runtime: 1, Systemd: systemd, Managed: File{Path: DefaultFile, Kind: KindMissing}}
	for _, rec := range bytes.Split(data, []byte{0x1f}) {
		f := bytes.SplitN(rec, []byte{0x1e}, 4)
		for len(f) < 4 {
			f = append(f, nil)
		}
		file := File{Path: string(f[1]), Target: string(f[2])}
		kind := byte('m')
		if len(f[0]) > 0 {
			kind = f[0][0]
		}
		switch kind {
		case 'r', 'u', 'L':
			file.Kind = KindRegular
			file.Readable = kind != 'u'
			file.TooLarge = kind == 'L'
			if kind == 'r' {
				file.Content = f[3]
			}
		case 'l':
			file.Kind, file.Readable, file.Content = KindSymlink, true, f[3]
		case 'd':
			file.Kind = KindDir
		case 'o':
			file.Kind = KindOther
		default:
			file.Kind = KindMissing
		}
		st.Config = append(st.Config, file)
	}
	return st
}

// FuzzBootView: whatever sysctl configuration a host reports, building the
// boot view, predicting the boot value and planning an override never
// panic; errors are the documented ones; a prediction is a valid scope; an
// override file is one the apply script would accept; and the view
// survives the JSON round trip through Terraform's private state unchanged
// in what it predicts.
func FuzzBootView(f *testing.F) {
	sep := func(fields ...string) string { return strings.Join(fields, "\x1e") }
	recs := func(r ...string) []byte { return []byte(strings.Join(r, "\x1f")) }
	f.Add(false, byte(2), recs(
		sep("d", "/etc/sysctl.d"),
		sep("r", "/etc/sysctl.d/10-ptrace.conf", "", "kernel.yama.ptrace_scope = 1\n"),
		sep("l", "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf", "kernel.yama.ptrace_scope = 0\n"),
		sep("r", "/etc/sysctl.conf", "", "kernel.yama.ptrace_scope = 0\n")))
	f.Add(true, byte(1), recs(
		sep("d", "/etc/sysctl.d"), sep("d", "/usr/lib/sysctl.d"),
		sep("r", "/usr/lib/sysctl.d/10-default-yama-scope.conf", "", "kernel.yama.ptrace_scope = 0\n"),
		sep("l", "/etc/sysctl.d/10-default-yama-scope.conf", "/dev/null", ""),
		sep("r", "/etc/sysctl.d/zz.conf", "", "kernel/yama/ptrace_scope=3\n-kernel.yama.*=2\n")))
	f.Add(false, byte(3), recs(
		sep("l", "/lib", "usr/lib", ""), sep("d", "/usr/lib/sysctl.d"),
		sep("r", "/lib/sysctl.d/x.conf", "", "kernel.yama.ptrace_scope = 3\n"),
		sep("u", "/run/sysctl.d/secret.conf"), sep("L", "/etc/sysctl.d/huge.conf")))
	f.Fuzz(func(t *testing.T, systemd bool, want byte, data []byte) {
		st := stateFromFuzz(systemd, data)
		view, err := st.BootView()
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBootUnknown) {
				t.Fatalf("BootView error not documented: %v", err)
			}
			return
		}
		raw, err := json.Marshal(view)
		if err != nil {
			t.Fatalf("marshal view: %v", err)
		}
		var back BootView
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("unmarshal view: %v", err)
		}
		value := ptrace.Scope(want % 4)
		content := sysctld.Render(Key, value.String(), "fuzz")
		for _, mode := range []sysctld.Mode{sysctld.ModeSystemd, sysctld.ModeProcps} {
			overlay := map[string][]byte{DefaultFile: content}
			b, err := view.Predict(mode, overlay, DefaultFile)
			if err != nil {
				if !errors.Is(err, ErrBootUnknown) {
					t.Fatalf("Predict error not wrapped as ErrBootUnknown: %v", err)
				}
				continue
			}
			if b.Set && !b.Scope.Valid() {
				t.Fatalf("predicted invalid scope %d", b.Scope)
			}
			if b.Set && !strings.Contains(b.Source, ":") {
				t.Fatalf("source %q is not path:line", b.Source)
			}
			again, err := back.Predict(mode, overlay, DefaultFile)
			if err != nil || again.Set != b.Set || again.Scope != b.Scope || again.Source != b.Source || len(again.ShadowedBy) != len(b.ShadowedBy) {
				t.Fatalf("prediction changed after the private-state round trip: %+v / %v, was %+v", again, err, b)
			}
			p, c, err := view.Override(b, DefaultFile, content, value, nil)
			if err != nil {
				if !errors.Is(err, ErrCannotOverride) && !errors.Is(err, ErrBootUnknown) {
					t.Fatalf("Override error not documented: %v", err)
				}
				continue
			}
			if p == "" {
				if len(b.ShadowedBy) != 0 {
					t.Fatalf("no override planned although shadowed by %v", b.ShadowedBy)
				}
				continue
			}
			if err := ValidateFile(p); err != nil || !strings.HasPrefix(p, OverrideDir+"/") {
				t.Fatalf("override path %q would be refused by apply: %v", p, err)
			}
			if !utf8.Valid(c) || !bytes.HasSuffix(c, []byte("\n")) {
				t.Fatalf("override content %q", c)
			}
		}
	})
}

// fuzzHost answers Apply with arbitrary output, stderr and exit.
type fuzzHost struct {
	stdout, stderr []byte
	fail           bool
	frame          bool // wrap stdout in the caller's boundary
}

func (h fuzzHost) Name() string { return "web1:22" }

func (h fuzzHost) Run(_ context.Context, _ string, stdin []byte, _ bool) ([]byte, []byte, error) {
	out := h.stdout
	if h.frame {
		b, _, _ := strings.Cut(string(stdin), "\n")
		out = bytes.ReplaceAll(out, []byte("\x1eB\x1e"), []byte(b))
	}
	var err error
	if h.fail {
		err = errors.New("exit status 1")
	}
	return out, h.stderr, err
}

// FuzzApplyOutcome feeds Apply (and through it the read-back of a lost
// answer) arbitrary host output, stderr and exit status: it never panics,
// every failure is an *Error naming the host with a bounded detail that
// trimming never turns into invalid UTF-8, and a success is only reported
// when the host holds what was asked.
func FuzzApplyOutcome(f *testing.F) {
	B := "\x1eB\x1e"
	good := B + "runtime" + B + "reg" + B + ProcPath + B + B + "2\n" + B + "ok" +
		B + "managed" + B + "reg" + B + DefaultFile + B + B + "kernel.yama.ptrace_scope = 2\n" + B + "ok" + B + "end"
	f.Add([]byte(good), []byte(""), false, true)
	f.Add([]byte(good), []byte("yama-step runtime /proc/sys/kernel/yama/ptrace_scope\ntee: /proc/sys/kernel/yama/ptrace_scope: Read-only file system\n"), true, true)
	f.Add([]byte(""), []byte("yama-step file /etc/sysctl.d/10-ptrace.conf\nbase64: write error: No space left on device\n"), true, false)
	f.Add([]byte(good), []byte("yama-step file /etc/sysctl.d/10-ptrace.conf\nmktemp: Keine Berechtigung \xe4\xf6\xfc\n"+strings.Repeat("é", 300)), true, true)
	f.Add([]byte(""), []byte("yama-step runtime /proc/sys/kernel/yama/ptrace_scope\nx"+strings.Repeat("é", 300)), true, false)
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, fail, frame bool) {
		h := fuzzHost{stdout: stdout, stderr: stderr, fail: fail, frame: frame}
		want := []byte("kernel.yama.ptrace_scope = 2\n")
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: []FileOp{{Path: DefaultFile, Content: want}}, Runtime: scopePtr(2)})
		if err == nil {
			if st == nil || st.Runtime != 2 || !bytes.Equal(st.Managed.Content, want) {
				t.Fatalf("success reported, but the host holds %+v", st)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Host != "web1:22" {
			t.Fatalf("error %#v does not name the host", err)
		}
		// Host text passes through as it is, but trimming it must never
		// break a valid message into invalid UTF-8.
		if utf8.Valid(stderr) && !utf8.ValidString(e.Detail) {
			t.Fatalf("valid stderr became invalid UTF-8 in the detail: %q", e.Detail)
		}
		if len(e.Detail) > 600 {
			t.Fatalf("detail is %d bytes long", len(e.Detail))
		}
	})
}
