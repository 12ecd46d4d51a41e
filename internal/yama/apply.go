package yama

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
)

// Change is what Apply should do. Zero-valued parts are left alone.
type Change struct {
	File string
	// Content, when non-nil, replaces the drop-in atomically.
	Content []byte
	// Remove deletes the drop-in (ignored when Content is set).
	Remove bool
	// Runtime, when set, is written to the live value.
	Runtime *ptrace.Scope
}

// Empty reports whether the change would do nothing.
func (c Change) Empty() bool { return c.Content == nil && !c.Remove && c.Runtime == nil }

// Apply performs c in a single privileged command: the file first (so a
// connection lost half-way leaves the persistent value, which is what a
// reboot would apply anyway), then the live value. It returns the state the
// host reports afterwards, even when a step failed, so the caller never
// records what the host does not hold; the error then names the step.
func Apply(ctx context.Context, h Host, c Change) (*State, error) {
	if err := ValidateFile(c.File); err != nil {
		return nil, &Error{Host: h.Name(), Op: "apply", Path: c.File, Err: err}
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
		return nil, &Error{Host: h.Name(), Op: failedOp(stderr, "apply"), Path: c.File, Err: err, Detail: trimDetail(stderr)}
	}
	if runErr != nil {
		return st, classifyStep(h.Name(), c, st, stderr, runErr)
	}
	return st, verify(h.Name(), c, st)
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
	switch {
	case c.Content != nil && (st.Managed.Kind != KindRegular || !bytes.Equal(st.Managed.Content, c.Content)):
		return &Error{Host: host, Op: "write file", Path: c.File, Err: fmt.Errorf("%w: the drop-in content differs after writing", ErrVerify)}
	case c.Content == nil && c.Remove && st.Managed.Exists():
		return &Error{Host: host, Op: "remove file", Path: c.File, Err: fmt.Errorf("%w: the drop-in still exists after removal", ErrVerify)}
	}
	return nil
}

// classifyStep turns a failed step's stderr into a sentinel error. Messages
// come from coreutils (tee, mktemp, cat, mv) and the shell, which print
// strerror(errno) text; that text is stable across distributions.
func classifyStep(host string, c Change, st *State, stderr []byte, runErr error) error {
	op := failedOp(stderr, "apply")
	detail := trimDetail(stderr)
	path := c.File
	if op == "set runtime" {
		path = ProcPath
	}
	var err error
	switch {
	case strings.Contains(detail, "yama-error absent"):
		err = ErrYamaAbsent
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

// failedOp names the last step the script announced on stderr.
func failedOp(stderr []byte, fallback string) string {
	s := string(stderr)
	i := strings.LastIndex(s, "yama-step ")
	if i < 0 {
		return fallback
	}
	step, _, _ := strings.Cut(s[i+len("yama-step "):], "\n")
	switch step {
	case "file":
		return "write file"
	case "remove":
		return "remove file"
	case "runtime":
		return "set runtime"
	}
	return fallback
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
		s = s[:limit] + "…"
	}
	return s
}
