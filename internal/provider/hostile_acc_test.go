package provider

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/testhost"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Unusual and hostile hosts (issue 12), over SSH on sandbox hosts with the
// real terraform CLI: a drop-in linked to a secret never leaks it, an
// interrupted create loses nothing of the original, concurrent applies on
// one host serialise, restore keeps mode and owner, a long name works, a
// linked /etc/sysctl.d converges.

// hostileHost starts a sandbox host on which the provider can keep its
// record (see recordDirWritable).
func hostileHost(t *testing.T, opts testhost.Options) *testhost.Host {
	t.Helper()
	h := startHost(t, opts)
	recordDirWritable(t, h)
	return h
}

// recordDirWritable makes /var/lib writable inside a sandbox host, as it is
// on a real host, so that the provider can keep its record of the original
// in yama.RecordDir: testhost binds the machine's /var/lib read-only (only
// /var/lib/sudo is the host's own). In the host's own mount namespace, an
// overlay with its upper layer in the host's private /run goes over
// /var/lib, and the host's /var/lib/sudo is put back on top. Nothing of the
// machine's /var/lib changes. A host whose testhost already gives it
// yama.RecordDir is left as it is.
func recordDirWritable(t *testing.T, h *testhost.Host) {
	t.Helper()
	if h.Path(yama.RecordDir) != yama.RecordDir {
		return // testhost makes it one of the host's private dirs
	}
	const script = `set -e
d=/run/testhost-varlib
mkdir -p $d/upper $d/work $d/sudo
mount --bind /var/lib/sudo $d/sudo
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=$d/upper,workdir=$d/work /var/lib
mount --move $d/sudo /var/lib/sudo
`
	if out, err := exec.Command("nsenter", "-t", strconv.Itoa(h.Pid), "-m", "--", "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("making /var/lib writable on %s: %v\n%s", h.Name, err, out)
	}
}

// inHost is the outside path of a file as the sandbox host sees it (its
// own mounts included).
func inHost(h *testhost.Host, p string) string { return fmt.Sprintf("/proc/%d/root%s", h.Pid, p) }

// runWith runs terraform in w with extra environment.
func (w *tfWorkdir) runWith(env []string, args ...string) (string, int) {
	w.t.Helper()
	w2 := *w
	w2.env = append(append([]string{}, w.env...), env...)
	return w2.run(args...)
}

// TestAccHostData_linkToSecret: the drop-in as a symbolic link or a hard link
// to /etc/shadow is a plan error naming the path and what it is, for the
// resource (create, and refresh of an existing one) and the data source;
// the shadow file's text appears nowhere: not in plan or apply output, not
// in TF_LOG=trace output, not in terraform.tfstate or terraform show -json.
func TestAccHostData_linkToSecret(t *testing.T) {
	for _, kind := range []string{"symlink", "hard link"} {
		t.Run(kind, func(t *testing.T) {
			h := hostileHost(t, testhost.Options{Scope: "1"})
			secret := hostFile(t, h, "/etc/shadow") // the test users' password hashes
			marker := "$6$yamapwsalt$"
			if !strings.Contains(secret, marker) {
				t.Fatalf("the sandbox's /etc/shadow lacks %q:\n%s", marker, secret)
			}
			link := func() {
				_ = os.Remove(h.Path(yama.DefaultFile))
				var err error
				if kind == "symlink" {
					err = os.Symlink("/etc/shadow", h.Path(yama.DefaultFile))
				} else {
					err = os.Link(h.Path("/etc/shadow"), h.Path(yama.DefaultFile))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			what := `a symbolic link \(to /etc/shadow\)`
			if kind == "hard link" {
				what = `a hard link \(one of 2 names of the same file\)`
			}
			refused := regexp.MustCompile(`Drop-in path is not a regular file on ` + regexp.QuoteMeta(h.Addr) + `:22 .*` +
				regexp.QuoteMeta(yama.DefaultFile) + `.*` + what)
			var all strings.Builder // every output of every command
			run := func(w *tfWorkdir, env []string, args ...string) (string, int) {
				out, code := w.runWith(env, args...)
				all.WriteString(out)
				return out, code
			}
			noSecret := func(w *tfWorkdir, when string) {
				t.Helper()
				state, _ := os.ReadFile(filepath.Join(w.dir, "terraform.tfstate"))
				show, _ := run(w, nil, "show", "-json")
				for name, text := range map[string]string{"output": all.String(), "terraform.tfstate": string(state), "terraform show -json": show} {
					if strings.Contains(text, marker) {
						t.Errorf("%s: /etc/shadow's text is in the %s", when, name)
					}
				}
			}

			// A data source and a create, planned against the link.
			link()
			ds := newTFWorkdir(t, providerConfig()+fmt.Sprintf("data \"yama_ptrace_scope\" \"d\" {\n  host = %q\n}\n", h.Addr))
			for _, w := range []*tfWorkdir{ds, newTFWorkdir(t, resourceConfig(h, `scope = 2`))} {
				out, code := run(w, nil, "plan")
				if code != 1 || !refused.MatchString(flat(out)) {
					t.Fatalf("plan: exit %d, want 1 and %s:\n%s", code, refused, out)
				}
				run(w, []string{"TF_LOG=trace"}, "plan")
				noSecret(w, "plan")
			}
			if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
				t.Errorf("live value %q after refused plans", got)
			}

			// An existing resource whose drop-in becomes the link.
			if err := os.Remove(h.Path(yama.DefaultFile)); err != nil {
				t.Fatal(err)
			}
			w := newTFWorkdir(t, resourceConfig(h, `scope = 2`))
			if out, code := run(w, nil, "apply", "-auto-approve"); code != 0 {
				t.Fatalf("apply: exit %d\n%s", code, out)
			}
			link()
			for _, args := range [][]string{{"plan"}, {"apply", "-auto-approve"}, {"apply", "-refresh-only", "-auto-approve"}} {
				out, code := run(w, []string{"TF_LOG=trace"}, args...)
				if code != 1 || !refused.MatchString(flat(out)) {
					t.Fatalf("%s: exit %d, want 1 and %s:\n%s", args, code, refused, out)
				}
			}
			noSecret(w, "refresh")
			if got := hostFile(t, h, "/etc/shadow"); got != secret {
				t.Errorf("/etc/shadow changed:\n%s", got)
			}
			// A plain file again: the destroy restores the host.
			if err := os.Remove(h.Path(yama.DefaultFile)); err != nil {
				t.Fatal(err)
			}
			setHostFile(t, h, yama.DefaultFile, "kernel.yama.ptrace_scope = 2\n")
			if out, code := run(w, nil, "destroy", "-auto-approve"); code != 0 {
				t.Fatalf("destroy: exit %d\n%s", code, out)
			}
			noSecret(w, "destroy")
			if hostExists(h, yama.DefaultFile) || hostFile(t, h, testhost.YamaPath) != "1\n" {
				t.Errorf("destroy did not restore the host")
			}
		})
	}
}

// TestAccHostData_interruptedCreate: terraform and the provider are killed
// (SIGKILL) between the drop-in write and the live write of a create. The
// original drop-in (0640 root:adm, content the provider would not render)
// is recorded on the host before the write, so the next apply takes it as
// "before" and the destroy puts it back byte for byte, mode and owner too.
func TestAccHostData_interruptedCreate(t *testing.T) {
	orig := "# vendor default\nkernel.yama.ptrace_scope=1\n\n"
	h := hostileHost(t, testhost.Options{Scope: "1", Files: map[string]string{yama.DefaultFile: orig}})
	setOwnerMode(t, h.Path(yama.DefaultFile), 0, 4, 0o640)
	w := newTFWorkdir(t, resourceConfig(h, `scope = 2`))

	gate, err := h.GateYamaWrites()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(terraformPath(t), "apply", "-auto-approve", "-no-color")
	cmd.Dir, cmd.Env = w.dir, w.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // terraform and its provider: one group
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gate.Held():
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("no live write within 3 minutes:\n%s", out.String())
	}
	if got := hostFile(t, h, yama.DefaultFile); got != "kernel.yama.ptrace_scope = 2\n" {
		t.Errorf("at the live write the drop-in holds %q: the file goes first", got)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	gate.Release(false) // the live write never happens
	if err := gate.Close(); err != nil {
		t.Fatal(err)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
		t.Fatalf("live value %q after the kill, want 1", got)
	}
	rec, err := os.ReadFile(inHost(h, yama.RecordPath(yama.DefaultFile)))
	if err != nil || !bytes.HasSuffix(rec, []byte("\n\n"+orig)) {
		t.Fatalf("the record of the original after the kill: %v\n%q", err, rec)
	}
	if st := w.resourceState(res); st != nil {
		t.Fatalf("the killed create is in state: %v", st)
	}

	// Apply again (a create: the state holds nothing), then destroy.
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply after the kill: exit %d\n%s", code, out)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "2\n" {
		t.Errorf("live value %q after the second apply", got)
	}
	if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
		t.Fatalf("plan after the second apply: exit %d\n%s", code, out)
	}
	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if got := hostFile(t, h, yama.DefaultFile); got != orig {
		t.Errorf("destroy left the drop-in as %q, want the original %q", got, orig)
	}
	checkOwnerMode(t, h.Path(yama.DefaultFile), 0, 4, 0o640)
	if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
		t.Errorf("destroy left the live value %q, want 1", got)
	}
	if _, err := os.Lstat(inHost(h, yama.RecordPath(yama.DefaultFile))); !os.IsNotExist(err) {
		t.Errorf("the record is still there after destroy: %v", err)
	}
	noTempFiles(t, h)
}

// TestAccHostData_importFindsRecord: a state that is lost after its create
// (the record of the original stays on the host) is replaced by an import
// through a sudo login, which cannot see the root-only record at import:
// its snapshot is provisional, and the destroy, reading through sudo, takes
// the record instead, so the host gets back the drop-in it had before
// Terraform first touched it (not what the import found), and the record
// goes.
func TestAccHostData_importFindsRecord(t *testing.T) {
	orig := "# vendor default\nkernel.yama.ptrace_scope=1\n"
	h := hostileHost(t, testhost.Options{Scope: "1", Files: map[string]string{yama.DefaultFile: orig}})
	lost := newTFWorkdir(t, resourceConfig(h, `scope = 2`))
	if out, code := lost.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(lost.dir, "terraform.tfstate")); err != nil {
		t.Fatal(err)
	}
	w := newTFWorkdir(t, resourceConfig(h, "scope = 2\n  ssh {\n    user = \"yamasudo\"\n    sudo = true\n  }")+
		"\nimport {\n  to = "+res+"\n  id = \""+h.Addr+"\"\n}\n")
	if out, code := w.run("apply", "-auto-approve"); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if got := hostFile(t, h, yama.DefaultFile); got != orig {
		t.Errorf("destroy left the drop-in as %q, want the original %q", got, orig)
	}
	if got := hostFile(t, h, testhost.YamaPath); got != "1\n" {
		t.Errorf("destroy left the live value %q, want 1", got)
	}
	if _, err := os.Lstat(inHost(h, yama.RecordPath(yama.DefaultFile))); !os.IsNotExist(err) {
		t.Errorf("the record is still there after destroy: %v", err)
	}
}

// TestAccHostData_concurrentApplies: two terraform runs (two working dirs)
// apply to one host at once. The second waits for the host's lock while
// the first is held between its drop-in and live writes (it writes
// nothing meanwhile), then both complete. A third, whose wait for the lock
// runs out, fails with an error naming the host and the lock.
func TestAccHostData_concurrentApplies(t *testing.T) {
	h := hostileHost(t, testhost.Options{Scope: "1"})
	other := "/etc/sysctl.d/20-second.conf"
	wa := newTFWorkdir(t, resourceConfig(h, `scope = 2`))
	wb := newTFWorkdir(t, resourceConfig(h, fmt.Sprintf("scope = 2\n  file = %q", other)))
	// Plan both before either applies, as two people would.
	for _, w := range []*tfWorkdir{wa, wb} {
		if out, code := w.run("plan", "-out=plan"); code != 0 {
			t.Fatalf("plan: exit %d\n%s", code, out)
		}
	}
	gate, err := h.GateYamaWrites()
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	type result struct {
		out  string
		code int
	}
	ra, rb := make(chan result, 1), make(chan result, 1)
	go func() { out, code := wa.run("apply", "plan"); ra <- result{out, code} }()
	select {
	case <-gate.Held():
	case <-time.After(3 * time.Minute):
		t.Fatal("the first apply never reached its live write")
	}
	go func() { out, code := wb.run("apply", "plan"); rb <- result{out, code} }()

	// While the first holds the lock, the second changes nothing, and a
	// run that may wait only 2 s gives up with a clear error.
	defer setLockWait(2 * time.Second)()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      resourceConfig(h, "scope = 2\n  file = \"/etc/sysctl.d/30-third.conf\""),
			ExpectError: regexp.MustCompile(`(?s)Host busy on ` + regexp.QuoteMeta(h.Addr) + `:22.*` + regexp.QuoteMeta(yama.LockPath)),
		}},
	})
	if hostExists(h, other) || hostExists(h, "/etc/sysctl.d/30-third.conf") {
		t.Error("another apply wrote while the first one held the lock")
	}
	gate.Release(true)
	for name, ch := range map[string]chan result{"first": ra, "second": rb} {
		select {
		case r := <-ch:
			if r.code != 0 {
				t.Errorf("%s apply: exit %d\n%s", name, r.code, r.out)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("%s apply did not finish", name)
		}
	}
	if hostFile(t, h, testhost.YamaPath) != "2\n" || hostFile(t, h, other) != "kernel.yama.ptrace_scope = 2\n" || hostFile(t, h, yama.DefaultFile) != "kernel.yama.ptrace_scope = 2\n" {
		t.Errorf("after both applies: live %q, drop-ins %q, %q", hostFile(t, h, testhost.YamaPath), hostFile(t, h, yama.DefaultFile), hostFile(t, h, other))
	}
	for _, w := range []*tfWorkdir{wb, wa} {
		if out, code := w.run("destroy", "-auto-approve"); code != 0 {
			t.Errorf("destroy: exit %d\n%s", code, out)
		}
	}
	if hostFile(t, h, testhost.YamaPath) != "1\n" || hostExists(h, other) || hostExists(h, yama.DefaultFile) {
		t.Errorf("after both destroys: live %q, drop-ins exist %v %v", hostFile(t, h, testhost.YamaPath), hostExists(h, yama.DefaultFile), hostExists(h, other))
	}
}

