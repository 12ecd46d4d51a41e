package provider

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Realistic sysctl.d layouts, as sandbox hosts lay them out.
var (
	ubuntuLayout = testhost.Options{Scope: "1",
		Files: map[string]string{
			"/etc/sysctl.d/10-ptrace.conf": "# Ubuntu: restricted ptrace\nkernel.yama.ptrace_scope = 1\n",
			"/etc/sysctl.conf":             "# /etc/sysctl.conf - Configuration file for setting system variables\n#net.ipv4.ip_forward=1\n",
		},
		Symlinks: map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}}
	fedoraLayout = testhost.Options{Scope: "0",
		Files: map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "# elfutils-default-yama-scope\nkernel.yama.ptrace_scope = 0\n"}}
	debianLayout = testhost.Options{Scope: "1",
		Files:    map[string]string{"/etc/sysctl.conf": "# Debian\nkernel.yama.ptrace_scope=1\n"},
		Symlinks: map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}}
	hardeningLayout = testhost.Options{Scope: "1",
		Files: map[string]string{
			"/etc/sysctl.d/10-ptrace.conf":    "kernel.yama.ptrace_scope = 1\n",
			"/etc/sysctl.d/zz-hardening.conf": "# hardening role\nfs.suid_dumpable = 0\nkernel.yama.ptrace_scope = 3\n",
		}}
	maskByNameLayout = testhost.Options{Scope: "1",
		Files: map[string]string{
			"/usr/lib/sysctl.d/60-yama.conf": "kernel.yama.ptrace_scope = 0\n",
			"/etc/sysctl.d/60-yama.conf":     "kernel.yama.ptrace_scope = 2\n",
		}}
	maskDevNullLayout = testhost.Options{Scope: "0",
		Files:    map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n"},
		Symlinks: map[string]string{"/etc/sysctl.d/10-default-yama-scope.conf": "/dev/null"}}
)

func TestAccPtraceScope_bootLayouts(t *testing.T) {
	cases := []struct {
		name   string
		layout testhost.Options
		body   string
		checks []resource.TestCheckFunc
	}{
		{"ubuntu", ubuntuLayout, `scope = 2`, []resource.TestCheckFunc{
			resource.TestCheckResourceAttr(res, "boot_scope", "2"),
			resource.TestCheckResourceAttr(res, "boot_source", "/etc/sysctl.d/10-ptrace.conf:1"),
			resource.TestCheckResourceAttr(res, "shadowed_by.#", "0"),
			resource.TestCheckResourceAttr(res, "reboot_required", "false"),
		}},
		{"fedora vendor default sorts first", fedoraLayout, `scope = 2`, []resource.TestCheckFunc{
			resource.TestCheckResourceAttr(res, "boot_scope", "2"),
			resource.TestCheckResourceAttr(res, "boot_source", "/etc/sysctl.d/10-ptrace.conf:1"),
		}},
		{"debian sysctl.conf wins (warn)", debianLayout, `
  scope     = 2
  boot_mode = "systemd"`, []resource.TestCheckFunc{
			resource.TestCheckResourceAttr(res, "boot_scope", "1"),
			resource.TestCheckResourceAttr(res, "boot_source", "/etc/sysctl.conf:2"),
			resource.TestCheckResourceAttr(res, "shadowed_by.#", "1"),
			resource.TestCheckResourceAttr(res, "shadowed_by.0", "/etc/sysctl.conf:2"),
			// Live 2, but a reboot would bring back 1.
			resource.TestCheckResourceAttr(res, "runtime_scope", "2"),
			resource.TestCheckResourceAttr(res, "reboot_required", "true"),
		}},
		{"hardening role overridden", hardeningLayout, `
  scope     = 1
  boot_mode = "systemd"
  shadowing = "override"`, []resource.TestCheckFunc{
			resource.TestCheckResourceAttr(res, "boot_scope", "1"),
			resource.TestCheckResourceAttr(res, "boot_source", "/etc/sysctl.d/zz-yama-ptrace-scope.conf:2"),
			resource.TestCheckResourceAttr(res, "shadowed_by.#", "0"),
			resource.TestCheckResourceAttr(res, "override_files.%", "1"),
			resource.TestCheckResourceAttrSet(res, "override_files./etc/sysctl.d/zz-yama-ptrace-scope.conf"),
		}},
		{"mask by /dev/null", maskDevNullLayout, `
  scope   = 0
  persist = false`, []resource.TestCheckFunc{
			resource.TestCheckNoResourceAttr(res, "boot_scope"),
			resource.TestCheckNoResourceAttr(res, "boot_source"),
			resource.TestCheckResourceAttr(res, "reboot_required", "false"),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := startHost(t, c.layout)
			before := sysctlTree(t, h)
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{
					{Config: resourceConfig(h, c.body), Check: resource.ComposeAggregateTestCheckFunc(c.checks...)},
					{Config: resourceConfig(h, c.body), PlanOnly: true},
				},
				// on_destroy = restore puts every file back byte for byte,
				// override files included.
				CheckDestroy: func(*terraform.State) error {
					if after := sysctlTree(t, h); after != before {
						return fmt.Errorf("sysctl files after destroy:\n%s\nwant:\n%s", after, before)
					}
					return nil
				},
			})
		})
	}
}

