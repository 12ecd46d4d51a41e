package provider

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Plan prediction of the boot-time value (boot_scope, boot_source,
// shadowed_by, reboot_required) on local hosts laid out like real
// distributions. Each check runs on the plan, before anything is written,
// and again on the state after apply, and the next plan must be empty.

const unitRes = "yama_ptrace_scope.t"

// bootCase is one host layout and the plan it must produce.
type bootCase struct {
	scope string            // live value
	files map[string]string // by absolute path
	links map[string]string // symlinks: path -> target
	body  string            // resource arguments besides host
	// plan holds the attribute values the plan must predict; the state
	// after apply must hold them too.
	plan map[string]knownvalue.Check
}

// runBootCases lays out one host per case (named by its key, as is its
// resource yama_ptrace_scope.KEY), and in a single terraform run plans
// (checking each prediction), applies, checks the state, plans again
// (empty), and checks that destroy (on_destroy = restore) puts every sysctl
// file back byte for byte.
func runBootCases(t *testing.T, cases map[string]bootCase) {
	t.Helper()
	f := newFakeFleet(t)
	before := map[string]string{}
	var cfg strings.Builder
	var planChecks []plancheck.PlanCheck
	var stateChecks []statecheck.StateCheck
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cases[name]
		f.add(name, c.scope, c.files)
		for p, target := range c.links {
			f.symlink(name, p, target)
		}
		before[name] = f.tree(name)
		fmt.Fprintf(&cfg, "resource \"yama_ptrace_scope\" %q {\n  host = %q\n  %s\n}\n", name, name, c.body)
		addr := "yama_ptrace_scope." + name
		planChecks = append(planChecks, known(addr, c.plan)...)
		for attr, v := range c.plan {
			stateChecks = append(stateChecks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(attr), v))
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig("%s", cfg.String()),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             planChecks,
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: stateChecks,
		}},
		CheckDestroy: func(*terraform.State) error {
			var errs []error
			for _, name := range names {
				errs = append(errs, f.expectTree(name, before[name]))
			}
			return errors.Join(errs...)
		},
	})
}

func shadows(s ...string) knownvalue.Check {
	l := make([]knownvalue.Check, 0, len(s))
	for _, v := range s {
		l = append(l, knownvalue.StringExact(v))
	}
	return knownvalue.ListExact(l)
}

// Ubuntu ships /etc/sysctl.d/10-ptrace.conf; a later-sorting file setting
// another value wins at boot, under either loader. The plan says so before
// the apply (the drop-in is still written, with the default
// shadowing = "warn"), and reboot_required says the live value will not
// survive a reboot.
func TestUnitBootShadowedByLaterFile(t *testing.T) {
	cases := map[string]bootCase{}
	for _, mode := range []string{"systemd", "procps"} {
		cases[mode] = bootCase{
			scope: "1\n",
			files: map[string]string{
				yama.DefaultFile:              "kernel.yama.ptrace_scope = 1\n",
				"/etc/sysctl.d/99-zz.conf":    "# local tuning\nkernel.yama.ptrace_scope = 0\n",
				"/etc/sysctl.d/50-other.conf": "vm.swappiness = 10\n",
			},
			body: `scope     = 2
  boot_mode = "` + mode + `"`,
			plan: map[string]knownvalue.Check{
				"runtime_scope":   knownvalue.Int64Exact(2),
				"file_content":    knownvalue.StringExact("kernel.yama.ptrace_scope = 2\n"),
				"boot_scope":      knownvalue.Int64Exact(0),
				"boot_source":     knownvalue.StringExact("/etc/sysctl.d/99-zz.conf:2"),
				"shadowed_by":     shadows("/etc/sysctl.d/99-zz.conf:2"),
				"reboot_required": knownvalue.Bool(true),
				"override_files":  knownvalue.MapExact(map[string]knownvalue.Check{}),
			},
		}
	}
	runBootCases(t, cases)
}

