package provider

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// The boot view in private state: the compact form (one array, contents
// as text) round-trips every entry kind, and the views stored by earlier
// builds (an object with base64 contents; before that, Go field names)
// still load, so an upgrade does not lose the plan-time prediction.
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
	const want = `[1,["l/lib","usr/lib"],["d/etc/sysctl.d"],["f/etc/sysctl.d/10-ptrace.conf","kernel.yama.ptrace_scope = 1\n"],["f/etc/sysctl.conf"]]`
	if string(raw) != want {
		t.Errorf("stored as\n%s\nwant\n%s", raw, want)
	}
	const object = `{"systemd":true,"entries":[{"path":"/lib","kind":2,"target":"usr/lib"},{"path":"/etc/sysctl.d","kind":1},` +
		`{"path":"/etc/sysctl.d/10-ptrace.conf","data":"a2VybmVsLnlhbWEucHRyYWNlX3Njb3BlID0gMQo="},{"path":"/etc/sysctl.conf"}]}`
	if len(raw)*10 > len(object)*6 {
		t.Errorf("compact form is %d bytes, the object form %d: want at most 60%%", len(raw), len(object))
	}
	if got := viewFromPrivate([]byte(object)); got == nil || !reflect.DeepEqual(*got, withoutEmptyData(view)) {
		t.Errorf("object form of earlier builds: %+v", got)
	}
	got := viewFromPrivate(raw)
	if got == nil || !reflect.DeepEqual(*got, withoutEmptyData(view)) {
		t.Errorf("round trip: %+v", got)
	}

	old := `{"systemd":true,"entries":[{"Path":"/lib","Kind":2,"Target":"usr/lib","Data":null},{"Path":"/etc/sysctl.d","Kind":1,"Target":"","Data":null},` +
		`{"Path":"/etc/sysctl.d/10-ptrace.conf","Kind":0,"Target":"","Data":"a2VybmVsLnlhbWEucHRyYWNlX3Njb3BlID0gMQo="},{"Path":"/etc/sysctl.conf","Kind":0,"Target":"","Data":""}]}`
	got = viewFromPrivate([]byte(old))
	if got == nil || !reflect.DeepEqual(got.Entries[:3], view.Entries[:3]) || got.Entries[3].Path != "/etc/sysctl.conf" || len(got.Entries[3].Data) != 0 {
		t.Errorf("earlier format: %+v", got)
	}
}

// withoutEmptyData: an empty file and a nil Data are the same file.
func withoutEmptyData(v yama.BootView) yama.BootView {
	out := yama.BootView{Systemd: v.Systemd, Entries: append([]sysctld.Entry(nil), v.Entries...)}
	for i := range out.Entries {
		if len(out.Entries[i].Data) == 0 {
			out.Entries[i].Data = nil
		}
	}
	return out
}

// Every kind, and contents that are not text, survive the compact form;
// what is not a view is refused (the plan then reads no view: unknown).
func TestBootViewCompactKinds(t *testing.T) {
	view := yama.BootView{Entries: []sysctld.Entry{
		{Path: "/etc/sysctl.d/a.conf", Data: []byte("kernel.yama.ptrace_scope = 2 # \"quoted\" <&>\n\n\n")},
		{Path: "/etc/sysctl.d/b.conf", Data: []byte{0xff, 0xfe, '\n', 0}},
		{Path: "/etc/sysctl.d/c.conf", Kind: sysctld.KindSymlink, Target: "/dev/null"},
		{Path: "/etc/sysctl.d/d.conf", Kind: sysctld.KindDevice},
		{Path: "/etc/sysctl.d/e.conf", Kind: sysctld.KindOther},
		{Path: "/run/sysctl.d", Kind: sysctld.KindDir},
	}}
	raw, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewFromPrivate(raw); got == nil || !reflect.DeepEqual(*got, view) {
		t.Errorf("round trip of\n%s\ngave %+v", raw, got)
	}
	for _, bad := range []string{`[]`, `[0,["x/etc"]]`, `[0,["d/etc","payload"]]`, `[0,["b/x","!!"]]`, `[0,[]]`, `[0,"f/x"]`, `["yes"]`} {
		if got := viewFromPrivate([]byte(bad)); got != nil {
			t.Errorf("%s loaded as %+v, want refused", bad, got)
		}
	}
}
