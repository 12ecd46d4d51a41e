package sysctld

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// a is shorthand for an expected assignment: "line key=value" with
// optional flags "!" (IgnoreFailure), "*" (Pattern), "x" (Exclude).
func fmtAssignment(a Assignment) string {
	flags := ""
	if a.IgnoreFailure {
		flags += "!"
	}
	if a.Pattern {
		flags += "*"
	}
	if a.Exclude {
		flags += "x"
	}
	return fmt.Sprintf("%d%s %s=%s", a.Line, flags, a.Key, a.Value)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // fmtAssignment of each
		errs []string // LineError.Error() of each
	}{
		{name: "hash comment", in: "# kernel.yama.ptrace_scope = 3\n", want: nil},
		{name: "semicolon comment", in: "; kernel.yama.ptrace_scope = 3\n", want: nil},
		{name: "indented comment", in: "  \t# x = 1\n", want: nil},
		{name: "blank and whitespace-only lines", in: "\n   \n\t\n\r\n", want: nil},
		{name: "no trailing comments: # is part of the value", in: "k.a = 1 # one\n",
			want: []string{"1 k.a=1 # one"}},
		{name: "whitespace trimmed around key and value", in: " \t kernel.yama.ptrace_scope\t=\t 2 \t\n",
			want: []string{"1 kernel.yama.ptrace_scope=2"}},
		{name: "no spaces around =", in: "kernel.yama.ptrace_scope=1\n",
			want: []string{"1 kernel.yama.ptrace_scope=1"}},
		{name: "CRLF line endings", in: "a.b = 1\r\nc.d = 2\r\n",
			want: []string{"1 a.b=1", "2 c.d=2"}},
		{name: "value keeps inner spaces", in: "net.ipv4.ping_group_range = 0   2147483647\n",
			want: []string{"1 net.ipv4.ping_group_range=0   2147483647"}},
		{name: "value splits at first =", in: "a.b = c=d\n", want: []string{"1 a.b=c=d"}},
		{name: "empty value kept", in: "a.b =\n", want: []string{"1 a.b="}},
		{name: "dash prefix ignores failure", in: "-kernel.yama.ptrace_scope = 1\n",
			want: []string{"1! kernel.yama.ptrace_scope=1"}},
		{name: "dash prefix then blanks", in: "- kernel.yama.ptrace_scope = 1\n",
			want: []string{"1! kernel.yama.ptrace_scope=1"}},
		{name: "slash key", in: "kernel/yama/ptrace_scope = 2\n",
			want: []string{"1 kernel.yama.ptrace_scope=2"}},
		{name: "slash key swaps dots and slashes", in: "net/ipv4/conf/eth0.1/rp_filter = 1\n",
			want: []string{"1 net.ipv4.conf.eth0/1.rp_filter=1"}},
		{name: "dotted key keeps slash inside a name", in: "net.ipv4.conf.eth0/1.rp_filter = 1\n",
			want: []string{"1 net.ipv4.conf.eth0/1.rp_filter=1"}},
		{name: "repeated and trailing separators dropped", in: "kernel..yama.ptrace_scope. = 1\n/kernel/yama//ptrace_scope = 2\n",
			want: []string{"1 kernel.yama.ptrace_scope=1", "2 kernel.yama.ptrace_scope=2"}},
		{name: "glob key", in: "kernel.yama.* = 2\nnet.ipv4.conf.*.rp_filter = 2\nkernel.yama.ptrace_scop? = 1\n",
			want: []string{"1* kernel.yama.*=2", "2* net.ipv4.conf.*.rp_filter=2", "3* kernel.yama.ptrace_scop?=1"}},
		{name: "exclusion line", in: "-net.ipv4.conf.all.rp_filter\n- kernel.yama.*\n",
			want: []string{"1x net.ipv4.conf.all.rp_filter=", "2*x kernel.yama.*="}},
		{name: "malformed: no =", in: "kernel.yama.ptrace_scope 2\n",
			errs: []string{`f.conf:1: not an assignment (no "="): "kernel.yama.ptrace_scope 2"`}},
		{name: "malformed: empty key", in: " = 2\n",
			errs: []string{`f.conf:1: empty key: "= 2"`}},
		{name: "malformed: lone dash", in: "-\n-= 1\n",
			errs: []string{`f.conf:1: empty key: "-"`, `f.conf:2: empty key: "-= 1"`}},
		{name: "parsing continues past errors with right line numbers",
			in:   "# head\n\nbogus\nkernel.yama.ptrace_scope = 1\n= x\n\nkernel.yama.ptrace_scope = 3",
			want: []string{"4 kernel.yama.ptrace_scope=1", "7 kernel.yama.ptrace_scope=3"},
			errs: []string{`f.conf:3: not an assignment (no "="): "bogus"`, `f.conf:5: empty key: "= x"`}},
		{name: "no trailing newline", in: "a.b = 1", want: []string{"1 a.b=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, errs := Parse("f.conf", []byte(tt.in))
			var got []string
			for _, a := range as {
				if a.File != "f.conf" {
					t.Errorf("File = %q", a.File)
				}
				got = append(got, fmtAssignment(a))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("assignments:\n got %q\nwant %q", got, tt.want)
			}
			var gotErrs []string
			for _, err := range errs {
				var le *LineError
				if !errors.As(err, &le) {
					t.Fatalf("error %v is not a *LineError", err)
				}
				gotErrs = append(gotErrs, err.Error())
			}
			if strings.Join(gotErrs, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n got %q\nwant %q", gotErrs, tt.errs)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name, line, key string
		want            bool
	}{
		{"same dotted key", "kernel.yama.ptrace_scope = 1", "kernel.yama.ptrace_scope", true},
		{"slash line, dotted key", "kernel/yama/ptrace_scope = 1", "kernel.yama.ptrace_scope", true},
		{"dotted line, slash key", "kernel.yama.ptrace_scope = 1", "kernel/yama/ptrace_scope", true},
		{"other key", "kernel.yama.ptrace_scopex = 1", "kernel.yama.ptrace_scope", false},
		{"glob kernel.yama.*", "kernel.yama.* = 1", "kernel.yama.ptrace_scope", true},
		{"glob kernel.* does not cross a dot", "kernel.* = 1", "kernel.yama.ptrace_scope", false},
		{"glob kernel.* matches a direct child", "kernel.* = 1", "kernel.pid_max", true},
		{"glob kernel.*.ptrace_scope", "kernel.*.ptrace_scope = 1", "kernel.yama.ptrace_scope", true},
		{"glob ? and class", "kernel.yama.ptrace_scop[de] = 1", "kernel.yama.ptrace_scope", true},
		{"glob in slash form", "kernel/yama/* = 1", "kernel.yama.ptrace_scope", true},
		{"glob over interface with a dot", "net.ipv4.conf.*.rp_filter = 1", "net/ipv4/conf/eth0.1/rp_filter", true},
		{"unclosed bracket is literal", "kernel.yama.[ = 1", "kernel.yama.[", true},
		{"exclusion matches its key", "-kernel.yama.ptrace_scope", "kernel.yama.ptrace_scope", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as, errs := Parse("f", []byte(tt.line))
			if len(as) != 1 || len(errs) != 0 {
				t.Fatalf("Parse(%q) = %v, %v", tt.line, as, errs)
			}
			if got := as[0].Matches(tt.key); got != tt.want {
				t.Errorf("Matches(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{
		"kernel.yama.ptrace_scope":       "kernel.yama.ptrace_scope",
		"kernel/yama/ptrace_scope":       "kernel.yama.ptrace_scope",
		"/kernel/yama/ptrace_scope":      "kernel.yama.ptrace_scope",
		"net/ipv4/conf/eth0.1/rp_filter": "net.ipv4.conf.eth0/1.rp_filter",
		"net.ipv4.conf.eth0/1.rp_filter": "net.ipv4.conf.eth0/1.rp_filter",
		"vm.swappiness":                  "vm.swappiness",
		"fs":                             "fs",
		"":                               "",
		"./.":                            "",
	} {
		if got := NormalizeKey(in); got != want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderParseRoundTrip(t *testing.T) {
	for _, c := range []struct{ key, value, comment string }{
		{"kernel.yama.ptrace_scope", "2", "managed by Terraform"},
		{"kernel.yama.ptrace_scope", "0", ""},
		{"kernel/yama/ptrace_scope", "3", "# looks = like an assignment"},
		{"net.ipv4.ping_group_range", "0 2147483647", "; semicolon"},
		{"a.b", "x = y # z", "=="},
	} {
		as, errs := Parse("r", Render(c.key, c.value, c.comment))
		if len(errs) != 0 || len(as) != 1 {
			t.Fatalf("Render(%q, %q, %q) parses to %v, %v", c.key, c.value, c.comment, as, errs)
		}
		if a := as[0]; a.Key != NormalizeKey(c.key) || a.Value != c.value || a.Pattern || a.Exclude || a.IgnoreFailure {
			t.Errorf("round trip of %+v gave %+v", c, a)
		}
	}
}
