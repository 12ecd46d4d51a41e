package yama

import (
	"errors"
	"fmt"
)

// Sentinel errors. The provider maps each to a diagnostic that says what to
// do; here they only say what happened.
var (
	ErrYamaAbsent     = errors.New("the Yama LSM is not enabled: " + ProcPath + " does not exist")
	ErrPermission     = errors.New("permission denied")
	ErrReadOnly       = errors.New("read-only file system")
	ErrLocked         = errors.New("the live value is locked at 3")
	ErrInvalidValue   = errors.New("the kernel rejected the value")
	ErrNoSpace        = errors.New("no space left on device")
	ErrNotRegular     = errors.New("the drop-in path is not a regular file with a single link")
	ErrBusy           = errors.New("another apply holds the host's lock")
	ErrRecord         = errors.New("the original could not be recorded on the host")
	ErrUnreadable     = errors.New("the drop-in exists but cannot be read by the connecting user")
	ErrTooLarge       = errors.New("file is larger than the read limit")
	ErrVerify         = errors.New("the host does not hold the value just written")
	ErrProtocol       = errors.New("unexpected output from the host")
	ErrStepFailed     = errors.New("a step failed")
	ErrTransportError = errors.New("the command could not be run")
)

// Error is a failure on one host.
type Error struct {
	Host string // host:port
	Op   string // "read", "write file", "set runtime", ...
	Path string // the file involved, if any
	// Detail is the host's own message (stderr), trimmed.
	Detail string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s on %s", e.Op, e.Host)
	if e.Path != "" {
		msg += " (" + e.Path + ")"
	}
	msg += ": " + e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }
