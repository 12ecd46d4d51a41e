package sshclient

import "encoding/base64"

// The command line sent to the host, and what it prints around the script.
//
// sshd runs every command through the login user's shell, as
// `<login shell> -c <command line>`, and that shell may be bash, dash, zsh,
// fish, tcsh/csh, mksh, busybox sh or anything else. So the command line is
// one line that all of them pass unchanged to /bin/sh: `sh -c '...'`, whose
// single-quoted text holds no newline (csh rejects one), no `!` (csh
// history), no backslash (fish) and no single quote; everything else in it
// is literal to every one of those shells. The wrapper below and the script
// travel base64-encoded inside it, as one blob (the base64 alphabet is
// literal in every shell), which /bin/sh decodes with one `base64 -d` and
// splits at splitMarker. They are constants: user data never travels on
// the command line, only on stdin.
//
// The line is, for an unprivileged run:
//
//	sh -c 'echo yama-login >&2; B=$(echo <blob> | base64 -d); set -- "${B#*yama-split}"; eval "${B%%yama-split*}"'
//
// and for sudo (`-n`, or `-S -p <random prompt>` with a password):
//
//	sh -c 'echo yama-login >&2; B=$(echo <blob> | base64 -d); exec env LC_ALL=C sudo -n -- sh -c "${B%%yama-split*}" yama "${B#*yama-split}" "${LC_ALL-}"'
//
// What each part proves:
//
//   - loginMarker, printed first: the login shell ran our command. A run
//     that fails without it never reached /bin/sh: the account's shell is
//     nologin, /bin/false or not a shell (ErrLoginShell).
//   - sudo runs in the C locale, so that its own messages (requiretty,
//     "a password is required") can be recognised; the wrapper puts the
//     caller's LC_ALL back before the script runs. `env` not finding sudo
//     exits 127 (ErrSudoMissing).
//   - sudoReady (sudo only): sudo accepted and started the wrapper; after
//     it, stdin belongs to the script.
//   - stdinMarker: the first line of stdin. The wrapper reads it before
//     the script; anything else there means a login file (~/.bashrc and
//     the like) read the command's input, and the wrapper says so with
//     inputLost and exits 90 (ErrInputConsumed).
//   - aliveMarker: the wrapper runs the script in the background and
//     writes this line to stderr every second. When the client gives up
//     (command_timeout, cancellation, too much output) it closes the
//     channel; the next write then fails and the wrapper kills its whole
//     process group. That is what stops a hung script where sshd ignores
//     the client's signal request: OpenSSH refuses signals to root's
//     sessions ("session signalling requires privilege separation") and
//     before 7.9, and sudo runs the script as root, out of the login
//     user's reach.
const (
	loginMarker = "yama-login"
	splitMarker = "yama-split"
	stdinMarker = "yama-stdin"
	inputLost   = "yama-input-lost"
	aliveMarker = "yama-alive"
)

// wrapper runs between /bin/sh and the script, with the script as $1. The
// script runs in a subshell (eval: no new sh to start), with no positional
// parameters; its stdin is the rest of stdin after stdinMarker, and its
// exit status is the wrapper's. Every line is POSIX sh, checked with dash,
// bash, busybox sh and mksh as /bin/sh (TestCommandLineUnderEveryShell).
// The keepalive is killed with KILL: mksh defers TERM while a subshell
// waits for sleep.
const wrapper = `IFS= read -r yama_l || yama_l=
if [ "$yama_l" != ` + stdinMarker + ` ]; then echo ` + inputLost + ` >&2; exit 90; fi
yama_s=$1
unset B yama_l
exec 3<&0
( set --; eval "$yama_s" ) <&3 3<&- &
yama_p=$!
exec 3<&-
( trap '' PIPE; while sleep 1 >/dev/null 2>&1; do echo ` + aliveMarker + ` >&2 2>/dev/null || kill -s KILL 0; done ) </dev/null >/dev/null &
yama_w=$!
wait "$yama_p"
yama_r=$?
kill -s KILL "$yama_w" 2>/dev/null
exit "$yama_r"
`

// sudoWrapperHead starts the wrapper that sudo runs ($2 is the caller's
// LC_ALL): the start marker, then the caller's locale back (sudo itself
// ran under LC_ALL=C).
const sudoWrapperHead = `echo ` + sudoReady + ` >&2
if [ -n "$2" ]; then LC_ALL=$2; export LC_ALL; else unset LC_ALL; fi
`

// commandLine builds the line sent in the exec request (see above).
func commandLine(script string, sudo *sudoRun) string {
	w := wrapper
	if sudo != nil {
		w = sudoWrapperHead + wrapper
	}
	blob := base64.StdEncoding.EncodeToString([]byte(w + splitMarker + script))
	head := `sh -c 'echo ` + loginMarker + ` >&2; B=$(echo ` + blob + ` | base64 -d); `
	if sudo == nil {
		return head + `set -- "${B#*` + splitMarker + `}"; eval "${B%%` + splitMarker + `*}"'`
	}
	return head + `exec env LC_ALL=C ` + sudo.argv() + ` -- sh -c "${B%%` + splitMarker + `*}" yama "${B#*` + splitMarker + `}" "${LC_ALL-}"'`
}

// stdinFor is what the command reads on stdin: the marker line the
// wrapper checks, then the caller's data.
func stdinFor(data []byte) []byte {
	out := make([]byte, 0, len(stdinMarker)+1+len(data))
	out = append(out, stdinMarker+"\n"...)
	return append(out, data...)
}
