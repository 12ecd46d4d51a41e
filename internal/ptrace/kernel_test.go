package ptrace

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// kernelCases are what a write of the text to
// /proc/sys/kernel/yama/ptrace_scope does: the scope it sets, or -1 for
// EINVAL. The first block was measured on a Debian 12 kernel (6.1).
var kernelCases = []struct {
	in   string
	want Scope // -1: EINVAL
}{
	// Measured.
	{"0x2", 2},
	{"02", 2},
	{" 2", 2},
	{"2\t# c", 2},
	{"-0", 0},
	{"1 2", 1},
	{"2 # harden", 2},
	{"2 1", 2},
	{"+2", -1},
	{"0x", -1},
	{"2,1", -1},
	{"2x", -1},
	{"4", -1},
	{"+1", -1},
	{"", -1},
	// Canonical values and what the kernel prints.
	{"0", 0}, {"1", 1}, {"2", 2}, {"3", 3},
	{"2\n", 2},
	{"\n2\n", 2},
	// Bases: strtoul base 0.
	{"010", -1}, // octal 8
	{"03", 3},
	{"07", -1},
	{"08", -1}, // '8' ends the octal number and is no separator
	{"0X3", 3},
	{"0x03", 3},
	{"0x0", 0},
	{"-0x0", 0},
	{"-0x2", -1},
	{"00", 0},
	{"0x1g", -1},
	{"0xg", -1},
	{"0x 1", -1}, // "0" then 'x'
	{"0x3 junk", 3},
	// Signs.
	{"-1", -1},
	{"-", -1},
	{"- 1", -1},
	{"--1", -1},
	{"-00", 0},
	{"-0 7", 0},
	// Separators and blanks.
	{"1\t2", 1},
	{"2\r", -1}, // \r is skipped before a number but does not end one
	{"\r2", 2},
	{"\v2", 2},
	{"\f 2", 2},
	{"\xa02", 2}, // the kernel's isspace() includes Latin-1 NBSP
	{"2\xa0", -1},
	{"2\v", -1},
	{"2\x00", -1},
	{"2;", -1},
	{" \t\n ", -1},
	{"\r", -1},
	// Size limits.
	{"99999999999999999999", -1},  // overflows 64 bits
	{"18446744073709551615", -1},  // fits 64 bits, not an int
	{"18446744073709551616", -1},  // overflows
	{"4294967298", -1},            // would be 2 if truncated to 32 bits
	{"000000000000000000002", -1}, // 21 characters
	{"00000000000000000002", 2},   // 20 characters, octal 2
	{"00000000000000000003 1", 3},
	{"0x00000000000000000002", -1}, // 22 characters
	{"0x000000000000000002", 2},    // 20 characters
	{"-0000000000000000000", 0},    // 20 characters with the sign
	{"-00000000000000000000", -1},  // 21
	{strings.Repeat(" ", 4094) + "2", 2},
	{strings.Repeat(" ", 4094) + "23", 2}, // the kernel sees 4095 bytes: "2"
	{strings.Repeat(" ", 4095) + "2", -1},
	{"2" + strings.Repeat(" ", 5000) + "x", 2},
}

func TestKernelParse(t *testing.T) {
	for _, c := range kernelCases {
		got, err := KernelParse(c.in)
		if c.want < 0 {
			if !errors.Is(err, ErrKernelRejects) {
				t.Errorf("KernelParse(%q) = %v, %v; want ErrKernelRejects", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("KernelParse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestKernelParseAcceptsCanonical(t *testing.T) {
	for s := Min; s <= Max; s++ {
		for _, text := range []string{s.String(), s.String() + "\n"} {
			if got, err := KernelParse(text); err != nil || got != s {
				t.Errorf("KernelParse(%q) = %v, %v", text, got, err)
			}
		}
	}
}

func TestKernelParseMessages(t *testing.T) {
	for in, want := range map[string]string{
		"+1":   `"+1": the kernel refuses it (EINVAL): the number must start with a digit`,
		"010":  `"010": the kernel refuses it (EINVAL): 8 is outside 0-3`,
		"-1":   `"-1": the kernel refuses it (EINVAL): -1 is outside 0-3`,
		"2\r":  `"2\r": the kernel refuses it (EINVAL): "\r" follows the number (only a space, tab or newline may)`,
		"":     `"": the kernel refuses it (EINVAL): no number`,
		"0x1g": `"0x1g": the kernel refuses it (EINVAL): "g" follows the number (only a space, tab or newline may)`,
	} {
		if _, err := KernelParse(in); err == nil || err.Error() != want {
			t.Errorf("KernelParse(%q) error = %v\nwant %s", in, err, want)
		}
	}
	long := strings.Repeat("x", 100000)
	_, err := KernelParse(long)
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "(100000 bytes)") {
		t.Errorf("message for a huge text is not bounded: %.300v", err)
	}
}

// kernelModel is an independent reference for KernelParse, written as
// "cut out the first word, then match it whole" instead of a byte scanner:
// the kernel accepts exactly a word that is a whole number in C syntax
// (base 0) of at most 20 characters.
var wholeNumber = regexp.MustCompile(`^(-?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$`)

func kernelModel(text string) (Scope, bool) {
	if len(text) > 4095 {
		text = text[:4095]
	}
	for text != "" && strings.IndexByte(" \t\n\v\f\r\xa0", text[0]) >= 0 {
		text = text[1:]
	}
	word := text
	if i := strings.IndexAny(text, " \t\n"); i >= 0 {
		word = text[:i]
	}
	if len(word) >= 21 {
		return 0, false
	}
	m := wholeNumber.FindStringSubmatch(word)
	if m == nil {
		return 0, false
	}
	digits, base := m[2], 16
	switch {
	case m[3] != "":
		digits, base = m[3], 8
	case m[4] != "":
		digits, base = m[4], 10
	}
	n, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, false
	}
	if m[1] == "-" {
		return 0, n == 0
	}
	return Scope(n), n <= 3
}

func TestKernelModelAgreesWithTable(t *testing.T) {
	for _, c := range kernelCases {
		got, ok := kernelModel(c.in)
		if ok != (c.want >= 0) || ok && got != c.want {
			t.Errorf("kernelModel(%q) = %v, %v; table says %v", c.in, got, ok, c.want)
		}
	}
}

// FuzzKernelParse compares KernelParse with kernelModel.
func FuzzKernelParse(f *testing.F) {
	for _, c := range kernelCases {
		if len(c.in) < 100 {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := KernelParse(text)
		want, ok := kernelModel(text)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("KernelParse(%q) = %v, %v; model says %v, %v", text, got, err, want, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrKernelRejects) {
				t.Fatalf("error %v does not wrap ErrKernelRejects", err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("message too long: %d bytes", len(err.Error()))
			}
			return
		}
		if !got.Valid() {
			t.Fatalf("KernelParse(%q) = %d, not a scope", text, got)
		}
	})
}
