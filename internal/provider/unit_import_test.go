package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Import adopts a host: a drop-in the provider rendered is read back into
// scope and comment, so a matching configuration plans nothing.

const hardened = "# hardened\nkernel.yama.ptrace_scope = 2\n"

func hardenedConfig() string {
	return unitConfig(`resource "yama_ptrace_scope" "t" {
  host    = "h1"
  scope   = 2
  comment = "hardened"
}`)
}

// An import {} block on a host that matches is a no-op; terraform import
// (by HOST) gives the same state; the plan afterwards is empty; and
// destroy (restore) leaves the host as it was found.
func TestUnitImportMatchingHost(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "2\n", map[string]string{yama.DefaultFile: hardened})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: hardenedConfig() + `
import {
  to = yama_ptrace_scope.t
  id = "h1"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionNoop)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(unitRes, tfjsonpath.New("id"), knownvalue.StringExact("h1:22")),
					statecheck.ExpectKnownValue(unitRes, tfjsonpath.New("scope"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(unitRes, tfjsonpath.New("comment"), knownvalue.StringExact("hardened")),
					statecheck.ExpectKnownValue(unitRes, tfjsonpath.New("file_content"), knownvalue.StringExact(hardened)),
					statecheck.ExpectKnownValue(unitRes, tfjsonpath.New("boot_scope"), knownvalue.Int64Exact(2)),
				},
				Check: hostHoldsUnit(f, "2\n", hardened),
			},
			{
				ResourceName:      unitRes,
				ImportState:       true,
				ImportStateId:     "h1",
				ImportStateVerify: true,
			},
			{
				Config:   hardenedConfig(),
				PlanOnly: true,
			},
		},
		CheckDestroy: hostHoldsUnit(f, "2\n", hardened),
	})
}

// A drop-in the provider did not render (other spacing) cannot be adopted
// as is: after import the scope comes from the live value and the plan
// rewrites the drop-in, only that.
func TestUnitImportForeignDropIn(t *testing.T) {
	f := newFakeFleet(t)
	foreign := "kernel.yama.ptrace_scope=2\n"
	f.add("h1", "2\n", map[string]string{yama.DefaultFile: foreign})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: scope2Config() + `
import {
  to = yama_ptrace_scope.t
  id = "h1:22"
}
`,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: append([]plancheck.PlanCheck{plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionUpdate)},
					known(unitRes, map[string]knownvalue.Check{
						"file_content":  knownvalue.StringExact(rendered2),
						"runtime_scope": knownvalue.Int64Exact(2),
					})...),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: hostHoldsUnit(f, "2\n", rendered2),
		}},
		// Imported: "before" is what the import found.
		CheckDestroy: hostHoldsUnit(f, "2\n", foreign),
	})
}
