package yama

import (
	"errors"
	"strings"
	"testing"
)

const testBoundary = "\x1eyama-test\x1e"

func record(fields ...string) string {
	return testBoundary + strings.Join(fields, testBoundary)
}

func TestParseOutputRejectsMalformed(t *testing.T) {
	runtime := record("runtime", "reg", ProcPath, "", "1\n", "ok")
	managed := record("managed", "missing", DefaultFile, "", "", "none")
	end := testBoundary + "end"
	cases := map[string]string{
		"empty":            "",
		"garbage":          "hello",
		"prefix noise":     "motd\n" + runtime + managed + end,
		"no end":           runtime + managed,
		"partial record":   runtime + managed + testBoundary + "entry" + end,
		"unknown tag":      runtime + managed + record("bogus", "reg", "/x", "", "", "ok") + end,
		"unknown kind":     runtime + record("managed", "fifo", DefaultFile, "", "", "none") + end,
		"unknown state":    runtime + record("managed", "reg", DefaultFile, "", "", "maybe") + end,
		"missing runtime":  managed + end,
		"missing managed":  runtime + end,
		"bad scope":        record("runtime", "reg", ProcPath, "", "7\n", "ok") + managed + end,
		"unreadable scope": record("runtime", "reg", ProcPath, "", "", "unreadable") + managed + end,
	}
	for name, out := range cases {
		if _, err := parseOutput([]byte(out), testBoundary); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, want ErrProtocol", name, err)
		}
	}
	st, err := parseOutput([]byte(runtime+managed+end), testBoundary)
	if err != nil || !st.Available || st.Runtime != 1 {
		t.Errorf("well-formed output: %+v, %v", st, err)
	}
}

// FuzzParseOutput feeds arbitrary host output to the parser: it must never
// panic, and whatever it accepts must be a consistent State.
func FuzzParseOutput(f *testing.F) {
	f.Add([]byte(record("runtime", "reg", ProcPath, "", "1\n", "ok") + record("managed", "missing", DefaultFile, "", "", "none") + testBoundary + "end"))
	f.Add([]byte(record("runtime", "missing", ProcPath, "", "", "none") + record("managed", "link", DefaultFile, "/dev/null", "", "none") + record("entry", "reg", "/etc/sysctl.conf", "", "a=1", "ok") + testBoundary + "end"))
	f.Add([]byte(testBoundary + "end"))
	f.Fuzz(func(t *testing.T, out []byte) {
		st, err := parseOutput(out, testBoundary)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error not wrapped as ErrProtocol: %v", err)
			}
			return
		}
		if st.Available && !st.Runtime.Valid() {
			t.Fatalf("accepted invalid runtime %d", st.Runtime)
		}
		if len(st.Managed.Content) > MaxFileSize {
			t.Fatalf("accepted oversized content")
		}
	})
}
