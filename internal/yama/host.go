// Package yama reads and applies a host's kernel.yama.ptrace_scope state:
// the live value under /proc/sys and the persistent sysctl.d drop-in.
//
// It talks to a host only through the small Host interface, with constant
// POSIX sh scripts: every piece of user data (paths, file contents, values)
// travels on the script's standard input, never inside a command string.
package yama

import "context"

// Host runs a constant POSIX sh script on a machine.
type Host interface {
	// Name identifies the host in messages, e.g. "10.0.0.5:22".
	Name() string
	// Run executes script with /bin/sh, feeding stdin to it (sshclient
	// sends it in a command line that any login shell passes on). privileged
	// asks for root (through sudo when the connection is configured for
	// it). A non-zero exit status is an error; stdout and stderr are
	// returned in every case so that partial output can be inspected.
	Run(ctx context.Context, script string, stdin []byte, privileged bool) (stdout, stderr []byte, err error)
}

// rootedHost is implemented by test hosts whose filesystem lives under a
// directory prefix. Production hosts never implement it, so the prefix is
// always empty on real machines.
type rootedHost interface {
	Root() string
}

func rootOf(h Host) string {
	if r, ok := h.(rootedHost); ok {
		return r.Root()
	}
	return ""
}
