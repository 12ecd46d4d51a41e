package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// persist and apply_runtime: each alone, switching between them, and the
// refusal of both false.

// Both false is refused by validation, before any host is contacted.
func TestUnitNothingToManage(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 2
  persist       = false
  apply_runtime = false
}`),
			PlanOnly:    true,
			ExpectError: wrapped(`(?s)Nothing to manage.*persist and apply_runtime are both false`),
		}},
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opens != 0 {
		t.Errorf("validation opened %d connections, want none", f.opens)
	}
	if err := f.expect("h1", "1\n", ""); err != nil {
		t.Error(err)
	}
}

// persist = false sets only the live value: an existing drop-in is left
// as it is (even though it says another value), nothing is reported as
// shadowing it, reboot_required is false, and destroy (restore) puts the
// live value back without touching the drop-in.
func TestUnitPersistFalseRuntimeOnly(t *testing.T) {
	f := newFakeFleet(t)
	existing := "kernel.yama.ptrace_scope = 1\n"
	f.add("h1", "1\n", map[string]string{
		yama.DefaultFile:           existing,
		"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 2\n",
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host    = "h1"
  scope   = 0
  persist = false
}`),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: known(unitRes, map[string]knownvalue.Check{
					"runtime_scope":   knownvalue.Int64Exact(0),
					"mode":            knownvalue.StringExact("classic"),
					"boot_scope":      knownvalue.Int64Exact(2),
					"boot_source":     knownvalue.StringExact("/etc/sysctl.d/99-zz.conf:1"),
					"shadowed_by":     shadows(),
					"reboot_required": knownvalue.Bool(false),
				}),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(unitRes, "file_content", existing),
				resource.TestCheckResourceAttr(unitRes, "reboot_required", "false"),
				hostHoldsUnit(f, "0\n", existing),
			),
		}},
		CheckDestroy: hostHoldsUnit(f, "1\n", existing),
	})
}

// apply_runtime = false writes only the drop-in (the live value stays,
// reboot_required is true) and does not treat the live value as drift;
// switching it to true then sets the live value without rewriting the
// drop-in (mktemp fails on the host, so any drop-in write would fail).
func TestUnitApplyRuntimeFalseThenTrue(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	cfg := func(applyRuntime bool) string {
		return unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 2
  apply_runtime = %t
}`, applyRuntime)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: cfg(false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: known(unitRes, map[string]knownvalue.Check{
						"runtime_scope":   knownvalue.Int64Exact(1),
						"file_content":    knownvalue.StringExact(rendered2),
						"boot_scope":      knownvalue.Int64Exact(2),
						"reboot_required": knownvalue.Bool(true),
					}),
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: hostHoldsUnit(f, "1\n", rendered2),
			},
			{
				// A live value changed behind Terraform's back is not
				// drift when apply_runtime = false: the resource does not
				// manage it.
				PreConfig: func() { f.write("h1", yama.ProcPath, "0\n") },
				Config:    cfg(false),
				PlanOnly:  true,
			},
			{
				PreConfig: func() { f.failTool("h1", "mktemp") },
				Config:    cfg(true),
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"runtime_scope":   knownvalue.Int64Exact(2),
					"reboot_required": knownvalue.Bool(false),
				}),
				Check: resource.ComposeAggregateTestCheckFunc(
					hostHoldsUnit(f, "2\n", rendered2),
					func(*terraform.State) error { f.fixTools("h1"); return nil },
				),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}

// on_destroy = "restore" puts back the drop-in and the live value as they
// were before the resource was created, also when an earlier configuration
// wrote them and the current one no longer manages them (persist turned
// off): the resource records what it has ever managed (managedKey).
func TestUnitRestoreAfterPersistTurnedOff(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	cfg := func(persist bool) string {
		return unitConfig(`resource "yama_ptrace_scope" "t" {
  host    = "h1"
  scope   = 2
  persist = %t
}`, persist)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: cfg(true), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{Config: cfg(false), Check: hostHoldsUnit(f, "2\n", rendered2)},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", vendorDropIn),
	})
}

// The same for the live value: set while apply_runtime was true, it is
// put back on destroy after apply_runtime was turned off.
func TestUnitRestoreAfterApplyRuntimeTurnedOff(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	cfg := func(live bool) string {
		return unitConfig(`resource "yama_ptrace_scope" "t" {
  host          = "h1"
  scope         = 2
  apply_runtime = %t
}`, live)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: cfg(true), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{Config: cfg(false), Check: hostHoldsUnit(f, "2\n", rendered2)},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}
