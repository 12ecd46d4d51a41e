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
}

// Change is what Apply should do. Zero-valued parts are left alone.
type Change struct {
	// File is the managed drop-in, reported in State.Managed afterwards.
	File string
	// Files are applied in order, before the live value.
	Files []FileOp
	// Runtime, when set, is written to the live value.
	Runtime *ptrace.Scope
}

// Empty reports whether the change would do nothing.
func (c Change) Empty() bool { return len(c.Files) == 0 && c.Runtime == nil }

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
	}
	if c.Runtime != nil && !c.Runtime.Valid() {
		return nil, &Error{Host: h.Name(), Op: "apply", Err: fmt.Errorf("%w: %d", ptrace.ErrInvalid, int(*c.Runtime))}
	}
	boundary := newBoundary()
	stdout, stderr, runErr := h.Run(ctx, applyScript, applyInput(boundary, rootOf(h), c), true)
	st, parseErr := parseOutput(stdout, boundary)
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
			return reread(ctx, h, c.File), failure
		}
		return nil, failure
	}
	if runErr != nil {
		return st, classifyStep(h.Name(), c, st, stderr, runErr)
	}
	return st, verify(h.Name(), c, st)
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
	for _, op := range c.Files {
		f := st.Lookup(op.Path)
		switch {
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
	var err error
	switch {
	case strings.Contains(detail, "yama-error absent"):
		err = ErrYamaAbsent
	case strings.Contains(detail, "yama-error locked"):
		err = ErrLocked
	case strings.Contains(detail, "yama-error not-regular"):
		err = ErrNotRegular
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
	}
	return fallbackOp, fallbackPath
}

// trimDetail keeps the host's messages, without our step markers, short
// enough for a diagnostic.
func trimDetail(stderr []byte) string {
	var lines []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "yama-step ") {
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
