package yama

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// cannedHost answers every Run with a fixed result, built around the
// boundary the caller sent, to test how failures are classified.
type cannedHost struct {
	runtime string // live value the snapshot reports
	stderr  string
	err     error
	cut     bool // drop the end marker, as a dropped connection would
}

func (h cannedHost) Name() string { return "web1:22" }

func (h cannedHost) Run(_ context.Context, _ string, stdin []byte, _ bool) ([]byte, []byte, error) {
	b, _, _ := strings.Cut(string(stdin), "\n")
	rec := func(tag, kind, path, content, state string) string {
		return b + tag + b + kind + b + path + b + "" + b + content + b + state
	}
	out := rec("runtime", "reg", ProcPath, h.runtime+"\n", "ok") +
		rec("systemd", "missing", SystemdRunDir, "", "none") +
		rec("managed", "missing", DefaultFile, "", "none")
	if !h.cut {
		out += b + "end"
	}
	return []byte(out), []byte(h.stderr), h.err
}

func TestClassifyStepFailures(t *testing.T) {
	exit := errors.New("exit status 6")
	cases := []struct {
		name    string
		host    cannedHost
		want    error
		wantOp  string
		wantErr string
	}{
		{"locked at 3", cannedHost{runtime: "3", stderr: "yama-step runtime\ntee: /proc/sys/kernel/yama/ptrace_scope: Invalid argument\n", err: exit}, ErrLocked, "set runtime", "locked"},
		{"invalid value", cannedHost{runtime: "1", stderr: "yama-step runtime\ntee: /proc/sys/kernel/yama/ptrace_scope: Invalid argument\n", err: exit}, ErrInvalidValue, "set runtime", "rejected"},
		{"no CAP_SYS_PTRACE", cannedHost{runtime: "1", stderr: "yama-step runtime\ntee: /proc/sys/kernel/yama/ptrace_scope: Operation not permitted\n", err: exit}, ErrPermission, "set runtime", "permission"},
		{"not root", cannedHost{runtime: "1", stderr: "yama-step file\nmktemp: failed to create file via template '/etc/sysctl.d/.10-ptrace.conf.XXXXXX': Permission denied\n", err: exit}, ErrPermission, "write file", "Permission denied"},
		{"read-only proc", cannedHost{runtime: "1", stderr: "yama-step runtime\ntee: /proc/sys/kernel/yama/ptrace_scope: Read-only file system\n", err: exit}, ErrReadOnly, "set runtime", "read-only"},
		{"disk full", cannedHost{runtime: "1", stderr: "yama-step file\ncat: write error: No space left on device\n", err: exit}, ErrNoSpace, "write file", "space"},
		{"absent", cannedHost{runtime: "1", stderr: "yama-step runtime\nyama-error absent\n", err: exit}, ErrYamaAbsent, "set runtime", "not enabled"},
		{"unknown", cannedHost{runtime: "1", stderr: "yama-step remove\nrm: odd failure\n", err: exit}, ErrStepFailed, "remove file", "odd failure"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Apply(context.Background(), c.host, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("x\n")), Runtime: scopePtr(1)})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Op != c.wantOp || e.Host != "web1:22" {
				t.Fatalf("err = %#v, want op %q on web1:22", err, c.wantOp)
			}
			if !containsFold(err.Error(), c.wantErr) {
				t.Errorf("message %q lacks %q", err, c.wantErr)
			}
			if st == nil {
				t.Error("no read-back state returned with a step failure")
			}
		})
	}
}

func TestApplyCutShortReturnsNoState(t *testing.T) {
	lost := errors.New("connection lost")
	st, err := Apply(context.Background(), cannedHost{runtime: "1", cut: true, stderr: "yama-step file\n", err: lost}, Change{File: DefaultFile, Runtime: scopePtr(2)})
	if !errors.Is(err, lost) || st != nil {
		t.Fatalf("got %v, %v; want the transport error and no state", st, err)
	}
}

func TestApplyVerifiesReadBack(t *testing.T) {
	// The tool "succeeded" but the host still reports 1: never claim 2.
	_, err := Apply(context.Background(), cannedHost{runtime: "1"}, Change{File: DefaultFile, Runtime: scopePtr(2)})
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("err = %v, want ErrVerify", err)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
