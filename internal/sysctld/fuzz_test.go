package sysctld

import (
	"bytes"
	"path"
	"strings"
	"testing"
	"unicode"
)

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// FuzzParse: Parse never panics and keeps its promises on any input, and
// anything Render makes (under the documented caller rules) reads back.
func FuzzParse(f *testing.F) {
	f.Add([]byte("kernel.yama.ptrace_scope = 1\n"), "kernel.yama.ptrace_scope", "2", "managed by Terraform")
	f.Add([]byte("# c\n; c\n\n-kernel/yama/ptrace_scope=3\r\nbogus\n= 1\n-\nkernel.yama.*\t=\t 0 \n"), "kernel/yama/ptrace_scope", "3", "")
	f.Fuzz(func(t *testing.T, data []byte, key, value, comment string) {
		lines := bytes.Count(data, []byte("\n")) + 1
		as, errs := Parse("f", data)
		for _, a := range as {
			if a.Line < 1 || a.Line > lines || a.Key == "" || a.File != "f" {
				t.Fatalf("bad assignment %+v", a)
			}
			if strings.ContainsAny(a.Key+a.Value, "\n") || a.Value != strings.Trim(a.Value, blanks) {
				t.Fatalf("untrimmed or multi-line %+v", a)
			}
			if a.Pattern != isGlob(a.Key) || (a.Exclude && (a.Value != "" || a.IgnoreFailure)) {
				t.Fatalf("inconsistent flags %+v", a)
			}
			if first, _, _ := strings.Cut(a.Key, "."); !strings.Contains(first, "/") {
				if NormalizeKey(a.Key) != a.Key {
					t.Fatalf("NormalizeKey(%q) = %q: not idempotent", a.Key, NormalizeKey(a.Key))
				}
				if !a.Pattern && !a.Matches(a.Key) {
					t.Fatalf("%+v does not match its own key", a)
				}
			}
		}
		for _, err := range errs {
			le, ok := err.(*LineError)
			if !ok || le.Line < 1 || le.Line > lines || le.File != "f" {
				t.Fatalf("bad error %#v", err)
			}
		}

		// Round trip, under the rules Render documents for its callers.
		if hasControl(key) || hasControl(value) || hasControl(comment) ||
			value != strings.Trim(value, blanks) || key != strings.Trim(key, blanks) ||
			strings.Contains(key, "=") || strings.HasPrefix(key, "-") ||
			strings.HasPrefix(key, "#") || strings.HasPrefix(key, ";") || NormalizeKey(key) == "" {
			return
		}
		out := Render(key, value, comment)
		as, errs = Parse("r", out)
		if len(errs) != 0 || len(as) != 1 {
			t.Fatalf("Render(%q, %q, %q) = %q parses to %v, %v", key, value, comment, out, as, errs)
		}
		a := as[0]
		if a.Key != NormalizeKey(key) || a.Value != value || a.Exclude || a.IgnoreFailure {
			t.Fatalf("Render(%q, %q, %q) read back as %+v", key, value, comment, a)
		}
		if want := strings.Count(string(out), "\n"); a.Line != want {
			t.Fatalf("assignment on line %d, want %d", a.Line, want)
		}
	})
}

// fuzzTree decodes bytes into a small host tree. Records are separated by
// NUL; each is dir, name, kind, then content or a link target. The few
// choices keep collisions (same basename, links between the dirs) likely.
func fuzzTree(data []byte) []Entry {
	dirs := []string{"etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d", "etc", "opt", "srv/x"}
	names := []string{"10-a.conf", "20-b.conf", "99-sysctl.conf", "sysctl.conf", "README", ".hidden.conf", ".conf", "zz.conf"}
	targets := []string{"../sysctl.conf", "/etc/sysctl.conf", "/dev/null", "10-a.conf", "../../usr/lib/sysctl.d/10-a.conf",
		"/opt/missing.conf", "20-b.conf", "/etc/sysctl.d", "..", "../../../srv/x", "/srv/x/zz.conf"}
	canned := []string{set("0"), set("1"), set("2"), set("3"), "kernel.yama.* = 2\n", "-kernel.yama.ptrace_scope\n",
		"kernel/yama/ptrace_scope=1\n", "kernel.*.ptrace_scope = 3\n", "-kernel.*\n", "-kernel.yama.*\n", "oops\n", ""}
	var es []Entry
	for _, rec := range bytes.Split(data, []byte{0}) {
		if len(rec) < 3 {
			continue
		}
		if rec[0]%9 == 8 {
			es = append(es, Entry{Path: "lib", Kind: KindSymlink, Target: "usr/lib"})
			continue
		}
		p := path.Join(dirs[int(rec[0]%9)%len(dirs)], names[int(rec[1])%len(names)])
		rest := rec[3:]
		switch rec[2] % 5 {
		case 0:
			es = append(es, Entry{Path: p, Data: rest})
		case 1:
			c := canned[0]
			if len(rest) > 0 {
				c, rest = canned[int(rest[0])%len(canned)], rest[1:]
			}
			es = append(es, Entry{Path: p, Data: append([]byte(c), rest...)})
		case 2:
			t := string(rest)
			if len(rest) > 0 && rest[0] < 0x80 {
				t = targets[int(rest[0])%len(targets)]
			}
			es = append(es, Entry{Path: p, Kind: KindSymlink, Target: t})
		case 3:
			es = append(es, Entry{Path: p, Kind: KindDir})
		case 4:
			es = append(es, Entry{Path: p, Kind: KindDevice})
		}
	}
	return es
}

