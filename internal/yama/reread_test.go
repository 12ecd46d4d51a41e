package yama

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// cutThenReadHost loses the answer of the first command (the apply) and
// answers later ones (the read-back) with what the host then holds.
type cutThenReadHost struct {
	runtime, file string // what the host holds after the cut
	unreadable    bool
	calls         []bool // privileged, per call
}

func (h *cutThenReadHost) Name() string { return "web1:22" }

func (h *cutThenReadHost) Run(_ context.Context, script string, stdin []byte, privileged bool) ([]byte, []byte, error) {
	h.calls = append(h.calls, privileged)
	if len(h.calls) == 1 {
		return nil, []byte("yama-step file /etc/sysctl.d/10-ptrace.conf\n"), errors.New("ssh: connection lost")
	}
	if script != readScript {
		return nil, nil, errors.New("the read-back must be the read script")
	}
	b, _, _ := strings.Cut(string(stdin), "\n")
	rec := func(tag, kind, path, content, state string) string {
		return b + tag + b + kind + b + path + b + "" + b + content + b + state
	}
	managed := rec("managed", "reg", DefaultFile, h.file, "ok")
	if h.unreadable {
		managed = rec("managed", "reg", DefaultFile, "", "unreadable")
	}
	return []byte(rec("runtime", "reg", ProcPath, h.runtime+"\n", "ok") + managed + b + "end"), nil, nil
}

func TestApplyRereadsAfterLostAnswer(t *testing.T) {
	h := &cutThenReadHost{runtime: "1", file: "kernel.yama.ptrace_scope = 2\n"}
	c := Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("kernel.yama.ptrace_scope = 2\n")), Runtime: scopePtr(2)}
	st, err := Apply(context.Background(), h, c)
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("err = %v, want the transport error", err)
	}
	if st == nil || st.Runtime != 1 || string(st.Managed.Content) != h.file {
		t.Fatalf("state = %+v, want what the host holds after the cut (live 1, new drop-in)", st)
	}
	if len(h.calls) != 2 || h.calls[1] {
		t.Errorf("calls (privileged) = %v, want the apply then one unprivileged read", h.calls)
	}

	// A drop-in the login user cannot read: the state is unknown.
	h = &cutThenReadHost{runtime: "1", unreadable: true}
	if st, err := Apply(context.Background(), h, c); err == nil || st != nil {
		t.Errorf("unreadable drop-in: state %+v, err %v; want no state and the error", st, err)
	}
}
