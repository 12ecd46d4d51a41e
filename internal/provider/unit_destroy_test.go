package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// on_destroy: restore, keep, remove. Each host starts with a drop-in the
// provider would not render (a comment, a blank line, no spaces), so that
// "put back" can only pass byte for byte.

const vendorDropIn = "# vendor default\nkernel.yama.ptrace_scope=1\n\n"

func onDestroyConfig(mode, scope, comment string) string {
	return unitConfig(`resource "yama_ptrace_scope" "t" {
  host       = "h1"
  scope      = %s
  comment    = %q
  on_destroy = %q
}`, scope, comment, mode)
}

// restore puts back what the host held before the create (not before the
// last update): the original drop-in byte for byte and the live value; a
// sysctl file the resource never managed is left alone.
func TestUnitOnDestroyRestore(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{
		yama.DefaultFile:              vendorDropIn,
		"/etc/sysctl.d/50-other.conf": "vm.swappiness = 10\n",
	})
	before := f.tree("h1")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config: onDestroyConfig("restore", "2", "first"),
				Check:  hostHoldsUnit(f, "2\n", "# first\nkernel.yama.ptrace_scope = 2\n"),
			},
			{
				Config: onDestroyConfig("restore", "0", "second"),
				Check:  hostHoldsUnit(f, "0\n", "# second\nkernel.yama.ptrace_scope = 0\n"),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if err := f.expect("h1", "1\n", vendorDropIn); err != nil {
				return err
			}
			return f.expectTree("h1", before)
		},
	})
}

// keep leaves the host exactly as the last apply left it.
func TestUnitOnDestroyKeep(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	want := "# kept\nkernel.yama.ptrace_scope = 2\n"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: onDestroyConfig("keep", "2", "kept"),
			Check:  hostHoldsUnit(f, "2\n", want),
		}},
		CheckDestroy: hostHoldsUnit(f, "2\n", want),
	})
}

// remove deletes the drop-in (the original one is not put back) and
// leaves the live value as the resource set it.
func TestUnitOnDestroyRemove(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: onDestroyConfig("remove", "2", "removed"),
			Check:  hostHoldsUnit(f, "2\n", "# removed\nkernel.yama.ptrace_scope = 2\n"),
		}},
		CheckDestroy: hostHoldsUnit(f, "2\n", ""),
	})
}
