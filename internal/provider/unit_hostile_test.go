package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

// Unusual and hostile hosts (issue 12), on local hosts: links that lead to
// other files are refused at plan time, the original is recorded on the
// host and found again by a later create, a linked /etc/sysctl.d
// converges, long names work. hostile_acc_test.go proves the same over SSH
// on sandbox hosts, with the terraform CLI's own output and state.

const unitSecret = "UNIT-SECRET-MARKER-7d1e root:$6$x"

// TestUnitUnsafeDropInIsAPlanError: a drop-in that is a symbolic link or a
// hard link (to a secret) is a plan-time error naming the path and what it
// is, for the resource (create and refresh) and the data source.
func TestUnitUnsafeDropInIsAPlanError(t *testing.T) {
	kinds := map[string]struct {
		make func(f *fakeFleet)
		want string
	}{
		"symlink": {func(f *fakeFleet) { f.symlink("h1", yama.DefaultFile, "../shadow") }, `a symbolic link \(to ../shadow\)`},
		"hard link": {func(f *fakeFleet) {
			root := f.hosts["h1"].root
			if err := os.Link(filepath.Join(root, "/etc/shadow"), filepath.Join(root, yama.DefaultFile)); err != nil {
				t.Fatal(err)
			}
		}, `a hard link \(one of 2 names`},
	}
	for name, k := range kinds {
		t.Run(name, func(t *testing.T) {
			f := newFakeFleet(t)
			f.add("h1", "1\n", map[string]string{"/etc/shadow": unitSecret + "\n", "/etc/sysctl.d/.keep": ""})
			k.make(f)
			match := regexp.MustCompile(`(?s)Drop-in path is not a regular file on h1:22.*` + regexp.QuoteMeta(yama.DefaultFile) + `.*` + k.want)
			for _, cfg := range []string{scope2Config(), unitConfig(`data "yama_ptrace_scope" "d" { host = "h1" }`)} {
				resource.UnitTest(t, resource.TestCase{
					ProtoV6ProviderFactories: f.factories(),
					Steps:                    []resource.TestStep{{Config: cfg, PlanOnly: true, ExpectError: match}},
				})
			}
			if got := f.file("h1", yama.ProcPath); got != "1\n" {
				t.Errorf("live value %q", got)
			}
		})
	}
}

// TestUnitUnsafeDropInAtRefresh: a drop-in replaced by a link after the
// create fails the refresh, and nothing of the link's target is stored.
func TestUnitUnsafeDropInAtRefresh(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", map[string]string{"/etc/shadow": unitSecret + "\n"})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{Config: scope2Config()},
			{
				PreConfig: func() {
					f.remove("h1", yama.DefaultFile)
					f.symlink("h1", yama.DefaultFile, "../shadow")
				},
				Config:      scope2Config(),
				ExpectError: regexp.MustCompile(`(?s)Drop-in path is not a regular file.*a symbolic link`),
			},
			{
				// Put a plain file back so the destroy can run.
				PreConfig: func() {
					f.remove("h1", yama.DefaultFile)
					f.write("h1", yama.DefaultFile, rendered2)
				},
				Config: scope2Config(),
				Check: func(s *terraform.State) error {
					for _, r := range s.RootModule().Resources {
						for k, v := range r.Primary.Attributes {
							if strings.Contains(v, "UNIT-SECRET") {
								return fmt.Errorf("state attribute %s holds the secret", k)
							}
						}
					}
					return nil
				},
			},
		},
	})
}

