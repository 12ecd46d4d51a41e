package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Drift made behind Terraform's back shows in the next plan as an update
// of exactly the attribute that drifted, and one apply converges the host.

const rendered2 = "kernel.yama.ptrace_scope = 2\n"

func scope2Config() string {
	return unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
}`)
}

// expectUpdate checks that the plan updates the resource in place and
// plans the given attribute values.
func expectUpdate(values map[string]knownvalue.Check) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{
		PreApply: append([]plancheck.PlanCheck{plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionUpdate)},
			known(unitRes, values)...),
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
}

func hostHoldsUnit(f *fakeFleet, live, dropIn string) resource.TestCheckFunc {
	return func(*terraform.State) error { return f.expect("h1", live, dropIn) }
}

// The live value changed out of band: the plan is not empty, and the
// apply writes the live value back.
func TestUnitDriftLiveValue(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				PreConfig:          func() { f.write("h1", yama.ProcPath, "0\n") },
				Config:             scope2Config(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// The refreshed state saw 0; the plan puts 2 back, and the
				// drop-in (unchanged) stays as planned.
				Config: scope2Config(),
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"runtime_scope": knownvalue.Int64Exact(2),
					"mode":          knownvalue.StringExact("admin-only"),
					"file_content":  knownvalue.StringExact(rendered2),
				}),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(unitRes, "runtime_scope", "2"),
					hostHoldsUnit(f, "2\n", rendered2),
				),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}

// The drop-in edited out of band (a comment added, or another value) is
// drift, and the apply rewrites only the drop-in: with tee failing on the
// host, an apply that also wrote the live value would fail.
func TestUnitDriftDropInEdited(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				// Only a comment: still drift, the drop-in is managed byte
				// for byte.
				PreConfig:          func() { f.write("h1", yama.DefaultFile, "# note\n"+rendered2) },
				Config:             scope2Config(),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() {
					f.write("h1", yama.DefaultFile, "kernel.yama.ptrace_scope = 0\n")
					f.failTool("h1", "tee")
				},
				Config: scope2Config(),
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"runtime_scope": knownvalue.Int64Exact(2),
					"file_content":  knownvalue.StringExact(rendered2),
				}),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(unitRes, "file_content", rendered2),
					hostHoldsUnit(f, "2\n", rendered2),
					func(*terraform.State) error { f.fixTools("h1"); return nil },
				),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}

// The drop-in deleted out of band: the plan recreates it (file_content
// planned again), and the apply writes it without touching the live value.
func TestUnitDriftDropInDeleted(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)},
			{
				PreConfig: func() {
					f.remove("h1", yama.DefaultFile)
					f.failTool("h1", "tee")
				},
				Config: scope2Config(),
				ConfigPlanChecks: expectUpdate(map[string]knownvalue.Check{
					"file_content": knownvalue.StringExact(rendered2),
					"boot_scope":   knownvalue.Int64Exact(2),
					"boot_source":  knownvalue.StringExact(yama.DefaultFile + ":1"),
				}),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(unitRes, "file_content", rendered2),
					hostHoldsUnit(f, "2\n", rendered2),
					func(*terraform.State) error { f.fixTools("h1"); return nil },
				),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", ""),
	})
}
