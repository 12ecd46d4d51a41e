package provider

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// loginShellPaths are the login shells the provider must work under (the
// Debian packages bash, dash, zsh, fish, tcsh, mksh and busybox; see
// scripts/deps.sh).
var loginShellPaths = map[string]string{
	"bash":       "/bin/bash",
	"dash":       "/bin/dash",
	"zsh":        "/bin/zsh",
	"fish":       "/usr/bin/fish",
	"tcsh":       "/bin/tcsh",
	"mksh":       "/bin/mksh",
	"busybox sh": testhost.BusyboxShell,
}

// TestAccLoginShells: whatever the login user's shell, as root and as a
// NOPASSWD sudo user, the data source reads the host, the resource creates
// its drop-in and live value, the plan afterwards is clean, and destroy
// restores the host. One sandbox host per shell, shells in parallel.
func TestAccLoginShells(t *testing.T) {
	for name, shell := range loginShellPaths {
		t.Run(name, func(t *testing.T) {
			if shell != testhost.BusyboxShell {
				if _, err := os.Stat(shell); err != nil {
					t.Fatalf("%s is not installed (scripts/deps.sh installs it): %v", shell, err)
				}
			}
			h := startHost(t, testhost.Options{Scope: "1", Shells: map[string]string{"root": shell, testhost.UserSudo: shell}})
			t.Parallel()
			for _, user := range []struct{ name, ssh string }{
				{"root", `ssh {
    user = "root"
  }`},
				{"sudo", `ssh {
    user = "yamasudo"
    sudo = true
  }`},
			} {
				t.Run(user.name, func(t *testing.T) {
					config := providerConfig() + fmt.Sprintf(`
data "yama_ptrace_scope" "test" {
  host = %q
  %s
}

resource "yama_ptrace_scope" "test" {
  host  = %q
  scope = 2
  %s
}
`, h.Addr, user.ssh, h.Addr, user.ssh)
					resource.Test(t, resource.TestCase{
						ProtoV6ProviderFactories: protoV6ProviderFactories,
						CheckDestroy: func(*terraform.State) error {
							// on_destroy = "restore": the host is as it was.
							if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
								return fmt.Errorf("live value after destroy = %q, want 1", got)
							}
							if hostExists(h, yama.DefaultFile) {
								return fmt.Errorf("%s left on the host after destroy", yama.DefaultFile)
							}
							return nil
						},
						Steps: []resource.TestStep{
							{
								Config: config,
								Check: resource.ComposeAggregateTestCheckFunc(
									resource.TestCheckResourceAttr(data, "available", "true"),
									resource.TestCheckResourceAttrSet(data, "scope"),
									resource.TestCheckResourceAttr("yama_ptrace_scope.test", "scope", "2"),
									hostHolds(t, h, "2\n", "kernel.yama.ptrace_scope = 2\n"),
								),
							},
							// A refreshed plan is clean too (the framework
							// already checks the plan right after apply).
							{Config: config, PlanOnly: true},
						},
					})
				})
			}
		})
	}
}
