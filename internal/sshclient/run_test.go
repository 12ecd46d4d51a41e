package sshclient

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRunStdinAndExit(t *testing.T) {
	s, key := keyedServer(t)
	h := mustHost(t, newTestPool(t), testConfig(t, s, key))

	out, _, err := run(t, h, "cat", []byte("user data; rm -rf / 'quoted'\n"), false)
	if err != nil || out != "user data; rm -rf / 'quoted'\n" {
		t.Fatalf("cat: %q, %v", out, err)
	}
	if got := s.execLog()[0]; got != plainCommand("cat") {
		t.Errorf("command = %q: user data must go on stdin only", got)
	}

	_, stderr, err := run(t, h, "exit 3", nil, false)
	e := checkErr(t, err, err) // *Error
	var exit *ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("want *ExitError, got %v", err)
	}
	if exit.Status != 3 || exit.Stderr != "failing on purpose" || stderr != "failing on purpose\n" || e.Op != "exec" {
		t.Errorf("exit = %+v, stderr %q, op %q", exit, stderr, e.Op)
	}
	if errors.Is(err, ErrSudoRefused) {
		t.Errorf("a failing script is not a sudo refusal")
	}
}

// A NUL cannot pass through the host's command substitution; single
// quotes and newlines can (the script travels base64-encoded).
func TestRunRejectsNULScript(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	h := mustHost(t, p, testConfig(t, s, key))
	_, _, err := run(t, h, "a\x00b", nil, true)
	checkErr(t, err, ErrBadScript)
	if st := p.Stats(); st.Dials != 0 {
		t.Errorf("dialed for a rejected script: %+v", st)
	}
}

func TestCommandShapes(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	base := testConfig(t, s, key)
	sudo := base
	sudo.Sudo = true

	tests := []struct {
		name       string
		cfg        Config
		privileged bool
		want       string
		wantOut    string
	}{
		{"plain", base, false, plainCommand("whoami"), "alice\n"},
		{"privileged without sudo", base, true, plainCommand("whoami"), "alice\n"},
		{"sudo config, unprivileged script", sudo, false, plainCommand("whoami"), "alice\n"},
		{"sudo -n", sudo, true, commandLine("whoami", newSudoRun("")), "root\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(s.execLog())
			out, _, err := run(t, mustHost(t, p, tt.cfg), "whoami", nil, tt.privileged)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.execLog()[n]; got != tt.want {
				t.Errorf("command = %q, want %q", got, tt.want)
			}
			if out != tt.wantOut {
				t.Errorf("stdout = %q", out)
			}
		})
	}
}

func TestStderrWatcherSplitMarkers(t *testing.T) {
	sr := newSudoRun("pw-pw-pw")
	w := newStderrWatcher(sr, newOutputBudget())
	stream := loginMarker + "\nlecture\n" + string(sr.prompt) + "Sorry, try again.\n" + string(sr.prompt) + "x"
	for i := 0; i < len(stream); i++ { // one byte per write
		w.Write([]byte{stream[i]})
	}
	if got := []event{<-w.events, <-w.events, <-w.events}; got[0] != evLogin || got[1] != evPrompt || got[2] != evPrompt {
		t.Errorf("events = %v", got)
	}

	w = newStderrWatcher(sr, newOutputBudget())
	stream = "motd\n" + loginMarker + "\n" + string(sr.prompt) + sudoReady + "\nscript says " + string(sr.prompt) + "\n"
	for i := 0; i < len(stream); i += 5 {
		w.Write([]byte(stream[i:min(i+5, len(stream))]))
	}
	if a, b, c := <-w.events, <-w.events, <-w.events; a != evLogin || b != evPrompt || c != evReady {
		t.Errorf("events = %v %v %v", a, b, c)
	}
	select {
	case ev := <-w.events:
		t.Errorf("event after ready: %v", ev)
	default:
	}
	stderr, _ := w.result()
	if got := string(sr.clean(stderr, w.readySeen())); got != "motd\nscript says \n" {
		t.Errorf("cleaned stderr = %q", got)
	}
	if strings.Contains(string(sr.clean([]byte("oops pw-pw-pw"), false)), "pw-pw-pw") {
		t.Errorf("password not redacted")
	}
}

// command_timeout ends a command that never finishes, and ctx ends one
// whoever cancels it; both stop the remote command (the fake server sees
// its channel closed).
func TestCommandTimeoutAndCancel(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.CommandTimeout = 300 * time.Millisecond
	h := mustHost(t, newTestPool(t), cfg)
	start := time.Now()
	_, _, err := run(t, h, "hang", nil, false)
	checkErr(t, err, ErrCommandTimeout)
	if d := time.Since(start); d > 3*time.Second || !strings.Contains(err.Error(), "300ms") {
		t.Errorf("after %s: %v", d, err)
	}

	cfg.CommandTimeout = 0 // the default: minutes
	h = mustHost(t, newTestPool(t), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, _, err = h.Run(ctx, "hang", nil, false)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("cancelled run: %v after %s", err, time.Since(start))
	}
}

// Output beyond MaxOutput stops the command with ErrOutputLimit and
// returns no truncated answer.
func TestOutputLimit(t *testing.T) {
	s, key := keyedServer(t)
	h := mustHost(t, newTestPool(t), testConfig(t, s, key))
	stdout, _, err := run(t, h, "flood", nil, false)
	checkErr(t, err, ErrOutputLimit)
	if len(stdout) != 0 {
		t.Errorf("%d bytes of stdout returned with the error", len(stdout))
	}
}

// A login shell that does not run our command (nologin) is told apart
// from a failing script.
func TestLoginShellRefusal(t *testing.T) {
	s, key := keyedServer(t, func(s *fakeServer) {
		s.loginShell = func(e *execEnv) int {
			io.WriteString(e.ch, "This account is currently not available.\n")
			return 1
		}
	})
	_, _, err := run(t, mustHost(t, newTestPool(t), testConfig(t, s, key)), "echo hello", nil, false)
	checkErr(t, err, ErrLoginShell)
	if !strings.Contains(err.Error(), "currently not available") {
		t.Errorf("err = %v", err)
	}
}
