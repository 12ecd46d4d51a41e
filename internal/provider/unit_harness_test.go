package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

// Unit tests of the provider's logic (plan prediction, drift, the lock at
// 3, rollback, on_destroy, import) run the real terraform CLI with
// resource.UnitTest, but reach hosts through the provider's seam
// (hostOpener) instead of SSH: each host is a local directory standing in
// for its root, and the real scripts run there with /bin/sh
// (yamatest.LocalHost). No root, no sshd, no TF_ACC. The acceptance tests
// prove the same scripts again over SSH on sandbox hosts.

// fakeFleet is a set of local hosts by name.
type fakeFleet struct {
	t     *testing.T
	mu    sync.Mutex
	hosts map[string]*fakeHost
	opens int // hostOpener calls, i.e. connections asked for
}

// fakeHost is one local host: its root directory and, when set, extra
// environment for its scripts (see failTool).
type fakeHost struct {
	root string
	env  []string
}

func newFakeFleet(t *testing.T) *fakeFleet {
	needTerraform(t)
	return &fakeFleet{t: t, hosts: map[string]*fakeHost{}}
}

// add lays out a host: its live value (scope "" for a kernel without Yama)
// and files by absolute path. It returns the host's root.
func (f *fakeFleet) add(name, scope string, files map[string]string) string {
	f.t.Helper()
	root := yamatest.NewRoot(f.t, scope, files)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[name] = &fakeHost{root: root}
	return root
}

// failTool makes the host's scripts find a stand-in for tool that fails
// (exit 1), as a host whose write step breaks would.
func (f *fakeFleet) failTool(name, tool string) {
	f.t.Helper()
	bin := f.t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho \"$0: simulated failure\" >&2\nexit 1\n"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[name].env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// open is the fleet's hostOpener. An unknown host is unreachable, as a
// host that refuses connections would be.
func (f *fakeFleet) open(cfg sshclient.Config) (yama.Host, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	h, ok := f.hosts[cfg.Host]
	if !ok {
		return nil, &sshclient.Error{Host: hostID(cfg.Host, cfg.Port), Op: "dial", Err: sshclient.ErrUnreachable}
	}
	return namedHost{LocalHost: yamatest.LocalHost{Dir: h.root, Shell: "/bin/sh", Env: h.env}, name: hostID(cfg.Host, cfg.Port)}, nil
}

// namedHost names a local host as an SSH host is named (host:port), which
// the resource uses as its id.
type namedHost struct {
	yamatest.LocalHost
	name string
}

func (h namedHost) Name() string { return h.name }

// factories serves a provider whose hosts are the fleet's.
func (f *fakeFleet) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"yama": providerserver.NewProtocol6WithError(newProvider("unit", f.open)),
	}
}

// file returns a host's file, "" when it does not exist.
func (f *fakeFleet) file(name, p string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.hosts[name].root, p))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

// write changes a host's file behind Terraform's back.
func (f *fakeFleet) write(name, p, content string) {
	f.t.Helper()
	yamatest.WriteFile(f.t, f.hosts[name].root, p, content)
}

// remove deletes a host's file behind Terraform's back.
func (f *fakeFleet) remove(name, p string) {
	f.t.Helper()
	if err := os.Remove(filepath.Join(f.hosts[name].root, p)); err != nil {
		f.t.Fatal(err)
	}
}

// unitConfig is a provider block (no credentials: the fleet needs none)
// followed by the given resources and data sources.
func unitConfig(body string, args ...any) string {
	return "provider \"yama\" {}\n" + fmt.Sprintf(body, args...)
}

// expect checks a host's live value and managed drop-in ("" = absent).
func (f *fakeFleet) expect(name, live, dropIn string) error {
	if got := f.file(name, yama.ProcPath); got != live {
		return fmt.Errorf("%s: live value %q, want %q", name, got, live)
	}
	if got := f.file(name, yama.DefaultFile); got != dropIn {
		return fmt.Errorf("%s: %s holds %q, want %q", name, yama.DefaultFile, got, dropIn)
	}
	return nil
}

// symlink makes the absolute path p on a host a symbolic link to target
// (stored as given: "/dev/null" masks, "../sysctl.conf" resolves inside
// the host's root).
func (f *fakeFleet) symlink(name, p, target string) {
	f.t.Helper()
	yamatest.Symlink(f.t, f.hosts[name].root, p, target)
}

// fixTools undoes failTool: the host's scripts find the real tools again.
func (f *fakeFleet) fixTools(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[name].env = nil
}

// tree renders every file and link under a host's sysctl directories and
// /etc/sysctl.conf, for byte-for-byte comparison of before and after.
func (f *fakeFleet) tree(name string) string {
	f.t.Helper()
	root := f.hosts[name].root
	return describeSysctlTree(f.t, func(p string) string { return filepath.Join(root, p) })
}

// expectTree checks that a host's sysctl files are exactly want (a tree
// taken earlier).
func (f *fakeFleet) expectTree(name, want string) error {
	if got := f.tree(name); got != want {
		return fmt.Errorf("%s: sysctl files:\n%s\nwant:\n%s", name, got, want)
	}
	return nil
}

// known builds plan checks that attributes of addr are planned with these
// known values (attribute names without nesting).
func known(addr string, values map[string]knownvalue.Check) []plancheck.PlanCheck {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]plancheck.PlanCheck, 0, len(names))
	for _, n := range names {
		out = append(out, plancheck.ExpectKnownValue(addr, tfjsonpath.New(n), values[n]))
	}
	return out
}

// wrapped compiles pattern with every space matching any run of blanks,
// as terraform wraps long diagnostics.
func wrapped(pattern string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(pattern, " ", `\s+`))
}
