// Package ptrace holds the values and rules of the Yama LSM setting
// kernel.yama.ptrace_scope, as documented in the kernel's
// Documentation/admin-guide/LSM/Yama.rst. It is pure: no I/O.
package ptrace

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Scope is a value of kernel.yama.ptrace_scope.
type Scope int

// The four scopes the kernel accepts.
const (
	Classic    Scope = 0 // any process may attach to another of the same uid
	Restricted Scope = 1 // only descendants or a declared tracer (PR_SET_PTRACER)
	AdminOnly  Scope = 2 // only processes with CAP_SYS_PTRACE
	NoAttach   Scope = 3 // nobody may attach; the value cannot be changed until reboot
)

// Min and Max bound the values the kernel accepts.
const (
	Min = Classic
	Max = NoAttach
)

// ErrInvalid is returned for text that is not one of the four scope values.
var ErrInvalid = errors.New("not a valid ptrace_scope value")

// ErrLocked is returned when a change is asked of a live value of 3: the
// kernel refuses any other value (EINVAL) until the host reboots.
var ErrLocked = errors.New("ptrace_scope is 3 (no-attach) and the kernel refuses any other value until reboot")

var modes = [...]string{"classic", "restricted", "admin-only", "no-attach"}

// Valid reports whether s is one of the four scopes.
func (s Scope) Valid() bool { return s >= Min && s <= Max }

// Mode is the scope's name as Yama.rst describes it, e.g. "admin-only".
func (s Scope) Mode() string {
	if !s.Valid() {
		return "invalid"
	}
	return modes[s]
}

// String renders the scope as the kernel prints it.
func (s Scope) String() string { return strconv.Itoa(int(s)) }

// Parse is the strict form: it reads a scope in canonical decimal ("2"),
// tolerating surrounding whitespace (strings.TrimSpace), and nothing else.
// Use it where the text must be in the form Scope.String renders (a drop-in
// this provider wrote, a value to compare byte for byte). To judge what a
// write of some text to /proc/sys/kernel/yama/ptrace_scope does, which
// accepts "0x2", "02" or "2 # c" too, use KernelParse.
func Parse(text string) (Scope, error) {
	t := strings.TrimSpace(text)
	n, err := strconv.Atoi(t)
	if err != nil || !Scope(n).Valid() {
		return 0, fmt.Errorf("%w: %q (want %s)", ErrInvalid, t, Describe())
	}
	return Scope(n), nil
}

// Describe lists every value with its mode, for messages:
// "0 (classic), 1 (restricted), 2 (admin-only) or 3 (no-attach)".
func Describe() string {
	parts := make([]string, 0, len(modes))
	for i, m := range modes {
		parts = append(parts, fmt.Sprintf("%d (%s)", i, m))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// CanChangeLive reports whether the kernel will accept writing to over a
// live value of from. Once 3 is set only 3 may be written again.
func CanChangeLive(from, to Scope) error {
	if !to.Valid() {
		return fmt.Errorf("%w: %d", ErrInvalid, int(to))
	}
	if from == NoAttach && to != NoAttach {
		return ErrLocked
	}
	return nil
}
