package yama

import (
	"context"
	"fmt"
)

// Read returns the host's live value, the drop-in at file and the sysctl.d
// configuration, in one command. It never needs privilege; if the drop-in
// itself is unreadable and the host may escalate, the caller can retry with
// ReadPrivileged.
func Read(ctx context.Context, h Host, file string) (*State, error) {
	return read(ctx, h, file, false)
}

// ReadPrivileged is Read run with root (e.g. through sudo).
func ReadPrivileged(ctx context.Context, h Host, file string) (*State, error) {
	return read(ctx, h, file, true)
}

func read(ctx context.Context, h Host, file string, privileged bool) (*State, error) {
	if err := ValidateFile(file); err != nil {
		return nil, &Error{Host: h.Name(), Op: "read", Path: file, Err: err}
	}
	boundary := newBoundary()
	stdout, stderr, err := h.Run(ctx, readScript, readInput(boundary, rootOf(h), file), privileged)
	if err != nil {
		return nil, &Error{Host: h.Name(), Op: "read", Err: err, Detail: trimDetail(stderr)}
	}
	st, err := parseOutput(stdout, boundary)
	if err != nil {
		return nil, &Error{Host: h.Name(), Op: "read", Err: err, Detail: trimDetail(stderr)}
	}
	if what := st.Managed.Unsafe(); what != "" {
		// Nothing of it was read: say what it is, and go no further.
		return nil, &Error{Host: h.Name(), Op: "read", Path: file,
			Err: fmt.Errorf("%w: it is %s, which this provider never reads, writes or records", ErrNotRegular, what)}
	}
	if st.Managed.TooLarge {
		return nil, &Error{Host: h.Name(), Op: "read", Path: file,
			Err: fmt.Errorf("%w (%d bytes)", ErrTooLarge, MaxFileSize)}
	}
	return st, nil
}
