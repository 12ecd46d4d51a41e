package sshclient

import (
	"errors"
	"strings"
	"testing"
)

func TestRunStdinAndExit(t *testing.T) {
	s, key := keyedServer(t)
	h := mustHost(t, newTestPool(t), testConfig(t, s, key))

	out, _, err := run(t, h, "cat", []byte("user data; rm -rf / 'quoted'\n"), false)
	if err != nil || out != "user data; rm -rf / 'quoted'\n" {
		t.Fatalf("cat: %q, %v", out, err)
	}
	if got := s.execLog()[0]; got != "sh -c 'cat'" {
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

func TestRunRejectsQuotedScript(t *testing.T) {
	s, key := keyedServer(t)
	p := newTestPool(t)
	h := mustHost(t, p, testConfig(t, s, key))
	for _, script := range []string{"echo 'x'", "a\x00b"} {
		_, _, err := run(t, h, script, nil, true)
		checkErr(t, err, ErrBadScript)
	}
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
		{"plain", base, false, "sh -c 'whoami'", "alice\n"},
		{"privileged without sudo", base, true, "sh -c 'whoami'", "alice\n"},
		{"sudo config, unprivileged script", sudo, false, "sh -c 'whoami'", "alice\n"},
		{"sudo -n", sudo, true, "sudo -n -- sh -c 'echo yama-sudo-ready >&2; whoami'", "root\n"},
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
	w := newStderrWatcher(sr)
	stream := "lecture\n" + string(sr.prompt) + "Sorry, try again.\n" + string(sr.prompt) + "x"
	for i := 0; i < len(stream); i++ { // one byte per write
		w.Write([]byte{stream[i]})
	}
	if got := []sudoEvent{<-w.events, <-w.events}; got[0] != evPrompt || got[1] != evPrompt {
		t.Errorf("events = %v", got)
	}

	w = newStderrWatcher(sr)
	stream = string(sr.prompt) + sudoReady + "\nscript says " + string(sr.prompt) + "\n"
	for i := 0; i < len(stream); i += 5 {
		w.Write([]byte(stream[i:min(i+5, len(stream))]))
	}
	if a, b := <-w.events, <-w.events; a != evPrompt || b != evReady {
		t.Errorf("events = %v %v", a, b)
	}
	select {
	case ev := <-w.events:
		t.Errorf("event after ready: %v", ev)
	default:
	}
	if got := string(sr.clean(w.bytes(), w.readySeen())); got != "script says \n" {
		t.Errorf("cleaned stderr = %q", got)
	}
	if strings.Contains(string(sr.clean([]byte("oops pw-pw-pw"), false)), "pw-pw-pw") {
		t.Errorf("password not redacted")
	}
}
