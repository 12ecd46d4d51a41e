package yama

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// FileOp writes (atomically) or removes one drop-in.
type FileOp struct {
	Path    string
	Content []byte
	Remove  bool
	// Mode and Owner ("uid:gid") of a written file; zero and empty mean
	// 0644 root:root. Given (a restore), they are put back even when the
	// content is already there.
	Mode  uint32
	Owner string
}

// Original says what an apply does with the host's record of what it held
// before the provider first changed it (RecordPath).
type Original uint8

const (
	// LeaveOriginal neither makes nor removes the record.
	LeaveOriginal Original = iota
	// RecordOriginal makes the record right before the apply's first
	// change, unless there is one: creates and updates.
	RecordOriginal
	// ForgetOriginal removes the record once every step succeeded:
	// destroys, and the rollback of a failed create.
	ForgetOriginal
)

func (o Original) String() string {
	switch o {
	case RecordOriginal:
		return "record"
	case ForgetOriginal:
		return "forget"
	}
	return "-"
}

// Change is what Apply should do. Zero-valued parts are left alone.
type Change struct {
	// File is the managed drop-in, reported in State.Managed afterwards.
	File string
	// Files are applied in order, before the live value.
	Files []FileOp
	// Runtime, when set, is written to the live value.
	Runtime *ptrace.Scope
	// Original is what happens to the record of File's original.
	Original Original
}

// Empty reports whether the change would do nothing.
func (c Change) Empty() bool {
	return len(c.Files) == 0 && c.Runtime == nil && c.Original != ForgetOriginal
}

// Step is one change an apply made on the host (a "yama-done" line).
type Step struct {
	Name string // "file", "remove", "runtime", "record" or "forget"
	Path string
}

func (s Step) String() string {
	switch s.Name {
	case "file":
		return "wrote " + s.Path
	case "remove":
		return "removed " + s.Path
	case "runtime":
		return "set the live value (" + s.Path + ")"
	case "record":
		return "recorded the original in " + s.Path
	case "forget":
		return "removed the record " + s.Path
	}
	return s.Name + " " + s.Path
}

// doneSteps lists the changes the script reports on stderr, in order.
func doneSteps(stderr []byte) []Step {
	var out []Step
	for _, l := range strings.Split(string(stderr), "\n") {
		rest, ok := strings.CutPrefix(l, "yama-done ")
		if !ok {
			continue
		}
		name, path, _ := strings.Cut(rest, " ")
		out = append(out, Step{Name: name, Path: path})
	}
	return out
}

// Apply performs c in a single privileged command: the file first (so a
// connection lost half-way leaves the persistent value, which is what a
// reboot would apply anyway), then the live value. It returns the state the
// host reports afterwards, even when a step failed, so the caller never
// records what the host does not hold; the error then names the step. When
// the command's answer is lost (the connection dropped), it reads the host
// once more and returns that state with the transport error, or no state if
// the host cannot be read either.
func Apply(ctx context.Context, h Host, c Change) (*State, error) {
	if err := ValidateFile(c.File); err != nil {
		return nil, &Error{Host: h.Name(), Op: "apply", Path: c.File, Err: err}
	}
	for _, op := range c.Files {
		if err := ValidateFile(op.Path); err != nil {
			return nil, &Error{Host: h.Name(), Op: "apply", Path: op.Path, Err: err}
		}
		if err := validOwner(op.Owner); op.Mode > 0o7777 || err != nil {
			return nil, &Error{Host: h.Name(), Op: "apply", Path: op.Path, Err: fmt.Errorf("%w: mode %o, owner %q", ErrBadFile, op.Mode, op.Owner)}
		}
	}
	if c.Runtime != nil && !c.Runtime.Valid() {
		return nil, &Error{Host: h.Name(), Op: "apply", Err: fmt.Errorf("%w: %d", ptrace.ErrInvalid, int(*c.Runtime))}
	}
	boundary := newBoundary()
	stdout, stderr, runErr := h.Run(ctx, applyScript, applyInput(boundary, rootOf(h), c), true)
	st, parseErr := parseOutput(stdout, boundary)
	done := doneSteps(stderr)
	if parseErr != nil {
		// The snapshot is missing, so the script never finished: the
		// transport failed or the host could not run it at all.
		err := runErr
		if err == nil {
			err = parseErr
		}
		op, path := failedStep(stderr, "apply", c.File)
		failure := &Error{Host: h.Name(), Op: op, Path: path, Err: err, Detail: trimDetail(stderr)}
		if runErr != nil {
			// Some steps may have run before the answer was lost (a
			// connection cut after the drop-in was written): ask the host
			// again what it holds, so the caller records that rather than
			// the state before the apply or the one it asked for.
			after := reread(ctx, h, c.File)
			if after != nil {
				after.Changed = done // at least these: stderr may be cut short too
			}
			return after, failure
		}
		return nil, failure
	}
	st.Changed, st.ChangedKnown = done, true
	if runErr != nil {
		return st, classifyStep(h.Name(), c, st, stderr, runErr)
	}
	return st, verify(h.Name(), c, st)
}

// validOwner accepts "" and "uid:gid" in decimal.
func validOwner(o string) error {
	if o == "" {
		return nil
	}
	u, g, ok := strings.Cut(o, ":")
	if !ok || !decimal(u) || !decimal(g) {
		return fmt.Errorf("owner %q is not uid:gid", o)
	}
	return nil
}

