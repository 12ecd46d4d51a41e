package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

const res = "yama_ptrace_scope.test"

func resourceConfig(h *testhost.Host, body string) string {
	return providerConfig() + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host = %q
  %s
}
`, h.Addr, body)
}

// checkHost asserts what the sandbox really holds, independently of state.
func hostHolds(t *testing.T, h *testhost.Host, runtime, file string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := hostFile(t, h, testhost.YamaPath); got != runtime {
			return fmt.Errorf("live value on host = %q, want %q", got, runtime)
		}
		if got := hostFile(t, h, yama.DefaultFile); got != file {
			return fmt.Errorf("drop-in on host = %q, want %q", got, file)
		}
		return nil
	}
}

func TestAccPtraceScope_lifecycle(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: resourceConfig(h, `scope = 2`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "id", h.Addr+":22"),
					resource.TestCheckResourceAttr(res, "runtime_scope", "2"),
					resource.TestCheckResourceAttr(res, "mode", "admin-only"),
					resource.TestCheckResourceAttr(res, "file", yama.DefaultFile),
					resource.TestCheckResourceAttr(res, "file_content", "kernel.yama.ptrace_scope = 2\n"),
					resource.TestCheckResourceAttr(res, "reboot_required", "false"),
					hostHolds(t, h, "2\n", "kernel.yama.ptrace_scope = 2\n"),
				),
			},
			{
				// Idempotent: the same configuration plans nothing.
				Config:   resourceConfig(h, `scope = 2`),
				PlanOnly: true,
			},
			{
				Config: resourceConfig(h, `
  scope   = 0
  comment = "developer VM: debuggers may attach"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "runtime_scope", "0"),
					resource.TestCheckResourceAttr(res, "mode", "classic"),
					hostHolds(t, h, "0\n", "# developer VM: debuggers may attach\nkernel.yama.ptrace_scope = 0\n"),
				),
			},
		},
		// on_destroy = "restore": the live value goes back to 1 and the
		// drop-in, which did not exist before, is removed.
		CheckDestroy: hostHolds(t, h, "1\n", ""),
	})
}