// Masks by name. etc_masks_vendor: the managed drop-in in /etc masks a
// vendor file of the same name in /usr/lib, whose 0 is then not applied.
// etc_masks_managed: a /etc file of the same name masks a managed drop-in
// in /usr/lib, which is then shadowed by that whole file (no line).
// devnull_masks_vendor: a /dev/null link masks a later vendor file that
// would otherwise win. devnull_masks_managed: a /dev/null link masks the
// managed name itself, so nothing sets the key at boot.
func TestUnitBootMasks(t *testing.T) {
	runBootCases(t, map[string]bootCase{
		"etc_masks_vendor": {
			scope: "1\n",
			files: map[string]string{
				"/usr/lib/sysctl.d/10-ptrace.conf":  "kernel.yama.ptrace_scope = 0\n",
				"/usr/lib/sysctl.d/50-pid-max.conf": "kernel.pid_max = 4194304\n",
			},
			body: `scope     = 2
  boot_mode = "procps"`,
			plan: map[string]knownvalue.Check{
				"boot_scope":      knownvalue.Int64Exact(2),
				"boot_source":     knownvalue.StringExact(yama.DefaultFile + ":1"),
				"shadowed_by":     shadows(),
				"reboot_required": knownvalue.Bool(false),
			},
		},
		"etc_masks_managed": {
			scope: "1\n",
			files: map[string]string{"/etc/sysctl.d/60-yama.conf": "kernel.yama.ptrace_scope = 2\n"},
			body: `scope     = 1
  file      = "/usr/lib/sysctl.d/60-yama.conf"
  boot_mode = "systemd"`,
			plan: map[string]knownvalue.Check{
				"boot_scope":      knownvalue.Int64Exact(2),
				"boot_source":     knownvalue.StringExact("/etc/sysctl.d/60-yama.conf:1"),
				"shadowed_by":     shadows("/etc/sysctl.d/60-yama.conf"),
				"reboot_required": knownvalue.Bool(true),
			},
		},
		"devnull_masks_vendor": {
			scope: "0\n",
			files: map[string]string{"/usr/lib/sysctl.d/99-vendor-yama.conf": "kernel.yama.ptrace_scope = 0\n"},
			links: map[string]string{"/etc/sysctl.d/99-vendor-yama.conf": "/dev/null"},
			body: `scope     = 2
  boot_mode = "systemd"`,
			plan: map[string]knownvalue.Check{
				"boot_scope":      knownvalue.Int64Exact(2),
				"boot_source":     knownvalue.StringExact(yama.DefaultFile + ":1"),
				"shadowed_by":     shadows(),
				"reboot_required": knownvalue.Bool(false),
			},
		},
		"devnull_masks_managed": {
			scope: "0\n",
			files: map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n"},
			links: map[string]string{"/etc/sysctl.d/10-default-yama-scope.conf": "/dev/null"},
			body: `scope     = 2
  file      = "/usr/lib/sysctl.d/10-default-yama-scope.conf"
  boot_mode = "systemd"`,
			plan: map[string]knownvalue.Check{
				// Nothing sets the key at boot: the kernel default applies.
				"boot_scope":      knownvalue.Null(),
				"boot_source":     knownvalue.Null(),
				"shadowed_by":     shadows("/etc/sysctl.d/10-default-yama-scope.conf"),
				"reboot_required": knownvalue.Bool(false),
				"file_content":    knownvalue.StringExact("kernel.yama.ptrace_scope = 2\n"),
			},
		},
	})
}

// Debian: /etc/sysctl.d/99-sysctl.conf -> ../sysctl.conf brings
// /etc/sysctl.conf into systemd-sysctl's sorted list; its line wins over
// the drop-in, and the source names the real file.
func TestUnitBootSysctlConfSymlink(t *testing.T) {
	runBootCases(t, map[string]bootCase{"debian": {
		scope: "1\n",
		files: map[string]string{"/etc/sysctl.conf": "# Debian\nkernel.yama.ptrace_scope=1\n"},
		links: map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"},
		body: `scope     = 2
  boot_mode = "systemd"`,
		plan: map[string]knownvalue.Check{
			"runtime_scope":   knownvalue.Int64Exact(2),
			"boot_scope":      knownvalue.Int64Exact(1),
			"boot_source":     knownvalue.StringExact("/etc/sysctl.conf:2"),
			"shadowed_by":     shadows("/etc/sysctl.conf:2"),
			"reboot_required": knownvalue.Bool(true),
		},
	}})
}

