package provider

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// downFleet is a fake fleet whose hosts can go down: a down host's
// commands fail as an SSH connection to it that is refused does.
type downFleet struct {
	*fakeFleet
	mu   sync.Mutex
	down map[string]bool
}

type downHost struct{ name string }

func (h downHost) Name() string { return h.name }
func (h downHost) Run(context.Context, string, []byte, bool) ([]byte, []byte, error) {
	return nil, nil, &sshclient.Error{Host: h.name, Op: "connect",
		Err: fmt.Errorf("%w: dial tcp %s: connect: connection refused", sshclient.ErrUnreachable, h.name)}
}

func (d *downFleet) set(name string, down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down[name] = down
}

func (d *downFleet) open(cfg sshclient.Config) (yama.Host, error) {
	d.mu.Lock()
	down := d.down[cfg.Host]
	d.mu.Unlock()
	if down {
		return downHost{name: hostID(cfg.Host, cfg.Port)}, nil
	}
	return d.fakeFleet.open(cfg)
}

func (d *downFleet) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"yama": providerserver.NewProtocol6WithError(newProvider("unit", d.open)),
	}
}

func unreachableConfig(mode string) string {
	p := "provider \"yama\" {}\n"
	if mode != "" {
		p = fmt.Sprintf("provider \"yama\" {\n  on_unreachable = %q\n}\n", mode)
	}
	for _, h := range []string{"h1", "h2"} {
		p += fmt.Sprintf(`
resource "yama_ptrace_scope" %[1]q {
  host  = %[1]q
  scope = 2
}
data "yama_ptrace_scope" %[1]q {
  host       = %[1]q
  depends_on = [yama_ptrace_scope.%[1]s]
}
`, h)
	}
	return p
}

// With on_unreachable = "warn", a host that is down keeps its state and
// its data source says reachable = false, and the rest of the fleet is
// planned and applied; with the default, the plan fails.
func TestUnitOnUnreachableWarn(t *testing.T) {
	d := &downFleet{fakeFleet: newFakeFleet(t), down: map[string]bool{}}
	d.add("h1", "1\n", nil)
	d.add("h2", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		Steps: []resource.TestStep{
			{Config: unreachableConfig("warn"), Check: resource.TestCheckResourceAttr("data.yama_ptrace_scope.h2", "reachable", "true")},
			{
				// The default: one dead host fails the plan.
				PreConfig:   func() { d.set("h2", true) },
				Config:      unreachableConfig(""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)h2:22.*unreachable`),
			},
			{
				// warn: h1's drift is planned and applied; h2 keeps its state.
				PreConfig: func() { d.write("h1", yama.ProcPath, "0\n") },
				Config:    unreachableConfig("warn"),
				Check: resource.ComposeTestCheckFunc(
					func(*terraform.State) error { return d.expect("h1", "2\n", rendered2) },
					resource.TestCheckResourceAttr("yama_ptrace_scope.h2", "runtime_scope", "2"),
					resource.TestCheckResourceAttr("data.yama_ptrace_scope.h2", "reachable", "false"),
					resource.TestCheckNoResourceAttr("data.yama_ptrace_scope.h2", "scope"),
					resource.TestCheckNoResourceAttr("data.yama_ptrace_scope.h2", "available"),
					resource.TestCheckResourceAttr("data.yama_ptrace_scope.h1", "reachable", "true"),
					resource.TestCheckResourceAttr("data.yama_ptrace_scope.h1", "scope", "2"),
				),
			},
			{
				PreConfig: func() { d.set("h2", false) },
				Config:    unreachableConfig("warn"),
				Check:     resource.TestCheckResourceAttr("data.yama_ptrace_scope.h2", "reachable", "true"),
			},
		},
	})
}

// Creating (or changing) a host that is down fails, for that host only,
// even with on_unreachable = "warn".
func TestUnitOnUnreachableCreateFails(t *testing.T) {
	d := &downFleet{fakeFleet: newFakeFleet(t), down: map[string]bool{"h2": true}}
	d.add("h1", "1\n", nil)
	d.add("h2", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: d.factories(),
		Steps: []resource.TestStep{
			{
				Config: `provider "yama" {
  on_unreachable = "warn"
}
resource "yama_ptrace_scope" "h1" {
  host  = "h1"
  scope = 2
}
resource "yama_ptrace_scope" "h2" {
  host  = "h2"
  scope = 2
}`,
				ExpectError: regexp.MustCompile(`(?s)h2:22.*unreachable`),
			},
			{
				// h1 was created all the same: it is in state and converged.
				Config: `provider "yama" {
  on_unreachable = "warn"
}
resource "yama_ptrace_scope" "h1" {
  host  = "h1"
  scope = 2
}`,
				PlanOnly: true,
				Check:    func(*terraform.State) error { return d.expect("h1", "2\n", rendered2) },
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if got := d.file("h1", yama.ProcPath); got != "1\n" {
				return fmt.Errorf("h1: live value %q after destroy, want 1 (h1 was created despite h2)", got)
			}
			return nil
		},
	})
}
