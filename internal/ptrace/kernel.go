package ptrace

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrKernelRejects is wrapped by KernelParse's errors: writing the text to
// /proc/sys/kernel/yama/ptrace_scope fails with EINVAL and leaves the value
// unchanged.
var ErrKernelRejects = errors.New("the kernel refuses it (EINVAL)")

// Limits of the kernel's parser (kernel/sysctl.c).
const (
	// writeMax is PAGE_SIZE-1 on 4 KiB pages (x86-64): __do_proc_dointvec
	// looks at no more of a write than this.
	writeMax = 4096 - 1
	// numberMax is TMPBUFLEN-1: proc_get_long copies at most this many
	// bytes and refuses a number (sign and "0x" included) that fills them.
	numberMax = 22 - 1
	// quoteMax bounds how much of the text an error message quotes.
	quoteMax = 32
)

// KernelParse returns the scope the kernel sets when text is written to
// /proc/sys/kernel/yama/ptrace_scope, or an error wrapping ErrKernelRejects
// when the write fails with EINVAL (the value then stays as it was).
//
// Yama's handler (yama_dointvec_minmax) calls proc_dointvec_minmax, whose
// parser (kernel/sysctl.c: __do_proc_dointvec, proc_skip_spaces,
// proc_get_long, strtoul_lenient) reads one integer:
//
//   - at most the first PAGE_SIZE-1 bytes count (4 KiB pages assumed);
//   - leading isspace() bytes are skipped: ' ', \t, \n, \v, \f, \r and, in
//     the kernel's Latin-1 ctype table, 0xA0; nothing else left: EINVAL;
//   - an optional '-' (only when more text follows), then a digit must
//     come: "+2", " - 1", "x" get EINVAL;
//   - the base is chosen as strtoul's base 0: "0x"/"0X" followed by a hex
//     digit is hex, another leading "0" is octal ("010" is 8, "08" stops
//     after the "0"), else decimal; the longest run of digits valid in the
//     base is the number; overflowing 64 bits is EINVAL;
//   - a number text of 21 bytes or more (TMPBUFLEN-1, sign and "0x"
//     included) is EINVAL, whatever follows;
//   - the number must end the text or be followed by ' ', \t or \n
//     (proc_wspace_sep): "2x", "2,1", "2\r", "0x" and "0x1g" get EINVAL;
//     whatever follows a separator is ignored, since the file holds one
//     integer ("1 2" sets 1, "2 # harden" sets 2);
//   - the signed value must fit an int and lie within 0-3 (extra1/extra2):
//     "-0" sets 0, "-1", "4" and "010" get EINVAL. Yama's lock at 3 and the
//     CAP_SYS_PTRACE check are not part of parsing: see CanChangeLive.
//
// systemd-sysctl and procps "sysctl" write the value followed by "\n",
// which changes none of these answers (an empty value is written too, and
// refused: systemd 252 and 257 then exit 1; measured in the VM suite's
// group 6). Measured on a Debian 12 kernel: "0x2", "02", " 2",
// "2\t# c", "-0", "1 2", "2 # harden", "2 1" are accepted; "+2", "0x",
// "2,1", "2x", "4", "+1" and "" get EINVAL.
func KernelParse(text string) (Scope, error) {
	reject := func(why string, args ...any) (Scope, error) {
		return 0, fmt.Errorf("%s: %w: %s", quote(text), ErrKernelRejects, fmt.Sprintf(why, args...))
	}
	s := text
	if len(s) > writeMax {
		s = s[:writeMax]
	}
	i := 0
	for i < len(s) && kernelSpace(s[i]) {
		i++
	}
	s = s[i:]
	if s == "" {
		return reject("no number")
	}
	// proc_get_long works on a copy of at most numberMax bytes.
	num := s
	if len(num) > numberMax {
		num = num[:numberMax]
	}
	p := 0
	neg := false
	if num[0] == '-' && len(s) > 1 {
		neg, p = true, 1
	}
	if p >= len(num) || !isDigit(num[p]) {
		return reject("the number must start with a digit")
	}
	base := uint64(10)
	if num[p] == '0' {
		base = 8
		if p+2 < len(num) && num[p+1]|0x20 == 'x' && digitValue(num[p+2]) < 16 {
			base, p = 16, p+2
		}
	}
	var val uint64
	overflow := false
	for ; p < len(num); p++ {
		d := digitValue(num[p])
		if d >= base {
			break
		}
		if val > (^uint64(0)-d)/base {
			overflow = true
		}
		val = val*base + d
	}
	switch {
	case overflow:
		return reject("the number does not fit 64 bits")
	case p == numberMax:
		return reject("the number is %d characters or longer", numberMax)
	case p < len(s) && s[p] != ' ' && s[p] != '\t' && s[p] != '\n':
		return reject("%s follows the number (only a space, tab or newline may)", strconv.Quote(s[p:p+1]))
	case neg && val != 0, val > uint64(Max):
		sign := ""
		if neg {
			sign = "-"
		}
		return reject("%s%d is outside %d-%d", sign, val, Min, Max)
	}
	return Scope(val), nil
}

// kernelSpace is the kernel's isspace() (lib/ctype.c), which counts the
// Latin-1 no-break space 0xA0 too.
func kernelSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xa0:
		return true
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitValue is _parse_integer's digit: 0-9, a-f/A-F as 10-15, else 99.
func digitValue(c byte) uint64 {
	switch lc := c | 0x20; {
	case isDigit(c):
		return uint64(c - '0')
	case 'a' <= lc && lc <= 'f':
		return uint64(lc-'a') + 10
	}
	return 99
}

// quote renders text for a message, cut to quoteMax bytes.
func quote(text string) string {
	if len(text) <= quoteMax {
		return strconv.Quote(text)
	}
	return strconv.Quote(text[:quoteMax]) + fmt.Sprintf("... (%d bytes)", len(text))
}