// TestUnitCreateTakesUpTheRecord: a create that was interrupted after it
// wrote the drop-in (the record of the original is on the host, the state
// holds nothing) is applied again and destroyed: the original drop-in is
// back byte for byte, with its mode, and the record is gone.
func TestUnitCreateTakesUpTheRecord(t *testing.T) {
	f := newFakeFleet(t)
	root := f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	if err := os.Chmod(filepath.Join(root, yama.DefaultFile), 0o640); err != nil {
		t.Fatal(err)
	}
	before := f.tree("h1")
	// What the killed apply did: record, write the drop-in, then die
	// before the live write.
	h := yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}
	if _, err := yama.Apply(context.Background(), h, yama.Change{File: yama.DefaultFile, Original: yama.RecordOriginal,
		Files: []yama.FileOp{{Path: yama.DefaultFile, Content: []byte("kernel.yama.ptrace_scope = 3\n")}}}); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(root, yama.RecordPath(yama.DefaultFile))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: scope2Config(),
			Check:  hostHoldsUnit(f, "2\n", rendered2),
		}},
		CheckDestroy: func(*terraform.State) error {
			if err := f.expect("h1", "1\n", vendorDropIn); err != nil {
				return err
			}
			if err := f.expectTree("h1", before); err != nil {
				return err
			}
			if fi, err := os.Stat(filepath.Join(root, yama.DefaultFile)); err != nil || fi.Mode().Perm() != 0o640 {
				return fmt.Errorf("restored drop-in: %v, %v; want mode 0640", fi.Mode(), err)
			}
			if _, err := os.Lstat(record); !os.IsNotExist(err) {
				return fmt.Errorf("the record is still there after destroy: %v", err)
			}
			return nil
		},
	})
}

// TestUnitImportTakesUpTheRecord: an import on a host that has a record
// (another state's create was lost) restores the record's original.
func TestUnitImportTakesUpTheRecord(t *testing.T) {
	f := newFakeFleet(t)
	root := f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	h := yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}
	if _, err := yama.Apply(context.Background(), h, yama.Change{File: yama.DefaultFile, Original: yama.RecordOriginal, Runtime: scopePtrUnit(2),
		Files: []yama.FileOp{{Path: yama.DefaultFile, Content: []byte(rendered2)}}}); err != nil {
		t.Fatal(err)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{{
			Config: scope2Config() + "\nimport {\n  to = yama_ptrace_scope.t\n  id = \"h1\"\n}\n",
			Check:  hostHoldsUnit(f, "2\n", rendered2),
		}},
		CheckDestroy: hostHoldsUnit(f, "1\n", vendorDropIn),
	})
}

// TestUnitDestroyForgetsTheRecord: every on_destroy removes the record, so
// a later create on the host takes the host as it then is.
func TestUnitDestroyForgetsTheRecord(t *testing.T) {
	for _, mode := range []string{onDestroyRestore, onDestroyRemove, onDestroyKeep} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeFleet(t)
			root := f.add("h1", "1\n", nil)
			record := filepath.Join(root, yama.RecordPath(yama.DefaultFile))
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: f.factories(),
				Steps: []resource.TestStep{{
					Config: onDestroyConfig(mode, "2", "x"),
					Check: func(*terraform.State) error {
						if _, err := os.Stat(record); err != nil {
							return fmt.Errorf("no record after the create: %v", err)
						}
						return nil
					},
				}},
				CheckDestroy: func(*terraform.State) error {
					if _, err := os.Lstat(record); !os.IsNotExist(err) {
						return fmt.Errorf("on_destroy = %s left the record: %v", mode, err)
					}
					return nil
				},
			})
		})
	}
}

// TestUnitLinkedSysctlDConverges: /etc/sysctl.d as a symbolic link (as
// systemd-sysctl follows it) converges: after the apply the plan is empty
// (the framework checks), and the boot value is predicted through it.
func TestUnitLinkedSysctlDConverges(t *testing.T) {
	for _, target := range []string{"../usr/lib/sysctl.d", "../srv/sysctl.d"} {
		t.Run(target, func(t *testing.T) {
			f := newFakeFleet(t)
			f.add("h1", "1\n", map[string]string{"/usr/lib/sysctl.d/50-pid-max.conf": "kernel.pid_max = 4194304\n", "/srv/sysctl.d/.keep": ""})
			f.symlink("h1", "/etc/sysctl.d", target)
			source := filepath.Join("/etc", target, "10-ptrace.conf") + ":1"
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: f.factories(),
				Steps: []resource.TestStep{
					{
						Config: scope2Config(),
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
						},
						Check: resource.ComposeAggregateTestCheckFunc(
							hostHoldsUnit(f, "2\n", rendered2),
							resource.TestCheckResourceAttr(unitRes, "boot_scope", "2"),
							resource.TestCheckResourceAttr(unitRes, "boot_source", source),
							resource.TestCheckResourceAttr(unitRes, "reboot_required", "false"),
						),
					},
					{Config: scope2Config(), PlanOnly: true},
				},
				CheckDestroy: hostHoldsUnit(f, "1\n", ""),
			})
		})
	}
}

// TestUnitLongFileName: a 250-byte file name works (create, plan clean,
// destroy); a 256-byte one is refused at plan time.
func TestUnitLongFileName(t *testing.T) {
	f := newFakeFleet(t)
	f.add("h1", "1\n", nil)
	name := "/etc/sysctl.d/" + strings.Repeat("y", 250-len(".conf")) + ".conf"
	cfg := func(file string) string {
		return unitConfig(`resource "yama_ptrace_scope" "t" {
  host  = "h1"
  scope = 2
  file  = %q
}`, file)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config:      cfg("/etc/sysctl.d/" + strings.Repeat("y", 256-len(".conf")) + ".conf"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid drop-in file.*256 bytes long; a file name has\s+at most 255`),
			},
			{
				Config: cfg(name),
				Check: func(*terraform.State) error {
					if got := f.file("h1", name); got != rendered2 {
						return fmt.Errorf("%s holds %q", name, got)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if got := f.file("h1", name); got != "" {
				return fmt.Errorf("%s left behind: %q", name, got)
			}
			return nil
		},
	})
}

// TestUnitRestoreModeAndOwner: a 0640 root:adm drop-in comes back 0640
// root:adm after create and destroy (the owner needs root, as on a host).
func TestUnitRestoreModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	f := newFakeFleet(t)
	root := f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	p := filepath.Join(root, yama.DefaultFile)
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 0, 4); err != nil {
		t.Fatal(err)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps:                    []resource.TestStep{{Config: scope2Config(), Check: hostHoldsUnit(f, "2\n", rendered2)}},
		CheckDestroy: func(*terraform.State) error {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o640 || st.Uid != 0 || st.Gid != 4 {
				return fmt.Errorf("restored drop-in is %v %d:%d, want 0640 0:4", fi.Mode().Perm(), st.Uid, st.Gid)
			}
			return f.expect("h1", "1\n", vendorDropIn)
		},
	})
}

// TestUnitRollbackSaysWhichStepsRan: the rollback warning lists the steps
// that ran and those that undid them; a create that failed before changing
// anything is not "rolled back" at all.
func TestUnitRollbackSaysWhichStepsRan(t *testing.T) {
	ran := []yama.Step{{Name: "record", Path: yama.RecordPath(yama.DefaultFile)}, {Name: "file", Path: yama.DefaultFile}}
	undone := []yama.Step{{Name: "file", Path: yama.DefaultFile}, {Name: "forget", Path: yama.RecordPath(yama.DefaultFile)}}
	d := rolledBackWarning("h1:22", &yama.State{Changed: ran, ChangedKnown: true}, undone).Detail()
	for _, want := range []string{
		"after these steps had run: recorded the original in " + yama.RecordPath(yama.DefaultFile) + "; wrote " + yama.DefaultFile + ".",
		"Putting the host back did: wrote " + yama.DefaultFile + "; removed the record",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("warning %q lacks %q", d, want)
		}
	}
	if strings.Contains(d, "some steps") {
		t.Errorf("warning still vague: %q", d)
	}
	if got := describeSteps(nil); got != "nothing" {
		t.Errorf("describeSteps(nil) = %q", got)
	}
	if d := rolledBackWarning("h1:22", &yama.State{Changed: ran[:1]}, undone).Detail(); !strings.Contains(d, "at least these steps had run (the host's answer was cut short): recorded") {
		t.Errorf("a lost answer is not told apart: %q", d)
	}

	// A create that fails before changing anything (here: the record of
	// the original cannot be made) is not "rolled back": nothing changed,
	// and no record is left.
	f := newFakeFleet(t)
	root := f.add("h1", "1\n", map[string]string{yama.DefaultFile: vendorDropIn})
	before := f.tree("h1")
	f.failTool("h1", "mktemp")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: f.factories(),
		Steps: []resource.TestStep{
			{
				Config:      scope2Config(),
				ExpectError: wrapped(`(?s)Cannot record the original on the host on h1:22.*record original on h1:22.*simulated failure.*nothing was changed`),
			},
			{
				PreConfig: func() {
					if err := f.expectTree("h1", before); err != nil {
						t.Error(err)
					}
					if _, err := os.Lstat(filepath.Join(root, yama.RecordPath(yama.DefaultFile))); !os.IsNotExist(err) {
						t.Errorf("record left: %v", err)
					}
					f.fixTools("h1")
				},
				Config: scope2Config(),
				Check:  hostHoldsUnit(f, "2\n", rendered2),
			},
		},
		CheckDestroy: hostHoldsUnit(f, "1\n", vendorDropIn),
	})
}

// Snapshots in private state from before mode and owner were kept still
// restore (as 0644 root:root, what the provider wrote then).
func TestUnitOldSnapshotStillRestores(t *testing.T) {
	old := []byte(`{"runtime":1,"file_kind":"reg","content":"a2VybmVsLnlhbWEucHRyYWNlX3Njb3BlPTEK"}`)
	snap := loadSnapshot(context.Background(), fakePrivate{snapshotKey: old})
	if snap == nil || snap.Mode != 0 || snap.Provisional || string(snap.Content) != "kernel.yama.ptrace_scope=1\n" {
		t.Fatalf("old snapshot loaded as %+v", snap)
	}
	c, _ := snap.Restore(&yama.State{Available: true, Runtime: ptrace.Scope(2), Managed: yama.File{Path: yama.DefaultFile, Kind: yama.KindMissing}},
		yama.DefaultFile, true, true, nil)
	if len(c.Files) != 1 || c.Files[0].Mode != 0 || c.Files[0].Owner != "" || c.Runtime == nil || *c.Runtime != 1 {
		t.Errorf("restore of an old snapshot: %+v", c)
	}
}

type fakePrivate map[string][]byte

func (p fakePrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

func scopePtrUnit(s ptrace.Scope) *ptrace.Scope { return &s }

// TestUnitOverrideFileLinkNotStored: an override file the resource wrote,
// replaced by a link to a secret, is drift; the state keeps nothing of the
// secret but its assignments of the key (hard link) or nothing (symlink).
func TestUnitOverrideFileLinkNotStored(t *testing.T) {
	over := "/etc/sysctl.d/zz-yama-ptrace-scope.conf"
	for _, kind := range []string{"symlink", "hard link"} {
		t.Run(kind, func(t *testing.T) {
			f := newFakeFleet(t)
			root := f.add("h1", "1\n", map[string]string{
				"/etc/sysctl.d/99-zz.conf": "kernel.yama.ptrace_scope = 0\n",
				"/etc/shadow":              unitSecret + "\nkernel.yama.ptrace_scope = 1\n",
			})
			cfg := unitConfig(`resource "yama_ptrace_scope" "t" {
  host      = "h1"
  scope     = 2
  shadowing = "override"
}`)
			noSecret := func(s *terraform.State) error {
				for _, r := range s.RootModule().Resources {
					for k, v := range r.Primary.Attributes {
						if strings.Contains(v, "UNIT-SECRET") {
							return fmt.Errorf("state attribute %s holds the secret", k)
						}
					}
				}
				return nil
			}
			want := ""
			if kind == "hard link" {
				want = "kernel.yama.ptrace_scope = 1\n"
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: f.factories(),
				Steps: []resource.TestStep{
					{Config: cfg, Check: resource.TestCheckResourceAttrSet(unitRes, "override_files."+over)},
					{
						PreConfig: func() {
							f.remove("h1", over)
							if kind == "symlink" {
								f.symlink("h1", over, "../shadow")
							} else if err := os.Link(filepath.Join(root, "/etc/shadow"), filepath.Join(root, over)); err != nil {
								t.Fatal(err)
							}
						},
						RefreshState:       true,
						ExpectNonEmptyPlan: true,
						Check: resource.ComposeAggregateTestCheckFunc(noSecret, func(s *terraform.State) error {
							got, ok := s.RootModule().Resources[unitRes].Primary.Attributes["override_files."+over]
							if got != want || ok != (want != "") {
								return fmt.Errorf("override_files holds %q (%v), want %q", got, ok, want)
							}
							return nil
						}),
					},
					{
						PreConfig: func() {
							f.remove("h1", over)
							f.write("h1", over, "# put back by hand\n")
						},
						Config: cfg,
						Check:  noSecret,
					},
				},
			})
		})
	}
}