// An earlier file setting 3 locks the key under procps (every assignment
// is written in order, so the drop-in's later write is refused), but not
// under systemd-sysctl (the key is written once, with the last value).
// boot_mode = "auto" follows the host: /run/systemd/system is a directory
// when systemd is init; an explicit mode wins over what the host runs.
func TestUnitBootModeProcpsVsSystemd(t *testing.T) {
	early := "/etc/sysctl.d/05-early.conf"
	locked := map[string]knownvalue.Check{
		"boot_scope":      knownvalue.Int64Exact(3),
		"boot_source":     knownvalue.StringExact(early + ":1"),
		"shadowed_by":     shadows(early + ":1"),
		"reboot_required": knownvalue.Bool(true),
	}
	notLocked := map[string]knownvalue.Check{
		"boot_scope":      knownvalue.Int64Exact(1),
		"boot_source":     knownvalue.StringExact(yama.DefaultFile + ":1"),
		"shadowed_by":     shadows(),
		"reboot_required": knownvalue.Bool(false),
	}
	cases := map[string]bootCase{}
	for name, c := range map[string]struct {
		mode    string
		systemd bool
		plan    map[string]knownvalue.Check
	}{
		"procps_on_systemd_host": {"procps", true, locked},
		"systemd_on_plain_host":  {"systemd", false, notLocked},
		"auto_on_systemd_host":   {"auto", true, notLocked},
		"auto_without_systemd":   {"auto", false, locked},
	} {
		files := map[string]string{early: "kernel.yama.ptrace_scope = 3\n"}
		if c.systemd {
			files["/run/systemd/system/.marker"] = ""
		}
		cases[name] = bootCase{
			scope: "1\n",
			files: files,
			body: `scope     = 1
  boot_mode = "` + c.mode + `"`,
			plan: c.plan,
		}
	}
	runBootCases(t, cases)
}

// shadowing = "error" refuses the plan, naming the file and line, and
// nothing is written.
func TestUnitBootShadowingErrorFailsPlan(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{
		yama.DefaultFile:           "kernel.yama.ptrace_scope = 1\n",
		"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 0\n",
	})
	before := f.tree("h1")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig(`resource "yama_ptrace_scope" "t" {
  host      = "h1"
  scope     = 2
  shadowing = "error"
}`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Drop-in will not set ptrace_scope at boot on h1:22.*99-zz\.conf:1\s+sets\s+0\s+and\s+is\s+applied\s+later`),
		}},
	})
	if err := f.expect("h1", "1\n", "kernel.yama.ptrace_scope = 1\n"); err != nil {
		t.Error(err)
	}
	if err := f.expectTree("h1", before); err != nil {
		t.Error(err)
	}
}

// shadowing = "override" writes an extra drop-in in /etc/sysctl.d that
// sorts after the shadowing file, so the managed value wins at boot; the
// plan predicts its path and content; destroy removes it again.
func TestUnitBootShadowingOverride(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{
		yama.DefaultFile:           "kernel.yama.ptrace_scope = 1\n",
		"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 0\n",
	})
	before := f.tree("h1")
	const over = "/etc/sysctl.d/zz-yama-ptrace-scope.conf"
	cfg := unitConfig(`resource "yama_ptrace_scope" "t" {
  host      = "h1"
  scope     = 2
  shadowing = "override"
}`)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: append(known(unitRes, map[string]knownvalue.Check{
					"boot_scope":      knownvalue.Int64Exact(2),
					"boot_source":     knownvalue.StringExact(over + ":2"),
					"shadowed_by":     shadows(),
					"reboot_required": knownvalue.Bool(false),
				}), plancheck.ExpectKnownValue(unitRes, tfjsonpath.New("override_files").AtMapKey(over),
					knownvalue.StringRegexp(regexp.MustCompile(`(?s)^# terraform-provider-yama \(shadowing = override\): makes /etc/sysctl\.d/10-ptrace\.conf win over /etc/sysctl\.d/99-zz\.conf:1\nkernel\.yama\.ptrace_scope = 2\n$`)))),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(unitRes, "override_files.%", "1"),
				func(*terraform.State) error {
					if got := f.file("h1", over); !regexp.MustCompile(`\nkernel\.yama\.ptrace_scope = 2\n$`).MatchString(got) {
						return fmt.Errorf("override file on the host = %q", got)
					}
					if got := f.file("h1", "/etc/sysctl.d/99-zz.conf"); got != "kernel.yama.ptrace_scope = 0\n" {
						return fmt.Errorf("the shadowing file was changed: %q", got)
					}
					return f.expect("h1", "2\n", "kernel.yama.ptrace_scope = 2\n")
				},
			),
		}},
		CheckDestroy: func(*terraform.State) error {
			if got := f.file("h1", over); got != "" {
				return fmt.Errorf("override file left after destroy: %q", got)
			}
			return f.expectTree("h1", before)
		},
	})
}
