package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// The lock at 3. The stand-in Yama file does not enforce it (the kernel
// does); what is tested here is the provider refusing at plan time, before
// anything is written, and the apply_runtime = false way out.

// A host whose live value is 3 cannot be asked for 1: the plan fails with
// the remedy, even when the drop-in's content is not known until apply
// (the lock check needs only scope and apply_runtime), and nothing is
// written (the stand-in file would have accepted the write).
func TestUnitLockedHostRefusedAtPlan(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "3\n", nil)
	before := f.tree("h1")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host    = "h1"
  scope   = 1
  comment = "set at ${timestamp()}"
}`),
				PlanOnly:    true,
				ExpectError: wrapped(`(?s)ptrace_scope is locked at 3 on h1:22.*cannot be set to 1 \(restricted\).*apply_runtime = false`),
			},
			{
				// Not only in a plan: an apply is refused at its plan too.
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 0
}`),
				ExpectError: regexp.MustCompile(`ptrace_scope is locked at 3 on h1:22`),
			},
		},
	})
	if err := f.expect("h1", "3\n", ""); err != nil {
		t.Error(err)
	}
	if err := f.expectTree("h1", before); err != nil {
		t.Error(err)
	}
}

// With apply_runtime = false the locked host is allowed: only the drop-in
// is written, the live value stays 3 (runtime_scope and mode say so in the
// plan already), and reboot_required is true.
func TestUnitLockedHostPersistOnly(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "3\n", nil)
	cfg := unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 1
  apply_runtime = false
}`)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: known(unitRes, map[string]knownvalue.Check{
					"runtime_scope":   knownvalue.Int64Exact(3),
					"mode":            knownvalue.StringExact("no-attach"),
					"file_content":    knownvalue.StringExact("kernel.yama.ptrace_scope = 1\n"),
					"boot_scope":      knownvalue.Int64Exact(1),
					"reboot_required": knownvalue.Bool(true),
				}),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(unitRes, "reboot_required", "true"),
				hostHoldsUnit(f, "3\n", "kernel.yama.ptrace_scope = 1\n"),
			),
		}},
		// restore: the drop-in goes away; the live value was 3 before too.
		CheckDestroy: hostHoldsUnit(f, "3\n", ""),
	})
}

// scope = 3 plans (with a warning, not asserted here) and sets the live
// value; afterwards the host is locked, so a lower scope is refused at
// plan time, and the persist-only way out works on the existing resource.
func TestUnitScopeThreeThenLocked(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	three := unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 3
}`)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: three,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: known(unitRes, map[string]knownvalue.Check{
					"runtime_scope":   knownvalue.Int64Exact(3),
					"mode":            knownvalue.StringExact("no-attach"),
					"boot_scope":      knownvalue.Int64Exact(3),
					"reboot_required": knownvalue.Bool(false),
				})},
				Check: hostHoldsUnit(f, "3\n", "kernel.yama.ptrace_scope = 3\n"),
			},
			{
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
}`),
				PlanOnly:    true, // refused by the plan, not by the host
				ExpectError: regexp.MustCompile(`ptrace_scope is locked at 3 on h1:22`),
			},
			{
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 2
  apply_runtime = false
}`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(known(unitRes, map[string]knownvalue.Check{
					"runtime_scope":   knownvalue.Int64Exact(3),
					"boot_scope":      knownvalue.Int64Exact(2),
					"reboot_required": knownvalue.Bool(true),
				}), plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionUpdate))},
				Check: hostHoldsUnit(f, "3\n", "kernel.yama.ptrace_scope = 2\n"),
			},
		},
		// restore: the drop-in (none before) is removed; the live value
		// stays 3, as the kernel would keep it.
		CheckDestroy: hostHoldsUnit(f, "3\n", ""),
	})
}

// A host that became 3 behind Terraform's back while the configuration
// still asks for the value in state: the plan only warns (so destroy and
// other hosts are not blocked), the apply refuses the live write and
// leaves the drop-in as it was, and destroy still works.
func TestUnitLockedBehindTerraformsBack(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	cfg := scope2Config()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: cfg, Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				PreConfig: func() {
					f.write("h1", "/proc/sys/kernel/yama/ptrace_scope", "3\n")
					f.write("h1", "/etc/sysctl.d/10-ptrace.conf", "# edited\n"+rendered2)
				},
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true, // a plan, not an error
			},
			{
				Config:      cfg,
				ExpectError: wrapped(`(?s)ptrace_scope is locked at 3 on h1:22.*cannot be set to 2`),
			},
			{
				// The refused apply wrote nothing: the edited drop-in is
				// still there.
				PreConfig: func() {
					if err := f.expect("h1", "3\n", "# edited\n"+rendered2); err != nil {
						t.Error(err)
					}
				},
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 2
  apply_runtime = false
}`),
				Check: hostHoldsUnit(f, "3\n", rendered2),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "3\n", ""),
	})
}

// Destroy is not blocked by a host that became 3 behind Terraform's back:
// the destroy's refresh plans the unchanged configuration (only a
// warning), on_destroy = "restore" removes the drop-in, and the live value
// stays 3 as the kernel would keep it.
func TestUnitLockedHostDestroyNotBlocked(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				PreConfig:          func() { f.write("h1", "/proc/sys/kernel/yama/ptrace_scope", "3\n") },
				Config:             scope2Config(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
		CheckDestroy: hostHoldsUnit(f, "3\n", ""),
	})
}
