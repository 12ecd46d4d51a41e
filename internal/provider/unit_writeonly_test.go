package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// The secrets of a resource's ssh block are write-only: never in state,
// and the drift of such a resource (whose refresh cannot log in) still
// shows in the plan, which reads the host with the configuration.

const woUnitSecret = "unit-write-only-secret-4711"

func writeOnlyUnitConfig() string {
	return unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
  ssh {
    password      = %[1]q
    sudo_password = %[1]q
    bastion {
      host     = "b1"
      password = %[1]q
    }
  }
}`, woUnitSecret)
}

func noSecretInState(s *terraform.State) error {
	for _, m := range s.Modules {
		for addr, r := range m.Resources {
			for k, v := range r.Primary.Attributes {
				if strings.Contains(v, woUnitSecret) {
					return fmt.Errorf("%s: state attribute %s holds the secret", addr, k)
				}
			}
		}
	}
	return nil
}

func TestUnitWriteOnlyDriftShowsInPlan(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: writeOnlyUnitConfig(), Check: resource.ComposeTestCheckFunc(hostHoldsUnit(f, "2\n", rendered2), noSecretInState,
				resource.TestCheckNoResourceAttr(unitRes, "ssh.password"))},
			{
				// Behind Terraform's back: the refresh cannot see it (no
				// credentials in state), the plan must.
				PreConfig: func() { f.write("h1", yama.ProcPath, "0\n") },
				Config:    writeOnlyUnitConfig(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(unitRes, tfjsonpath.New("runtime_scope")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(hostHoldsUnit(f, "2\n", rendered2), noSecretInState,
					resource.TestCheckResourceAttr(unitRes, "runtime_scope", "2")),
			},
			{
				// The drop-in edited out of band: planned back.
				PreConfig: func() { f.write("h1", yama.DefaultFile, "kernel.yama.ptrace_scope = 0\n") },
				Config:    writeOnlyUnitConfig(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: append([]plancheck.PlanCheck{plancheck.ExpectResourceAction(unitRes, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(unitRes, tfjsonpath.New("file_content"))},
						known(unitRes, map[string]knownvalue.Check{"runtime_scope": knownvalue.Int64Exact(2)})...),
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: hostHoldsUnit(f, "2\n", rendered2),
			},
		},
	})
}
