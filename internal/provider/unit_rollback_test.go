package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// A create whose steps fail half-way is rolled back: the host is left as
// it was before, byte for byte, and nothing is recorded in state, so the
// next apply is a plain create (not a replacement of a tainted resource).

// noTempDropIns fails when an apply left a temporary drop-in
// (.NAME.XXXXXX) in /etc/sysctl.d.
func (f *fakeFleet) noTempDropIns(name string) error {
	ents, err := os.ReadDir(filepath.Join(f.hosts[name].root, "/etc/sysctl.d"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			return fmt.Errorf("%s: temporary file left behind: /etc/sysctl.d/%s", name, e.Name())
		}
	}
	return nil
}

func TestUnitFailedCreateRollsBack(t *testing.T) {
	vendor := "# vendor default\nkernel.yama.ptrace_scope = 1\n\n" // not what the provider renders
	cases := []struct {
		name  string
		files map[string]string
		tool  string // the tool that fails
		body  string
		match string
	}{
		{
			// The drop-in is written first, then the live write (tee)
			// fails: the original drop-in must come back.
			name:  "live write fails after the drop-in replaced a file",
			files: map[string]string{yama.DefaultFile: vendor},
			tool:  "tee",
			body:  `scope = 2`,
			match: `(?s)Operation failed on h1:22.*set runtime on h1:22 \(/proc/sys/kernel/yama/ptrace_scope\): a step failed.*simulated failure`,
		},
		{
			// No drop-in before: the one written must be removed.
			name:  "live write fails after the drop-in was created",
			tool:  "tee",
			body:  `scope = 2`,
			match: `(?s)Operation failed on h1:22.*set runtime on h1:22`,
		},
		{
			// The override drop-in written for shadowing = "override" is
			// removed too.
			name: "live write fails after an override file was written",
			files: map[string]string{
				yama.DefaultFile:           vendor,
				"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 0\n",
			},
			tool: "tee",
			body: `scope     = 2
  shadowing = "override"`,
			match: `(?s)Operation failed on h1:22.*set runtime on h1:22`,
		},
		{
			// The drop-in's rename fails: nothing was changed, and the
			// temporary file is gone.
			name:  "drop-in rename fails",
			files: map[string]string{yama.DefaultFile: vendor},
			tool:  "mv",
			body:  `scope = 2`,
			match: `(?s)Operation failed on h1:22.*write file on h1:22 \(/etc/sysctl.d/10-ptrace.conf\): a step failed`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeFleet(t)
			f.add("h1", "1\n", c.files)
			before := f.tree("h1")
			cfg := unitConfig(`resource "yama_ptrace_scope" "t" {
  host = "h1"
  %s
}`, c.body)
			unchanged := func() error {
				if err := f.expectTree("h1", before); err != nil {
					return err
				}
				if got := f.file("h1", yama.ProcPath); got != "1\n" {
					return fmt.Errorf("live value %q, want 1", got)
				}
				return f.noTempDropIns("h1")
			}
			f.failTool("h1", c.tool)
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: f.factories(),
				Steps: []resource.TestStep{
					{Config: cfg, ExpectError: wrapped(c.match)},
					{
						// The host is as before, and nothing is in state:
						// the next plan is a create, not a replacement.
						PreConfig: func() {
							if err := unchanged(); err != nil {
								t.Errorf("after the failed create: %v", err)
							}
							f.fixTools("h1")
						},
						Config: cfg,
						ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionCreate),
						}},
						Check: resource.TestCheckResourceAttr(unitRes, "runtime_scope", "2"),
					},
				},
				// The snapshot of the successful create is the host as it
				// was before the failed one.
				CheckDestroy: func(*terraform.State) error { return unchanged() },
			})
		})
	}
}
