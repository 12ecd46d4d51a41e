package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// The data source reads a host (no writes): the live value, the drop-in
// and the boot story, and says when the kernel has no Yama.
func TestUnitDataSourceReadsHosts(t *testing.T) {
	f := newFakeFleet(t)
	// A hardened host, locked at 3, whose own drop-in sets 1 but a later
	// hardening file sets 3; systemd is init (boot_mode auto -> systemd).
	f.add("locked", "3\n", map[string]string{
		yama.DefaultFile:                  "kernel.yama.ptrace_scope = 1\n",
		"/etc/sysctl.d/zz-hardening.conf": "# hardening role\nfs.suid_dumpable = 0\nkernel.yama.ptrace_scope = 3\n",
		"/run/systemd/system/.marker":     "",
	})
	// Debian: sysctl.conf through the 99-sysctl.conf link, no drop-in.
	f.add("debian", "1\n", map[string]string{"/etc/sysctl.conf": "# Debian\nkernel.yama.ptrace_scope=2\n"})
	f.symlink("debian", "/etc/sysctl.d/99-sysctl.conf", "../sysctl.conf")
	// A kernel without Yama, and no sysctl files at all.
	f.add("noyama", "", nil)
	before := map[string]string{"locked": f.tree("locked"), "debian": f.tree("debian")}

	ds := func(name string) string { return "data.yama_ptrace_scope." + name }
	check := func(name, attr string, v knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(ds(name), tfjsonpath.New(attr), v)
	}
	assignment := func(name string, i int, attr string, v knownvalue.Check) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(ds(name), tfjsonpath.New("assignments").AtSliceIndex(i).AtMapKey(attr), v)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: unitConfig(`
data "yama_ptrace_scope" "locked" {
  host = "locked"
}
data "yama_ptrace_scope" "debian" {
  host      = "debian"
  boot_mode = "systemd"
}
data "yama_ptrace_scope" "noyama" {
  host = "noyama"
  file = "/etc/sysctl.d/60-missing.conf"
}
`),
			ConfigStateChecks: []statecheck.StateCheck{
				check("locked", "id", knownvalue.StringExact("locked:22")),
				check("locked", "available", knownvalue.Bool(true)),
				check("locked", "scope", knownvalue.Int64Exact(3)),
				check("locked", "mode", knownvalue.StringExact("no-attach")),
				check("locked", "locked", knownvalue.Bool(true)),
				check("locked", "file_exists", knownvalue.Bool(true)),
				check("locked", "file_content", knownvalue.StringExact("kernel.yama.ptrace_scope = 1\n")),
				check("locked", "boot_mode", knownvalue.StringExact("auto")),
				// auto says what it picked: systemd is the host's init.
				check("locked", "boot_loader", knownvalue.StringExact("systemd")),
				check("locked", "boot_scope", knownvalue.Int64Exact(3)),
				check("locked", "boot_source", knownvalue.StringExact("/etc/sysctl.d/zz-hardening.conf:3")),
				check("locked", "assignments", knownvalue.ListSizeExact(2)),
				assignment("locked", 0, "file", knownvalue.StringExact(yama.DefaultFile)),
				assignment("locked", 0, "line", knownvalue.Int64Exact(1)),
				assignment("locked", 0, "value", knownvalue.StringExact("1")),
				// systemd-sysctl writes the key once: the earlier line is
				// replaced by the later one.
				assignment("locked", 0, "outcome", knownvalue.StringExact("replaced")),
				assignment("locked", 1, "file", knownvalue.StringExact("/etc/sysctl.d/zz-hardening.conf")),
				assignment("locked", 1, "line", knownvalue.Int64Exact(3)),
				assignment("locked", 1, "value", knownvalue.StringExact("3")),
				assignment("locked", 1, "outcome", knownvalue.StringExact("written")),

				check("debian", "scope", knownvalue.Int64Exact(1)),
				check("debian", "mode", knownvalue.StringExact("restricted")),
				check("debian", "locked", knownvalue.Bool(false)),
				check("debian", "file_exists", knownvalue.Bool(false)),
				check("debian", "file_content", knownvalue.Null()),
				check("debian", "boot_loader", knownvalue.StringExact("systemd")),
				check("debian", "boot_scope", knownvalue.Int64Exact(2)),
				check("debian", "boot_source", knownvalue.StringExact("/etc/sysctl.conf:2")),
				check("debian", "assignments", knownvalue.ListSizeExact(1)),
				assignment("debian", 0, "file", knownvalue.StringExact("/etc/sysctl.conf")),
				assignment("debian", 0, "entry", knownvalue.StringExact("/etc/sysctl.d/99-sysctl.conf")),

				check("noyama", "available", knownvalue.Bool(false)),
				check("noyama", "scope", knownvalue.Null()),
				check("noyama", "mode", knownvalue.Null()),
				check("noyama", "locked", knownvalue.Bool(false)),
				check("noyama", "file_exists", knownvalue.Bool(false)),
				check("noyama", "boot_scope", knownvalue.Null()),
				// auto without systemd as init: procps.
				check("noyama", "boot_loader", knownvalue.StringExact("procps")),
				check("noyama", "assignments", knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				func(*terraform.State) error { return f.expectTree("locked", before["locked"]) },
				func(*terraform.State) error { return f.expectTree("debian", before["debian"]) },
			),
		}},
	})
}
