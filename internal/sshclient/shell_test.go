package sshclient

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// loginShells are the shells a host may give the login user, as sshd runs
// them: `<shell> -c <command line>`. busybox needs to be run as "sh".
var loginShells = []string{"bash", "dash", "zsh", "fish", "tcsh", "csh", "mksh", "busybox"}

// binShells are the shells a host's /bin/sh may be.
var binShells = []string{"dash", "bash", "busybox", "mksh"}

// shellPath returns a path that runs shell (busybox as its sh applet, via
// a symlink named sh in dir), or "" when the shell is not installed.
func shellPath(t *testing.T, shell, dir string) string {
	p, err := exec.LookPath(shell)
	if err != nil {
		return ""
	}
	if shell != "busybox" {
		return p
	}
	link := filepath.Join(dir, "sh")
	if err := os.Symlink(p, link); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	return link
}

// hostileScript has everything that once broke the command line: single
// and double quotes, newlines, `!` (csh history), `$`, backslashes and
// backquotes, and it reads stdin line by line.
const hostileScript = `# a comment with 'quotes' and "doubles"
x='single $HOME \n' ; y="double !! \\ $x" ; z='` + "`" + `backquote` + "`" + `'
IFS= read -r a
IFS= read -r b
printf '%s|%s|%s\n' "$a" "$b" "$x"
printf 'to stderr!\n' >&2
exit 3
`

// TestCommandLineUnderEveryShell runs the command line as sshd would,
// through every login shell, with every common /bin/sh: the script must
// arrive byte for byte, read its stdin, and its output, stderr and exit
// status must come back. It needs no sshd: `<shell> -c <line>` is exactly
// what sshd executes.
func TestCommandLineUnderEveryShell(t *testing.T) {
	for _, bin := range binShells {
		binDir := t.TempDir()
		sh := shellPath(t, bin, t.TempDir())
		if sh == "" {
			t.Logf("skipping /bin/sh = %s: not installed", bin)
			continue
		}
		// The command line calls sh by name: this PATH makes it bin.
		if err := os.Symlink(sh, filepath.Join(binDir, "sh")); err != nil {
			t.Fatal(err)
		}
		path := binDir + ":" + os.Getenv("PATH")
		for _, login := range loginShells {
			t.Run(login+"/"+bin, func(t *testing.T) {
				shell := shellPath(t, login, t.TempDir())
				if shell == "" {
					t.Skipf("%s is not installed (scripts/deps.sh installs it)", login)
				}
				line := plainCommand(hostileScript)
				if strings.ContainsAny(line, "\n!\\`") {
					t.Fatalf("command line holds a character some login shell interprets: %q", line)
				}
				cmd := exec.Command(shell, "-c", line)
				cmd.Env = []string{"PATH=" + path, "HOME=" + t.TempDir(), "LC_ALL=C"}
				cmd.Stdin = bytes.NewReader(stdinFor([]byte("first line 'q' $X\nsecond\n")))
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 3 {
					t.Fatalf("exit = %v, want status 3\nstderr: %s", err, stderr.String())
				}
				if got, want := stdout.String(), "first line 'q' $X|second|single $HOME \\n\n"; got != want {
					t.Errorf("stdout = %q, want %q", got, want)
				}
				w := newStderrWatcher(nil, newOutputBudget())
				w.Write(stderr.Bytes())
				rest, lost := w.result()
				if !w.loginSeen() || lost || string(rest) != "to stderr!\n" {
					t.Errorf("stderr = %q (login marker %v, input lost %v), want the script's line only", stderr.String(), w.loginSeen(), lost)
				}
			})
		}
	}
}

// The wrapper that sudo runs puts the caller's locale back (sudo itself
// ran under LC_ALL=C) and says it started.
func TestSudoWrapperRestoresLocale(t *testing.T) {
	for _, tc := range []struct{ callerLCAll, want string }{{"de_DE.UTF-8", "de_DE.UTF-8"}, {"", "unset"}} {
		cmd := exec.Command("sh", "-c", sudoWrapperHead+wrapper, "yama", `echo "${LC_ALL-unset}"`, tc.callerLCAll)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
		cmd.Stdin = strings.NewReader(stdinMarker + "\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %s", err, stderr.String())
		}
		if got := strings.TrimSpace(stdout.String()); got != tc.want {
			t.Errorf("caller's LC_ALL %q: script sees %q", tc.callerLCAll, got)
		}
		if !strings.HasPrefix(stderr.String(), sudoReady+"\n") {
			t.Errorf("stderr = %q, want the ready marker first", stderr.String())
		}
	}
}

// The wrapper refuses to run the script when its stdin does not start with
// our marker line: a login file read it.
func TestWrapperNoticesConsumedInput(t *testing.T) {
	for name, stdin := range map[string]string{"all read": "", "first line read": "B\nR\n"} {
		cmd := exec.Command("sh", "-c", wrapper, "yama", "echo script ran")
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 90 || stdout.Len() != 0 || stderr.String() != inputLost+"\n" {
			t.Errorf("%s: err %v, stdout %q, stderr %q; want exit 90 and %s only", name, err, stdout.String(), stderr.String(), inputLost)
		}
	}
}

// The wrapper is POSIX sh that shellcheck accepts, like the scripts it
// runs (scripts/lint.sh checks those).
func TestWrapperPassesShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed (scripts/lint.sh installs it)")
	}
	for name, text := range map[string]string{"wrapper": wrapper, "sudo wrapper": sudoWrapperHead + wrapper} {
		cmd := exec.Command(sc, "-s", "sh", "-")
		cmd.Stdin = strings.NewReader("#!/bin/sh\n" + text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
