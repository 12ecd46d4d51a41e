package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

const data = "data.yama_ptrace_scope.test"

func dataConfig(h *testhost.Host, body string) string {
	return providerConfig() + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  host = %q
  %s
}
`, h.Addr, body)
}

func TestAccPtraceScopeDataSource(t *testing.T) {
	content := "kernel.yama.ptrace_scope = 2\n"
	h := startHost(t, testhost.Options{Scope: "2", Files: map[string]string{yama.DefaultFile: content}})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: dataConfig(h, ""),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(data, "id", h.Addr+":22"),
				resource.TestCheckResourceAttr(data, "available", "true"),
				resource.TestCheckResourceAttr(data, "scope", "2"),
				resource.TestCheckResourceAttr(data, "mode", "admin-only"),
				resource.TestCheckResourceAttr(data, "locked", "false"),
				resource.TestCheckResourceAttr(data, "file_exists", "true"),
				resource.TestCheckResourceAttr(data, "file_content", content),
			),
		}},
	})
}

// Reading needs no root: a user without sudo reads everything.
func TestAccPtraceScopeDataSource_unprivilegedAndLocked(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "3"})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: dataConfig(h, `
  file = "/etc/sysctl.d/99-missing.conf"
  ssh {
    user = "yamauser"
  }`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(data, "available", "true"),
				resource.TestCheckResourceAttr(data, "scope", "3"),
				resource.TestCheckResourceAttr(data, "mode", "no-attach"),
				resource.TestCheckResourceAttr(data, "locked", "true"),
				resource.TestCheckResourceAttr(data, "file_exists", "false"),
				resource.TestCheckNoResourceAttr(data, "file_content"),
			),
		}},
	})
}

func TestAccPtraceScopeDataSource_noYama(t *testing.T) {
	h := startHost(t, testhost.Options{NoYama: true})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: dataConfig(h, ""),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(data, "available", "false"),
				resource.TestCheckNoResourceAttr(data, "scope"),
				resource.TestCheckNoResourceAttr(data, "mode"),
				resource.TestCheckResourceAttr(data, "locked", "false"),
			),
		}},
	})
}
