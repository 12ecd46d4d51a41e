package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// opensAtPlan fails unless the plan asked for no connection.
type opensAtPlan struct{ f *fakeFleet }

func (c opensAtPlan) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if c.f.opens != 0 {
		resp.Error = fmt.Errorf("the plan asked for %d connections; a host that is not known yet cannot be contacted", c.f.opens)
	}
}

// TestUnitUnknownHostPlansUnknown: a create whose host comes from another
// resource (a VM not booted yet; terraform_data stands in for it) plans
// its computed values unknown without connecting anywhere, and the apply
// then connects and sets the scope.
func TestUnitUnknownHostPlansUnknown(t *testing.T) {
	f := newFakeFleet(t)
	f.add("vm1", "1\n", nil)
	addr := "yama_ptrace_scope.t"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig(`resource "terraform_data" "vm" {
  input = "vm1"
}
resource "yama_ptrace_scope" "t" {
  host  = terraform_data.vm.output
  scope = 0
  ssh {
    wait_for_ssh        = "5m"
    accept_new_host_key = true
  }
}`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				opensAtPlan{f},
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("id")),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("runtime_scope")),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("mode")),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("boot_scope")),
				plancheck.ExpectUnknownValue(addr, tfjsonpath.New("host_key_pinned")),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(addr, "id", "vm1:22"),
				resource.TestCheckResourceAttr(addr, "runtime_scope", "0"),
				func(_ *terraform.State) error { return f.expect("vm1", "0\n", "kernel.yama.ptrace_scope = 0\n") },
			),
		}},
	})
}