func TestAccPtraceScope_shadowingErrors(t *testing.T) {
	cases := []struct {
		name, match string
		layout      testhost.Options
		body        string
	}{
		{"error mode names the file and line", `(?s)Drop-in will not set ptrace_scope at boot.*zz-hardening\.conf:3 sets 3`, hardeningLayout, `
  scope     = 1
  boot_mode = "systemd"
  shadowing = "error"`},
		{"override cannot beat sysctl.conf under procps", `(?s)Cannot make the drop-in win at boot.*sysctl --system applies /etc/sysctl\.conf:2`, debianLayout, `
  scope     = 2
  boot_mode = "procps"
  shadowing = "override"`},
		{"override cannot unmask by name", `(?s)Cannot make the drop-in win at boot.*masks /usr/lib/sysctl\.d/60-yama\.conf`, maskByNameLayout, `
  scope     = 1
  file      = "/usr/lib/sysctl.d/60-yama.conf"
  shadowing = "override"`},
		{"override cannot beat an earlier lock at 3 (procps)", `(?s)Cannot make the drop-in win at boot.*would boot with 3 from /etc/sysctl\.d/zz-hardening\.conf:3`, hardeningLayout, `
  scope     = 1
  boot_mode = "procps"
  shadowing = "override"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := startHost(t, c.layout)
			before := sysctlTree(t, h)
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: resourceConfig(h, c.body), ExpectError: regexp.MustCompile(strings.ReplaceAll(c.match, " ", `\s+`))}},
			})
			if after := sysctlTree(t, h); after != before {
				t.Errorf("a refused plan changed the host's files:\n%s", after)
			}
		})
	}
}

// A shadowing file that appears out of band shows in the next plan: with
// override, as a new override file to write.
func TestAccPtraceScope_newShadowIsDrift(t *testing.T) {
	h := startHost(t, testhost.Options{Scope: "1"})
	cfg := resourceConfig(h, `
  scope     = 2
  boot_mode = "systemd"
  shadowing = "override"`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(res, "override_files.%", "0"),
				resource.TestCheckResourceAttr(res, "boot_scope", "2"),
			)},
			{
				PreConfig: func() { setHostFile(t, h, "/etc/sysctl.d/90-vendor-debug.conf", "kernel.yama.ptrace_scope = 0\n") },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "boot_scope", "2"),
					resource.TestCheckResourceAttr(res, "override_files.%", "1"),
					func(*terraform.State) error {
						if got := hostFile(t, h, "/etc/sysctl.d/zz-yama-ptrace-scope.conf"); !strings.Contains(got, "kernel.yama.ptrace_scope = 2\n") {
							return fmt.Errorf("override file = %q", got)
						}
						return nil
					},
				),
			},
			{
				// The shadow goes away: the override file is no longer
				// needed and is removed.
				PreConfig: func() { removeHostFile(t, h, "/etc/sysctl.d/90-vendor-debug.conf") },
				Config:    cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "override_files.%", "0"),
					func(*terraform.State) error {
						if hostExists(h, "/etc/sysctl.d/zz-yama-ptrace-scope.conf") {
							return fmt.Errorf("stale override file left on the host")
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccPtraceScopeDataSource_boot(t *testing.T) {
	h := startHost(t, hardeningLayout)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: dataConfig(h, `boot_mode = "procps"`),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(data, "boot_scope", "3"),
				resource.TestCheckResourceAttr(data, "boot_source", "/etc/sysctl.d/zz-hardening.conf:3"),
				resource.TestCheckResourceAttr(data, "assignments.#", "2"),
				resource.TestCheckResourceAttr(data, "assignments.0.file", yama.DefaultFile),
				resource.TestCheckResourceAttr(data, "assignments.0.line", "1"),
				resource.TestCheckResourceAttr(data, "assignments.0.value", "1"),
				resource.TestCheckResourceAttr(data, "assignments.0.outcome", "written"),
				resource.TestCheckResourceAttr(data, "assignments.1.file", "/etc/sysctl.d/zz-hardening.conf"),
				resource.TestCheckResourceAttr(data, "assignments.1.value", "3"),
			),
		}},
	})
}

// sysctlTree renders every file and link under the host's sysctl
// directories (and /etc/sysctl.conf) for byte-for-byte comparison.
func sysctlTree(t *testing.T, h *testhost.Host) string {
	t.Helper()
	return describeSysctlTree(t, h.Path)
}

// describeSysctlTree renders the sysctl files of a host whose absolute
// path p is at outside(p) on this machine: one line per file (its content
// quoted) or link (its target), for byte-for-byte comparison.
func describeSysctlTree(t *testing.T, outside func(string) string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range append([]string{"/etc/sysctl.conf"}, yama.ConfigDirs[:4]...) {
		root := outside(d)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				// A directory (or /etc/sysctl.conf) this layout does not have.
				return nil
			}
			if err != nil {
				return err
			}
			if e.IsDir() {
				return nil
			}
			rel := d + strings.TrimPrefix(p, root)
			if e.Type()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				fmt.Fprintf(&b, "%s -> %s\n", rel, target)
				return nil
			}
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s: %q\n", rel, data)
			return nil
		})
		if err != nil {
			t.Errorf("listing %s: %v", d, err)
		}
	}
	return b.String()
}

// boot_mode = "auto" follows the host: systemd-sysctl writes the key once
// (the last assignment), so an earlier 3 does not lock; procps writes every
// assignment in order, so it does.
func TestAccPtraceScope_bootModeAuto(t *testing.T) {
	early := map[string]string{"/etc/sysctl.d/05-early.conf": "kernel.yama.ptrace_scope = 3\n"}
	withSystemd := map[string]string{"/etc/sysctl.d/05-early.conf": early["/etc/sysctl.d/05-early.conf"], "/run/systemd/system/.marker": ""}
	cases := []struct {
		name, boot, shadows string
		files               map[string]string
	}{
		{"systemd host", "1", "0", withSystemd},
		{"host without systemd", "3", "1", early},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := startHost(t, testhost.Options{Scope: "1", Files: c.files})
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: resourceConfig(h, `scope = 1`),
					Check: resource.ComposeAggregateTestCheckFunc(
						resource.TestCheckResourceAttr(res, "boot_mode", "auto"),
						resource.TestCheckResourceAttr(res, "boot_scope", c.boot),
						resource.TestCheckResourceAttr(res, "shadowed_by.#", c.shadows),
					),
				}},
			})
		})
	}
}

// A drop-in under /run (a tmpfs) is gone at the next boot: boot_scope is
// predicted without it, reboot_required says the live value will not last,
// and the plan warns. (The VM suite proves the tmpfs part on a real boot.)
func TestAccPtraceScope_runDropInIsVolatile(t *testing.T) {
	h := startHost(t, fedoraLayout)
	w := newTFWorkdir(t, resourceConfig(h, `
  scope = 2
  file  = "/run/sysctl.d/10-ptrace.conf"`))
	out, code := w.run("apply", "-auto-approve")
	if code != 0 || !strings.Contains(out, "Drop-in does not survive reboot on "+h.Addr) {
		t.Fatalf("apply: exit %d, want 0 and the /run warning:\n%s", code, out)
	}
	st := w.resourceState(res)
	if st == nil || fmt.Sprint(st["boot_scope"]) != "0" || fmt.Sprint(st["reboot_required"]) != "true" || fmt.Sprint(st["runtime_scope"]) != "2" {
		t.Fatalf("state = %v; want boot_scope 0 (the vendor file), runtime_scope 2, reboot_required true", st)
	}
	if out, code = w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("second plan: exit %d, want no changes\n%s", code, out)
	}
}