// TestAccHostData_restoreModeAndOwner: a 0640 root:adm drop-in comes back
// 0640 root:adm (and byte for byte) after create and destroy.
func TestAccHostData_restoreModeAndOwner(t *testing.T) {
	orig := "kernel.yama.ptrace_scope = 1 # site default\n"
	h := hostileHost(t, testhost.Options{Scope: "1", Files: map[string]string{yama.DefaultFile: orig}})
	setOwnerMode(t, h.Path(yama.DefaultFile), 0, 4, 0o640)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: resourceConfig(h, `scope = 2`),
			Check: func(*terraform.State) error {
				checkOwnerMode(t, h.Path(yama.DefaultFile), 0, 0, 0o644)
				return nil
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			if got := hostFile(t, h, yama.DefaultFile); got != orig {
				return fmt.Errorf("restored drop-in %q, want %q", got, orig)
			}
			checkOwnerMode(t, h.Path(yama.DefaultFile), 0, 4, 0o640)
			return nil
		},
	})
}

// TestAccHostData_longFileName: a legal 250-byte file name works end to end
// (it used to fail: mktemp: File name too long).
func TestAccHostData_longFileName(t *testing.T) {
	h := hostileHost(t, testhost.Options{Scope: "1"})
	file := "/etc/sysctl.d/" + strings.Repeat("p", 250-len(".conf")) + ".conf"
	cfg := resourceConfig(h, fmt.Sprintf("scope = 2\n  file = %q", file))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := hostFile(t, h, file); got != "kernel.yama.ptrace_scope = 2\n" {
						return fmt.Errorf("the drop-in holds %q", got)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			if hostExists(h, file) {
				return fmt.Errorf("%s left after destroy", file)
			}
			noTempFiles(t, h)
			return nil
		},
	})
}

// TestAccHostData_linkedSysctlD: /etc/sysctl.d as a symbolic link to
// /usr/lib/sysctl.d (systemd-sysctl and procps follow it) converges: the
// plan after the apply is empty, the real `sysctl --system` on the host
// loads the value the plan predicted, and destroy removes the drop-in.
func TestAccHostData_linkedSysctlD(t *testing.T) {
	h := hostileHost(t, testhost.Options{Scope: "1", Files: map[string]string{"/usr/lib/sysctl.d/05-vendor.conf": "# nothing set here\n"}})
	if err := os.RemoveAll(h.Path("/etc/sysctl.d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../usr/lib/sysctl.d", h.Path("/etc/sysctl.d")); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: resourceConfig(h, `scope = 2`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(res, "boot_scope", "2"),
					resource.TestCheckResourceAttr(res, "boot_source", "/usr/lib/sysctl.d/10-ptrace.conf:1"),
					func(*terraform.State) error {
						if got := hostFile(t, h, "/usr/lib/sysctl.d/10-ptrace.conf"); got != "kernel.yama.ptrace_scope = 2\n" {
							return fmt.Errorf("the drop-in (through the link) holds %q", got)
						}
						// The real loader reads it through the link.
						setHostFile(t, h, testhost.YamaPath, "0\n")
						out, err := exec.Command("ssh", "-i", accEnv.ClientKeyPath(), "-o", "UserKnownHostsFile="+accEnv.KnownHostsPath(),
							"-o", "BatchMode=yes", "root@"+h.Addr, "/usr/sbin/sysctl --system").CombinedOutput()
						if err != nil || hostFile(t, h, testhost.YamaPath) != "2\n" {
							return fmt.Errorf("sysctl --system: %v, live %q\n%s", err, hostFile(t, h, testhost.YamaPath), out)
						}
						return nil
					},
				),
			},
			{Config: resourceConfig(h, `scope = 2`), PlanOnly: true},
		},
		CheckDestroy: func(*terraform.State) error {
			if hostExists(h, "/usr/lib/sysctl.d/10-ptrace.conf") {
				return fmt.Errorf("the drop-in is left after destroy")
			}
			return nil
		},
	})
}

func setOwnerMode(t *testing.T, p string, uid, gid int, mode os.FileMode) {
	t.Helper()
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func checkOwnerMode(t *testing.T, p string, uid, gid int, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s is %04o %d:%d, want %04o %d:%d", p, fi.Mode().Perm(), st.Uid, st.Gid, mode, uid, gid)
	}
}

func setLockWait(d time.Duration) (restore func()) {
	old := yama.LockWait
	yama.LockWait = d
	return func() { yama.LockWait = old }
}
