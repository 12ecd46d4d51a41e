package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// Provider logic through the real terraform CLI on local hosts (see
// unit_harness_test.go): no root, no sshd, no TF_ACC.

// A create writes the drop-in and the live value, the next plan is empty,
// and destroy (on_destroy = restore) puts the host back as it was.
func TestUnitCreatePlanCleanRestore(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
}`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("yama_ptrace_scope.t", "id", "h1:22"),
					resource.TestCheckResourceAttr("yama_ptrace_scope.t", "runtime_scope", "2"),
					resource.TestCheckResourceAttr("yama_ptrace_scope.t", "boot_scope", "2"),
					resource.TestCheckResourceAttr("yama_ptrace_scope.t", "file_content", "kernel.yama.ptrace_scope = 2\n"),
					func(_ *terraform.State) error { return f.expect("h1", "2\n", "kernel.yama.ptrace_scope = 2\n") },
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
		CheckDestroy: func(_ *terraform.State) error { return f.expect("h1", "1\n", "") },
	})
}