// FuzzResolve: on random small trees Resolve never fails or panics, agrees
// with itself and with an fstest.MapFS of the same tree, and its Result is
// coherent: Source is the last written step, locks hold.
func FuzzResolve(f *testing.F) {
	f.Add([]byte("\x00\x00\x01\x03\x00\x03\x02\x01\x00\x05\x03\x01\x02"), false, true)
	f.Add([]byte("\x08xx\x00\x03\x00\x01\x01\x00\x04\x00\x01\x03\x00\x00\x02\x02\x00"), true, true)
	f.Fuzz(func(t *testing.T, data []byte, procps, lock bool) {
		m := &MemFS{}
		tr := tree{}
		for _, e := range fuzzTree(data) {
			if m.Add(e) != nil {
				continue // e.g. a file where a directory is: not a tree
			}
			switch e.Kind {
			case KindSymlink:
				tr[e.Path] = "-> " + e.Target
			case KindDir:
				tr[e.Path] = "<dir>"
			case KindDevice:
				tr[e.Path] = "<dev>"
			default:
				tr[e.Path] = string(e.Data)
			}
		}
		o := Options{Mode: ModeSystemd}
		if procps {
			o.Mode = ModeProcps
		}
		if lock {
			o.LockValue, o.Check = "3", ptraceCheck
		}
		r, err := o.Resolve(m, ptrace)
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if again, err := o.Resolve(m, ptrace); err != nil || !sameResult(r, again) {
			t.Fatalf("not deterministic:\n%s\n%s", dump(r), dump(again))
		}
		if viaMap, err := o.Resolve(tr.mapFS(), ptrace); err != nil || !sameResult(r, viaMap) {
			t.Fatalf("MapFS disagrees (%v):\n%s\n%s", err, dump(r), dump(viaMap))
		}

		last, failed, locked, explicitWrites := -1, 0, false, 0
		for i, s := range r.Applied {
			if procps && (s.Outcome == Replaced || s.Outcome == Merged) {
				t.Fatalf("procps never replaces or merges:\n%s", dump(r))
			}
			if !s.Pattern && (s.Outcome == Written || s.Outcome == Failed) {
				explicitWrites++
			}
			if !s.Matches(ptrace) {
				t.Fatalf("step %d does not touch the key:\n%s", i, dump(r))
			}
			switch s.Outcome {
			case Written:
				if locked && s.Effective != "3" {
					t.Fatalf("value changed after the lock:\n%s", dump(r))
				}
				locked = locked || (lock && s.Effective == "3")
				last = i
			case Failed:
				failed++
			}
		}
		if !procps && explicitWrites > 1 {
			t.Fatalf("systemd writes an explicit key once at most:\n%s", dump(r))
		}
		if failed != len(r.Failed) {
			t.Fatalf("%d failed steps, Failed has %d:\n%s", failed, len(r.Failed), dump(r))
		}
		if r.Set != (last >= 0) {
			t.Fatalf("Set = %v but last written step = %d:\n%s", r.Set, last, dump(r))
		}
		if last >= 0 && (r.Source != r.Applied[last].Assignment || r.Value != r.Applied[last].Effective) {
			t.Fatalf("Source/Value is not the last written step:\n%s", dump(r))
		}
		if n := len(r.Applied); n > 0 && r.Applied[n-1].Effective != r.Value {
			t.Fatalf("last step leaves %q, Value %q", r.Applied[n-1].Effective, r.Value)
		}
		// A line read twice (procps: /etc/sysctl.conf via a link, then
		// directly) differs in Via, so Source is never "overridden".
		for _, a := range r.Overridden {
			if r.Set && a == r.Source {
				t.Fatalf("Source listed as overridden:\n%s", dump(r))
			}
		}
	})
}
