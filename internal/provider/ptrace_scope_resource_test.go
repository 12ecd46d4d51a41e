package provider

import (
	"fmt"
	"regexp"
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

// hostHolds asserts what the sandbox really holds, independently of state.
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

// Each kind of drift made behind Terraform's back must show as a planned
// update, and one apply must converge the host again.
func TestAccPtraceScope_drift(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	cfg := resourceConfig(h, `scope = 2`)
	want := "kernel.yama.ptrace_scope = 2\n"
	expectUpdate := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
	}}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: hostHolds(t, h, "2\n", want)},
			{
				// Live value changed out of band.
				PreConfig:          func() { setHostFile(t, h, testhost.YamaPath, "0\n") },
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{Config: cfg, ConfigPlanChecks: expectUpdate, Check: hostHolds(t, h, "2\n", want)},
			{
				// Drop-in edited out of band: only the file is rewritten.
				PreConfig:        func() { setHostFile(t, h, yama.DefaultFile, "kernel.yama.ptrace_scope = 0\n") },
				Config:           cfg,
				ConfigPlanChecks: expectUpdate,
				Check:            hostHolds(t, h, "2\n", want),
			},
			{
				// Drop-in deleted out of band.
				PreConfig:        func() { removeHostFile(t, h, yama.DefaultFile) },
				Config:           cfg,
				ConfigPlanChecks: expectUpdate,
				Check:            hostHolds(t, h, "2\n", want),
			},
			{
				// Whitespace and a comment are still drift: the drop-in is
				// managed byte for byte, so the next plan shows it.
				PreConfig:          func() { setHostFile(t, h, yama.DefaultFile, "# note\n"+want) },
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccPtraceScope_import(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "2", Files: map[string]string{
		yama.DefaultFile: "# hardened\nkernel.yama.ptrace_scope = 2\n",
	}})
	cfg := resourceConfig(h, `
  scope   = 2
  comment = "hardened"`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// import {} block: adopting a host that already matches the
				// configuration changes nothing.
				Config: cfg + fmt.Sprintf(`
import {
  to = yama_ptrace_scope.test
  id = "%s:22"
}
`, h.Addr),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "scope", "2"),
					resource.TestCheckResourceAttr(res, "comment", "hardened"),
					resource.TestCheckResourceAttr(res, "runtime_scope", "2"),
				),
			},
			{
				// terraform import: the imported state matches what the
				// resource holds after the previous step.
				ResourceName:            res,
				ImportState:             true,
				ImportStateId:           h.Addr,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"id"}, // HOST imports as HOST:22
			},
		},
		// Imported resources restore what they found: the host keeps its
		// original drop-in and value.
		CheckDestroy: hostHolds(t, h, "2\n", "# hardened\nkernel.yama.ptrace_scope = 2\n"),
	})
}

func TestAccPtraceScope_onDestroyKeep(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{Config: resourceConfig(h, `
  scope      = 2
  on_destroy = "keep"`)}},
		CheckDestroy: hostHolds(t, h, "2\n", "kernel.yama.ptrace_scope = 2\n"),
	})
}

func TestAccPtraceScope_onDestroyRemove(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1", Files: map[string]string{yama.DefaultFile: "kernel.yama.ptrace_scope = 1\n"}})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{Config: resourceConfig(h, `
  scope      = 2
  on_destroy = "remove"`)}},
		// remove deletes the drop-in only; the live value stays.
		CheckDestroy: hostHolds(t, h, "2\n", ""),
	})
}

func TestAccPtraceScope_onDestroyRestoreFile(t *testing.T) {
	orig := "# vendor default\nkernel.yama.ptrace_scope = 1\n\n"
	h := startHost(t, testhost.Options{Scope: "1", Files: map[string]string{yama.DefaultFile: orig}})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: resourceConfig(h, `scope = 3`),
			Check:  hostHolds(t, h, "3\n", "kernel.yama.ptrace_scope = 3\n"),
		}},
		// The original file comes back byte for byte; the live value stays 3
		// because the kernel would refuse anything else (a warning says so).
		CheckDestroy: hostHolds(t, h, "3\n", orig),
	})
}

func TestAccPtraceScope_persistOnly(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: resourceConfig(h, `
  scope         = 2
  apply_runtime = false`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(res, "runtime_scope", "1"),
				resource.TestCheckResourceAttr(res, "reboot_required", "true"),
				hostHolds(t, h, "1\n", "kernel.yama.ptrace_scope = 2\n"),
			),
		}, {
			// Runtime only: the drop-in is left alone (and not created).
			Config: resourceConfig(h, `
  scope   = 0
  persist = false`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(res, "runtime_scope", "0"),
				resource.TestCheckResourceAttr(res, "reboot_required", "false"),
				hostHolds(t, h, "0\n", "kernel.yama.ptrace_scope = 2\n"),
			),
		}},
	})
}

// A live value of 3 cannot be lowered: with apply_runtime the plan fails
// and says what to do; with apply_runtime = false the drop-in is written
// and reboot_required is set.
func TestAccPtraceScope_lockedAtThree(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "3"})
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The lock check needs only scope and apply_runtime: a
				// comment known only at apply time does not postpone it.
				Config: resourceConfig(h, `
  scope   = 1
  comment = "set at ${timestamp()}"`),
				PlanOnly:    true, // the error must come from the plan, not the apply
				ExpectError: regexp.MustCompile(`locked at 3`),
			},
			{
				Config:      resourceConfig(h, `scope = 1`),
				ExpectError: regexp.MustCompile(`(?s)locked at 3.*apply_runtime = false.*reboot`),
			},
			{
				Config: resourceConfig(h, `
  scope         = 1
  apply_runtime = false`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "runtime_scope", "3"),
					resource.TestCheckResourceAttr(res, "mode", "no-attach"),
					resource.TestCheckResourceAttr(res, "reboot_required", "true"),
					hostHolds(t, h, "3\n", "kernel.yama.ptrace_scope = 1\n"),
				),
			},
			{
				// Once created, asking for the live change again is
				// refused at plan time, before anything is written.
				Config:      resourceConfig(h, `scope = 1`),
				ExpectError: regexp.MustCompile(`locked at 3`),
			},
		},
	})
}

func TestAccPtraceScope_customFileAndPort(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1", Port: 2222})
	f := "/usr/local/lib/sysctl.d/60-yama.conf"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: resourceConfig(h, fmt.Sprintf(`
  scope = 2
  file  = %q
  ssh {
    port = 2222
  }`, f)),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(res, "id", h.Addr+":2222"),
				func(*terraform.State) error {
					if got := hostFile(t, h, f); got != "kernel.yama.ptrace_scope = 2\n" {
						return fmt.Errorf("%s = %q", f, got)
					}
					return nil
				},
			),
		}, {
			ResourceName:            res,
			ImportState:             true,
			ImportStateId:           h.Addr + ":2222," + f, // HOST:PORT,FILE
			ImportStateVerify:       true,
			ImportStateVerifyIgnore: []string{"ssh"},
		}},
	})
}
