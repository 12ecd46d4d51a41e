package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// Updates: a failed update is not rolled back but recorded truthfully,
// and override files follow the shadowing policy.

// An update whose live write fails keeps what the host holds in state
// (the new drop-in, the old live value), so the next plan shows exactly
// the live value as still to change, and one more apply converges.
func TestUnitFailedUpdateRecordsHost(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	scope0 := unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 0
}`)
	rendered0 := "kernel.yama.ptrace_scope = 0\n"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				PreConfig:   func() { f.failTool("h1", "tee") },
				Config:      scope0,
				ExpectError: wrapped(`(?s)Operation failed on h1:22.*set runtime on h1:22`),
			},
			{
				// Not rolled back: the drop-in is the new one, the live
				// value the old one.
				PreConfig: func() {
					if err := f.expect("h1", "2\n", rendered0); err != nil {
						t.Error(err)
					}
					f.fixTools("h1")
				},
				Config: scope0,
				// The state holds the drop-in already: only the live value
				// is planned to change (file_content stays as recorded).
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"runtime_scope": knownvalue.Int64Exact(0),
					"file_content":  knownvalue.StringExact(rendered0),
				}),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(unitRes, "runtime_scope", "0"),
					hostHoldsUnit(f, "0\n", rendered0),
				),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}

// Switching shadowing from "override" to "warn" removes the override
// file this resource wrote; the shadow then shows again in shadowed_by.
func TestUnitOverrideRemovedWhenPolicyChanges(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 0\n"})
	const over = "/etc/sysctl.d/zz-yama-ptrace-scope.conf"
	cfg := func(policy string) string {
		return unitConfig(`resource "yama_ptrace_scope" "t" {
  host      = "h1"
  scope     = 2
  shadowing = %q
}`, policy)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg("override"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(unitRes, "boot_scope", "2"),
					resource.TestCheckResourceAttrSet(unitRes, "override_files."+over),
				),
			},
			{
				Config: cfg("warn"),
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"override_files":  knownvalue.MapExact(map[string]knownvalue.Check{}),
					"boot_scope":      knownvalue.Int64Exact(0),
					"shadowed_by":     shadows("/etc/sysctl.d/99-zz.conf:1"),
					"reboot_required": knownvalue.Bool(true),
				}),
				Check: func(*terraform.State) error {
					if got := f.file("h1", over); got != "" {
						return fmt.Errorf("override file left behind: %q", got)
					}
					return f.expect("h1", "2\n", rendered2)
				},
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}
