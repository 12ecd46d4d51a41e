package sshclient

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSudoNonInteractiveRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  func(*fakeServer)
		msg  string
	}{
		{"password required", func(s *fakeServer) { s.sudoPassword = "x" }, "a password is required"},
		{"not in sudoers", func(s *fakeServer) { s.sudoDenied = true }, "not in the sudoers file"},
		// Recognised by the missing start marker, not by the words: a host
		// whose sudo speaks German (LANG=de_DE.UTF-8 in its environment).
		{"refusal in another language", func(s *fakeServer) { s.sudoRefusal = "sudo: Ein Passwort ist notwendig\n" }, "Ein Passwort ist notwendig"},
		{"refusal without a message", func(s *fakeServer) { s.sudoRefusal = "\n" }, "sudo exited with status 1 before starting the script"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, key := keyedServer(t, tt.opt)
			cfg := testConfig(t, s, key)
			cfg.Sudo = true
			_, _, err := run(t, mustHost(t, newTestPool(t), cfg), "whoami", nil, true)
			e := checkErr(t, err, ErrSudoRefused)
			if e.Op != "sudo" || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v (op %q)", err, e.Op)
			}
		})
	}
}

// sudoSCommand matches the command line of `sudo -S` running "cat": the
// same as commandLine's but for the random prompt.
var sudoSCommand = regexp.MustCompile("^" + strings.Replace(regexp.QuoteMeta(commandLine("cat", &sudoRun{password: "x", prompt: []byte("PROMPT")})),
	"PROMPT", "yama-sudo-prompt-[0-9a-f]{24}:", 1) + "$")

func TestSudoPasswordFlow(t *testing.T) {
	const pw = "correct horse battery"
	tests := []struct {
		name     string
		server   func(*fakeServer)
		password string
		want     error
		timeout  time.Duration
	}{
		{"prompt, password, ready, stdin", func(s *fakeServer) { s.sudoPassword = pw }, pw, nil, 0},
		{"prompt split across writes", func(s *fakeServer) { s.sudoPassword = pw; s.splitPrompt = true }, pw, nil, 0},
		{"no prompt (NOPASSWD or cached)", func(s *fakeServer) {}, pw, nil, 0},
		{"wrong password", func(s *fakeServer) { s.sudoPassword = "something else" }, pw, ErrSudoPassword, 0},
		{"right password, not in sudoers", func(s *fakeServer) { s.sudoPassword = pw; s.sudoDenied = true }, pw, ErrSudoRefused, 0},
		{"sudo hangs", func(s *fakeServer) { s.sudoHang = true }, pw, ErrSudoTimeout, 3 * time.Second}, // also bounds dial and handshake: room for a loaded machine
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, key := keyedServer(t, tt.server)
			cfg := testConfig(t, s, key)
			cfg.Sudo, cfg.SudoPassword = true, tt.password
			if tt.timeout != 0 {
				cfg.Timeout = tt.timeout
			}
			logs := &logRecorder{}
			h := mustHost(t, newTestPool(t, WithLogger(logs.log)), cfg)

			start := time.Now()
			out, stderr, err := run(t, h, "cat", []byte("stdin for the script\n"), true)
			elapsed := time.Since(start)

			cmds := s.execLog()
			if len(cmds) != 1 || !sudoSCommand.MatchString(cmds[0]) {
				t.Errorf("commands = %q", cmds)
			}
			for where, text := range map[string]string{"stdout": out, "stderr": stderr, "error": errString(err), "command": strings.Join(cmds, "\n"), "logs": logs.String()} {
				if strings.Contains(text, pw) {
					t.Errorf("password leaked into %s: %q", where, text)
				}
				if strings.Contains(text, "yama-sudo-prompt-") && where != "command" {
					t.Errorf("prompt marker in %s: %q", where, text)
				}
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if out != "stdin for the script\n" {
					t.Errorf("stdout = %q: stdin not delivered intact", out)
				}
				if stderr != "" {
					t.Errorf("stderr = %q, want markers stripped", stderr)
				}
				return
			}
			e := checkErr(t, err, tt.want)
			if e.Op != "sudo" {
				t.Errorf("Op = %q", e.Op)
			}
			if elapsed > cfg.Timeout+3*time.Second {
				t.Errorf("took %s", elapsed)
			}
			var exit *ExitError
			if errors.As(err, &exit) {
				t.Errorf("sudo failure reported as script exit: %v", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Once sudo started the script, a failure is the script's, even when its
// message looks like one of sudo's refusals.
func TestSudoScriptFailureIsNotARefusal(t *testing.T) {
	s, key := keyedServer(t)
	cfg := testConfig(t, s, key)
	cfg.Sudo = true
	_, stderr, err := run(t, mustHost(t, newTestPool(t), cfg), "sudo-like failure", nil, true)
	var exit *ExitError
	if errors.Is(err, ErrSudoRefused) || !errors.As(err, &exit) || exit.Status != 1 {
		t.Fatalf("err = %v, want the script's exit status 1", err)
	}
	if strings.Contains(stderr, sudoReady) || !strings.Contains(stderr, "a password is required") {
		t.Errorf("stderr = %q: want the script's message without the start marker", stderr)
	}
}