func decimal(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// reread returns what the host holds after an apply whose answer was lost,
// or nil when that cannot be known. It runs the unprivileged read on a new
// command (the transport redials a dead connection): if sudo was what
// failed, trying sudo again would only count one more failure against the
// account. A drop-in the login user cannot read makes the state unknown.
func reread(ctx context.Context, h Host, file string) *State {
	st, err := read(ctx, h, file, false)
	if err != nil || (st.Managed.Exists() && st.Managed.Kind == KindRegular && !st.Managed.Readable) {
		return nil
	}
	return st
}

// verify checks that the host now holds what was asked: a tool that exits
// 0 without doing its job (sysctl does on some failures) must not pass.
func verify(host string, c Change, st *State) error {
	if c.Runtime != nil {
		if !st.Available {
			return &Error{Host: host, Op: "set runtime", Err: ErrYamaAbsent}
		}
		if st.Runtime != *c.Runtime {
			return &Error{Host: host, Op: "set runtime", Path: ProcPath, Err: fmt.Errorf("%w: wrote %d, host reports %d", ErrVerify, *c.Runtime, st.Runtime)}
		}
	}
	if c.Original == ForgetOriginal && st.Original.Exists() && st.Original.Kind != KindOther {
		return &Error{Host: host, Op: "forget original", Path: st.Original.Path, Err: fmt.Errorf("%w: the record still exists after removal", ErrVerify)}
	}
	for _, op := range c.Files {
		f := st.Lookup(op.Path)
		switch {
		case !op.Remove && op.Path == st.Managed.Path && op.Mode != 0 && st.Managed.Meta.Type != 0 &&
			(st.Managed.Meta.Perm != op.Mode || (op.Owner != "" && st.Managed.Meta.Owner() != op.Owner)):
			return &Error{Host: host, Op: "write file", Path: op.Path, Err: fmt.Errorf("%w: the drop-in's mode or owner differs after writing", ErrVerify)}
		case !op.Remove && (f.Kind != KindRegular || !bytes.Equal(f.Content, op.Content)):
			return &Error{Host: host, Op: "write file", Path: op.Path, Err: fmt.Errorf("%w: the drop-in content differs after writing", ErrVerify)}
		case op.Remove && f.Exists():
			return &Error{Host: host, Op: "remove file", Path: op.Path, Err: fmt.Errorf("%w: the drop-in still exists after removal", ErrVerify)}
		}
	}
	return nil
}

// classifyStep turns a failed step's stderr into a sentinel error. Messages
// come from coreutils (tee, mktemp, cat, mv) and the shell, which print
// strerror(errno) text; that text is stable across distributions.
func classifyStep(host string, c Change, st *State, stderr []byte, runErr error) error {
	op, path := failedStep(stderr, "apply", c.File)
	detail := trimDetail(stderr)
	marker := func(what string) bool { return strings.Contains(string(stderr), "yama-error "+what+"\n") }
	var err error
	switch {
	case marker("absent"):
		err = ErrYamaAbsent
	case marker("locked"):
		err = ErrLocked
	case marker("not-regular"):
		err = ErrNotRegular
		if f := st.Lookup(path); f.Unsafe() != "" {
			err = fmt.Errorf("%w: it is %s", ErrNotRegular, f.Unsafe())
		}
	case marker("busy"):
		err = fmt.Errorf("%w (%s, waited %s)", ErrBusy, LockPath, LockWait)
	case marker("record") && (strings.Contains(detail, "Permission denied") || strings.Contains(detail, "Operation not permitted")):
		// Not root: the provider's own directory is root's.
		err = ErrPermission
	case marker("record"):
		err = ErrRecord
	case strings.Contains(detail, "Read-only file system"):
		err = ErrReadOnly
	case strings.Contains(detail, "No space left on device"), strings.Contains(detail, "Disk quota exceeded"):
		err = ErrNoSpace
	case strings.Contains(detail, "Permission denied"), strings.Contains(detail, "Operation not permitted"):
		err = ErrPermission
	case op == "set runtime" && strings.Contains(detail, "Invalid argument") && st.Locked():
		err = ErrLocked
	case op == "set runtime" && strings.Contains(detail, "Invalid argument"):
		err = ErrInvalidValue
	default:
		err = fmt.Errorf("%w: %w", ErrStepFailed, runErr)
	}
	return &Error{Host: host, Op: op, Path: path, Err: err, Detail: detail}
}

// failedStep names the last step the script announced on stderr and the
// path it was working on.
func failedStep(stderr []byte, fallbackOp, fallbackPath string) (op, path string) {
	s := string(stderr)
	i := strings.LastIndex(s, "yama-step ")
	if i < 0 {
		return fallbackOp, fallbackPath
	}
	line, _, _ := strings.Cut(s[i+len("yama-step "):], "\n")
	step, path, _ := strings.Cut(line, " ")
	if path == "" {
		path = fallbackPath
	}
	switch step {
	case "file":
		return "write file", path
	case "remove":
		return "remove file", path
	case "runtime":
		return "set runtime", path
	case "lock":
		return "lock", path
	case "record":
		return "record original", path
	case "forget":
		return "forget original", path
	}
	return fallbackOp, fallbackPath
}

// trimDetail keeps the host's messages, without our step and error markers
// (classifyStep reads those), short enough for a diagnostic.
func trimDetail(stderr []byte) string {
	var lines []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "yama-step ") || strings.HasPrefix(l, "yama-done ") || strings.HasPrefix(l, "yama-error ") {
			continue
		}
		lines = append(lines, l)
	}
	s := strings.Join(lines, "; ")
	const limit = 500
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut-- // never split a character of a (valid) message
		}
		s = s[:cut] + "…"
	}
	return s
}
