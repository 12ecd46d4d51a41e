package provider

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// The boot view in private state: the compact form round-trips, and a
// view stored by an earlier version (Go field names, every field present)
// still loads, so an upgrade does not lose the plan-time prediction.
func TestBootViewPrivateState(t *testing.T) {
	view := yama.BootView{Systemd: true, Entries: []sysctld.Entry{
		{Path: "/lib", Kind: sysctld.KindSymlink, Target: "usr/lib"},
		{Path: "/etc/sysctl.d", Kind: sysctld.KindDir},
		{Path: "/etc/sysctl.d/10-ptrace.conf", Data: []byte("kernel.yama.ptrace_scope = 1\n")},
		{Path: "/etc/sysctl.conf", Data: []byte{}},
	}}
	raw, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"systemd":true,"entries":[{"path":"/lib","kind":2,"target":"usr/lib"},{"path":"/etc/sysctl.d","kind":1},` +
		`{"path":"/etc/sysctl.d/10-ptrace.conf","data":"a2VybmVsLnlhbWEucHRyYWNlX3Njb3BlID0gMQo="},{"path":"/etc/sysctl.conf"}]}`
	if string(raw) != want {
		t.Errorf("stored as\n%s\nwant\n%s", raw, want)
	}
	got := viewFromPrivate(raw)
	view.Entries[3].Data = nil // an empty file and a nil Data are the same file
	if got == nil || !reflect.DeepEqual(*got, view) {
		t.Errorf("round trip: %+v", got)
	}

	old := `{"systemd":true,"entries":[{"Path":"/lib","Kind":2,"Target":"usr/lib","Data":null},{"Path":"/etc/sysctl.d","Kind":1,"Target":"","Data":null},` +
		`{"Path":"/etc/sysctl.d/10-ptrace.conf","Kind":0,"Target":"","Data":"a2VybmVsLnlhbWEucHRyYWNlX3Njb3BlID0gMQo="},{"Path":"/etc/sysctl.conf","Kind":0,"Target":"","Data":""}]}`
	got = viewFromPrivate([]byte(old))
	if got == nil || !reflect.DeepEqual(got.Entries[:3], view.Entries[:3]) || got.Entries[3].Path != "/etc/sysctl.conf" || len(got.Entries[3].Data) != 0 {
		t.Errorf("earlier format: %+v", got)
	}
}
