package sysctld

import (
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	ptracescope "github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// tree describes a host: path -> content, "-> target" for a symlink,
// "<dir>" for an empty directory, "<dev>" for a device node.
type tree map[string]string

func (tr tree) entries() []Entry {
	var es []Entry
	for p, c := range tr {
		switch {
		case strings.HasPrefix(c, "-> "):
			es = append(es, Entry{Path: p, Kind: KindSymlink, Target: c[3:]})
		case c == "<dir>":
			es = append(es, Entry{Path: p, Kind: KindDir})
		case c == "<dev>":
			es = append(es, Entry{Path: p, Kind: KindDevice})
		default:
			es = append(es, Entry{Path: p, Kind: KindRegular, Data: []byte(c)})
		}
	}
	return es
}

func (tr tree) memFS(t testing.TB) *MemFS {
	t.Helper()
	m, err := NewMemFS(tr.entries()...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mapFS builds the same host as an fstest.MapFS, which implements
// fs.ReadLinkFS: Resolve must not depend on MemFS.
func (tr tree) mapFS() fstest.MapFS {
	m := fstest.MapFS{}
	for _, e := range tr.entries() {
		name := strings.TrimPrefix(e.Path, "/")
		switch e.Kind {
		case KindSymlink:
			m[name] = &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(e.Target)}
		case KindDir:
			m[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		case KindDevice:
			m[name] = &fstest.MapFile{Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}
		default:
			m[name] = &fstest.MapFile{Data: e.Data, Mode: 0o644}
		}
	}
	return m
}

// ptraceCheck is what the provider passes (package yama's checkScope): the
// kernel's own parse of a ptrace_scope write, canonical on success.
func ptraceCheck(v string) (string, error) {
	s, err := ptracescope.KernelParse(v)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

// resolveBoth resolves over a MemFS and over an fstest.MapFS of the same
// tree and insists on identical answers.
func resolveBoth(t *testing.T, tr tree, key string, o Options) Result {
	t.Helper()
	got, err := o.Resolve(tr.memFS(t), key)
	if err != nil {
		t.Fatalf("Resolve(MemFS): %v", err)
	}
	viaMap, err := o.Resolve(tr.mapFS(), key)
	if err != nil {
		t.Fatalf("Resolve(MapFS): %v", err)
	}
	if !sameResult(got, viaMap) {
		t.Errorf("MemFS and MapFS disagree:\nMemFS %s\nMapFS %s", dump(got), dump(viaMap))
	}
	return got
}

// sameResult compares Results, errors by text.
func sameResult(a, b Result) bool {
	ea, eb := a.Errors, b.Errors
	a.Errors, b.Errors = nil, nil
	if !reflect.DeepEqual(a, b) || len(ea) != len(eb) {
		return false
	}
	for i := range ea {
		if ea[i].Error() != eb[i].Error() {
			return false
		}
	}
	return true
}

func at(a Assignment) string { return fmt.Sprintf("%s:%d", a.File, a.Line) }

func dump(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s key=%s set=%v value=%q source=%s\n", r.Mode, r.Key, r.Set, r.Value, at(r.Source))
	for _, s := range r.Applied {
		fmt.Fprintf(&b, "  step %s via=%q %s=%q -> %s (now %q) %s\n", at(s.Assignment), s.Via, s.Key, s.Value, s.Outcome, s.Effective, s.Reason)
	}
	for _, m := range r.Masked {
		fmt.Fprintf(&b, "  masked %s by=%q target=%q: %s\n", m.Path, m.By, m.Target, m.Reason)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  error %v\n", e)
	}
	return b.String()
}
