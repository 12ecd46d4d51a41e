//go:build vmtest

package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// Kernel truth: the provider against real Linux kernels with Yama, in qemu
// guests driven through the real terraform binary: Debian 12 (kernel 6.1,
// systemd 252, procps 4.0.2) and Debian 13 (kernel 6.12, systemd 257,
// procps 4.0.4), one after the other. See test/vm/README.md.
//
//	TF_ACC=1 go test -tags vmtest -run TestVM -v ./internal/provider/
//	YAMA_VM_FULL=1 ... for the whole reboot matrix
//	YAMA_VM_SUITES=trixie ... for one guest only
//
// One guest per distribution serves every step, in order: the stock guest
// first, then the changes; each boot group writes its sysctl.d layouts,
// predicts, reboots and compares the booted kernel with the prediction;
// the value-grammar group compares the kernel's parser with the
// provider's, without a reboot of its own.
func TestVM(t *testing.T) {
	if accEnv == nil {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc-vm does)")
	}
	distros := vmSelectDistros(t)
	image := os.Getenv("YAMA_VM_IMAGE")
	if image != "" && len(distros) != 1 {
		t.Fatalf("YAMA_VM_IMAGE=%s: name its suite in YAMA_VM_SUITES (one of bookworm, trixie)", image)
	}
	for _, d := range distros {
		// One VM at a time: the guests share two cores under TCG.
		t.Run(d.name, func(t *testing.T) { vmRunGuest(t, d, image) })
	}
}

// vmRunGuest runs the stock checks, the selected boot groups and the
// grammar group on one distribution's guest.
func vmRunGuest(t *testing.T, d vmDistro, image string) {
	full := os.Getenv("YAMA_VM_FULL") == "1"
	tm := &vmTimings{start: time.Now()}
	defer tm.report(t)

	img := vmImageDir(t, tm, d.suite, image)
	g := startGuest(t, img, tm)

	all := []vmBootGroup{lockGroup(), shadowWarnGroup(d), overrideGroup(), runDirGroup(), procpsGroup()}
	for i := range all {
		all[i].n = i + 1
	}
	// The grammar group needs no reboot (it writes the live value and runs
	// systemd-sysctl), but it ends with the kernel locked at 3: it runs
	// last. Its number is the one after the boot groups.
	grammarN := len(all) + 1
	groups, grammar := all[:1], true
	switch sel := os.Getenv("YAMA_VM_GROUPS"); {
	case sel != "":
		// e.g. YAMA_VM_GROUPS=1,5 while working on one group.
		groups, grammar = nil, false
		for _, s := range strings.Split(sel, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			switch {
			case err == nil && n == grammarN:
				grammar = true
			case err != nil || n < 1 || n > len(all):
				t.Fatalf("YAMA_VM_GROUPS=%s: want numbers 1-%d (%d: the value grammar)", sel, grammarN, grammarN)
			default:
				groups = append(groups, all[n-1])
			}
		}
		full = len(groups) == len(all) && grammar
	case full:
		groups = all
	}
	var keys []string
	seen := map[string]string{}
	for _, grp := range groups {
		for _, l := range grp.layouts {
			for _, k := range l.keys {
				if other, dup := seen[k]; dup {
					t.Fatalf("key %s is used by layouts %q and %q: each layout needs its own key", k, other, l.name)
				}
				seen[k] = l.name
				keys = append(keys, k)
			}
		}
	}

	var base map[string]string // kernel defaults, read on the stock guest
	phase := func(name string, f func(t *testing.T)) bool {
		start := time.Now()
		ok := t.Run(name, f)
		tm.add(name, time.Since(start))
		return ok
	}
	if !phase("stock guest", func(t *testing.T) { base = vmStock(t, g, d, keys) }) {
		t.FailNow() // later steps compare with the stock values
	}
	phase("apply 0 1 2", func(t *testing.T) { vmApply012(t, g, base) })
	phase("permissions", func(t *testing.T) { vmPermissions(t, g, base) })
	layouts := 0
	for _, grp := range groups {
		phase(fmt.Sprintf("boot group %d: %s", grp.n, grp.name), func(t *testing.T) {
			layouts += runBootGroup(t, g, grp, base, tm)
		})
	}
	forms := 0
	if grammar {
		phase(fmt.Sprintf("group %d: value grammar", grammarN), func(t *testing.T) {
			forms = vmGrammarGroup(t, g, d, tm)
		})
	}
	mode := "CI subset (YAMA_VM_FULL=1 for the whole matrix)"
	if full {
		mode = "full matrix"
	}
	t.Logf("%s on %s: %d boot groups, %d reboots, %d predictions compared with the booted kernel (each sysctl.d layout and each ptrace story counts once), %d value-grammar comparisons",
		mode, d.name, len(groups), g.boots-1, layouts, forms)
}

// vmDistro is one guest distribution and the stock facts the suite
// depends on; vmStock checks them, so a changed distribution shows.
type vmDistro struct {
	suite string // Debian suite for build-image.sh
	name  string // "Debian 12"
	// Versions the image must carry (prefixes of uname -r and of the
	// Debian package versions).
	kernel, systemd, procps string
	// sysctlConf: /etc/sysctl.conf exists and /etc/sysctl.d/99-sysctl.conf
	// links to it (Debian 12); Debian 13 ships neither.
	sysctlConf bool
	// vendor: the files of /usr/lib/sysctl.d.
	vendor []string
}

var vmDistros = []vmDistro{
	{suite: "bookworm", name: "Debian 12", kernel: "6.1.", systemd: "252.", procps: "2:4.0.2-",
		sysctlConf: true, vendor: []string{"50-pid-max.conf", "99-protect-links.conf"}},
	{suite: "trixie", name: "Debian 13", kernel: "6.12.", systemd: "257.", procps: "2:4.0.4-",
		vendor: []string{"10-coredump-debian.conf", "50-pid-max.conf"}},
}

// vmSelectDistros returns the guests YAMA_VM_SUITES asks for (default: all).
func vmSelectDistros(t *testing.T) []vmDistro {
	sel := os.Getenv("YAMA_VM_SUITES")
	if sel == "" {
		return vmDistros
	}
	var out []vmDistro
	for _, s := range strings.Split(sel, ",") {
		s = strings.TrimSpace(s)
		found := false
		for _, d := range vmDistros {
			if d.suite == s {
				out, found = append(out, d), true
			}
		}
		if !found {
			t.Fatalf("YAMA_VM_SUITES=%s: unknown suite %q (want bookworm, trixie)", sel, s)
		}
	}
	return out
}

// vmStock checks the data source on the untouched guest and returns the
// kernel's defaults for every key the matrix uses (and ptrace_scope).
func vmStock(t *testing.T, g *vmGuest, d vmDistro, keys []string) map[string]string {
	live := g.liveScope(t)
	tree := g.bootFiles(t)
	vmCheckDistro(t, g, d, tree)
	// Debian ships no ptrace setting: nothing sets the key at boot.
	if r := tree.now().resolve(t, yama.Key, sysctld.ModeSystemd); r.Set {
		t.Errorf("stock guest: the resolver says a file sets %s:\n%s", yama.Key, vmDescribe(r))
	}
	for _, k := range keys {
		if r := tree.now().resolve(t, k, sysctld.ModeSystemd); r.Set {
			t.Errorf("stock guest: %s is already set at boot (pick another key):\n%s", k, vmDescribe(r))
		}
	}
	const ds = "data.yama_ptrace_scope.vm"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: g.provider() + fmt.Sprintf(`
data "yama_ptrace_scope" "vm" {
  host = %q
}
`, vmHost),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(ds, "id", fmt.Sprintf("%s:%d", vmHost, g.port)),
				resource.TestCheckResourceAttr(ds, "available", "true"),
				resource.TestCheckResourceAttr(ds, "scope", live),
				resource.TestCheckResourceAttr(ds, "locked", strconv.FormatBool(live == "3")),
				resource.TestCheckResourceAttr(ds, "file_exists", "false"),
				resource.TestCheckResourceAttr(ds, "boot_mode", "auto"),
				resource.TestCheckNoResourceAttr(ds, "boot_scope"),
				resource.TestCheckNoResourceAttr(ds, "boot_source"),
				resource.TestCheckResourceAttr(ds, "assignments.#", "0"),
			),
		}},
	})
	base := g.sysctlValues(t, append([]string{yama.Key}, keys...))
	t.Logf("stock guest: ptrace_scope %s, no sysctl file sets it; defaults of the %d matrix keys read", live, len(keys))
	return base
}

// vmCheckDistro checks the versions and the stock sysctl layout that the
// groups' per-guest expectations rest on.
func vmCheckDistro(t *testing.T, g *vmGuest, d vmDistro, tree guestTree) {
	out := g.root(t, `uname -r; dpkg-query -W -f '${Version}\n' systemd; dpkg-query -W -f '${Version}\n' procps; /usr/lib/systemd/systemd-sysctl --version | head -n 1`)
	f := strings.Split(strings.TrimSpace(out), "\n")
	if len(f) < 4 || !strings.HasPrefix(f[0], d.kernel) || !strings.HasPrefix(f[1], d.systemd) || !strings.HasPrefix(f[2], d.procps) {
		t.Fatalf("%s guest: kernel, systemd, procps = %q; want %s*, %s*, %s*", d.name, f, d.kernel, d.systemd, d.procps)
	}
	t.Logf("%s guest: kernel %s, systemd %s (%s), procps %s", d.name, f[0], f[1], f[3], f[2])
	var vendor []string
	var conf, link string
	for _, e := range tree.entries {
		switch {
		case path.Dir(e.Path) == "/usr/lib/sysctl.d" && e.Kind == sysctld.KindRegular:
			vendor = append(vendor, path.Base(e.Path))
		case e.Path == "/etc/sysctl.conf":
			conf = "regular"
			if e.Kind != sysctld.KindRegular {
				conf = "not a regular file"
			}
		case e.Path == "/etc/sysctl.d/99-sysctl.conf":
			link = "not a symlink"
			if e.Kind == sysctld.KindSymlink {
				link = e.Target
			}
		}
	}
	sort.Strings(vendor)
	if strings.Join(vendor, " ") != strings.Join(d.vendor, " ") {
		t.Errorf("%s guest: /usr/lib/sysctl.d holds %v, want %v", d.name, vendor, d.vendor)
	}
	switch {
	case d.sysctlConf && (conf != "regular" || link != "../sysctl.conf"):
		t.Errorf("%s guest: want /etc/sysctl.conf and 99-sysctl.conf -> ../sysctl.conf; have /etc/sysctl.conf %q, 99-sysctl.conf %q", d.name, conf, link)
	case !d.sysctlConf && (conf != "" || link != ""):
		t.Errorf("%s guest: want neither /etc/sysctl.conf nor 99-sysctl.conf; have /etc/sysctl.conf %q, 99-sysctl.conf %q", d.name, conf, link)
	}
}

// vmApply012 applies 0, 1 and 2 in turn and reads the kernel after each.
func vmApply012(t *testing.T, g *vmGuest, base map[string]string) {
	var steps []resource.TestStep
	for _, s := range []string{"0", "1", "2"} {
		steps = append(steps, resource.TestStep{
			Config: g.resource(`scope = ` + s),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr(res, "runtime_scope", s),
				resource.TestCheckResourceAttr(res, "reboot_required", "false"),
				resource.TestCheckResourceAttr(res, "boot_scope", s),
				g.holds(t, s, "kernel.yama.ptrace_scope = "+s+"\n"),
			),
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps:                    steps,
		// on_destroy = "restore": the stock value, and no drop-in.
		CheckDestroy: g.holds(t, base[yama.Key], ""),
	})
}

// vmPermissions: a user without sudo gets the provider's permission error
// from the real kernel and file system; a NOPASSWD sudo user succeeds.
func vmPermissions(t *testing.T, g *vmGuest, base map[string]string) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: g.resource(`
  scope = 2
  ssh {
    user = "yamauser"
  }`),
			ExpectError: regexp.MustCompile(`Permission denied on ` + regexp.QuoteMeta(fmt.Sprintf("%s:%d", vmHost, g.port)) + `(?s).*sudo = true`),
		}},
	})
	if err := g.holds(t, base[yama.Key], "")(nil); err != nil {
		t.Errorf("after the refused apply: %v", err)
	}
	// The kernel's own answer to the same user.
	r, err := g.sshAs("yamauser", "/usr/sbin/sysctl -w kernel.yama.ptrace_scope=2", nil, time.Minute, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stderr, "permission denied") && !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("yamauser: sysctl -w: exit %d, stderr %q; want a permission error", r.code, r.stderr)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: g.resource(`
  scope = 1
  ssh {
    user = "yamasudo"
    sudo = true
  }`),
			Check: g.holds(t, "1", "kernel.yama.ptrace_scope = 1\n"),
		}},
		CheckDestroy: g.holds(t, base[yama.Key], ""),
	})
}

// holds checks the live value and the default drop-in over plain ssh.
func (g *vmGuest) holds(t *testing.T, live, dropIn string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		r, err := g.sshAs("root", "cat /proc/sys/kernel/yama/ptrace_scope; echo ---; cat "+yama.DefaultFile+" 2>/dev/null || true", nil, time.Minute, true)
		if err != nil {
			return err
		}
		gotLive, gotFile, _ := strings.Cut(r.stdout, "---\n")
		if strings.TrimSpace(gotLive) != live {
			return fmt.Errorf("kernel ptrace_scope = %q, want %q", strings.TrimSpace(gotLive), live)
		}
		if gotFile != dropIn {
			return fmt.Errorf("%s = %q, want %q", yama.DefaultFile, gotFile, dropIn)
		}
		return nil
	}
}

const vmHost = "127.0.0.1"

func (g *vmGuest) provider() string {
	return fmt.Sprintf(`
provider "yama" {
  private_key      = file(%q)
  known_hosts_file = %q
  port             = %d
}
`, g.key, g.knownHosts, g.port)
}

func (g *vmGuest) resource(body string) string {
	return g.provider() + fmt.Sprintf(`
resource "yama_ptrace_scope" "test" {
  host = %q
  %s
}
`, vmHost, body)
}

func (g *vmGuest) id() string { return fmt.Sprintf("%s:%d", vmHost, g.port) }

// The reboot matrix.

// vmKeyLayout is one sysctl.d layout that decides its own harmless key, so
// several layouts share a boot. The expected boot value comes from the
// provider's resolver (systemd-sysctl rules) over the guest's files as the
// next boot will see them; a key nothing sets keeps the kernel default.
type vmKeyLayout struct {
	name       string
	files      []vmGfile
	sysctlConf string   // appended to /etc/sysctl.conf
	keys       []string // checked after boot
	// nowDiffers: /run content that the next boot will not see; before
	// the reboot, systemd-sysctl --prefix proves the layout is in force
	// now, as the files are.
	nowDiffers bool
	// want, when set, is the boot value of a key that this guest's stock
	// files decide (such as /etc/sysctl.conf through Debian 12's
	// 99-sysctl.conf link): the resolver must predict it too.
	want map[string]string
}

// vmPtraceStory is the one thing per boot that decides kernel.yama.ptrace_scope,
// driven through terraform and the provider; its boot_scope is the
// prediction.
type vmPtraceStory struct {
	name string
	// before sets it up and returns the provider's boot_scope ("" for
	// null: the kernel default).
	before func(t *testing.T, g *vmGuest) string
	after  func(t *testing.T, g *vmGuest)
	// procps, if set, runs after sysctl --system (r is its result).
	procps func(t *testing.T, g *vmGuest, r vmSshResult)
	// why explains a mismatch that has a known cause.
	why string
}

type vmBootGroup struct {
	n       int // 1-based, for YAMA_VM_GROUPS
	name    string
	story   vmPtraceStory
	layouts []vmKeyLayout
	// runUnit installs yama-vm-run-sysctl.service, which copies
	// /etc/yama-vm/run-sysctl.d into /run/sysctl.d before systemd-sysctl.
	runUnit bool
	// procps: after the boot checks, run sysctl --system and compare with
	// the resolver's procps rules.
	procps bool
}

const vmRunUnitFile = `[Unit]
Description=yama VM test: recreate /run/sysctl.d before systemd-sysctl (stand-in for a generator)
DefaultDependencies=no
Before=systemd-sysctl.service
ConditionDirectoryNotEmpty=/etc/yama-vm/run-sysctl.d

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'mkdir -p /run/sysctl.d && cp -a /etc/yama-vm/run-sysctl.d/. /run/sysctl.d/'

[Install]
WantedBy=sysinit.target
`

// runBootGroup writes the group's layouts, lets the story predict, reboots
// and compares. It returns how many predictions it compared.
func runBootGroup(t *testing.T, g *vmGuest, grp vmBootGroup, base map[string]string, tm *vmTimings) int {
	stockConf, haveConf := g.sysctlConf(t)
	var paths []string
	var files []vmGfile
	var confTail strings.Builder
	for _, l := range grp.layouts {
		files = append(files, l.files...)
		confTail.WriteString(l.sysctlConf)
	}
	if grp.runUnit {
		files = append(files, vmGfile{path: "/etc/systemd/system/yama-vm-run-sysctl.service", content: vmRunUnitFile})
	}
	for _, f := range files {
		paths = append(paths, f.path)
	}
	// Whatever happens, the next group starts from the stock files.
	t.Cleanup(func() {
		if grp.runUnit {
			g.root(t, "systemctl disable -q yama-vm-run-sysctl.service; rm -rf /etc/yama-vm")
		}
		g.removeFiles(t, append(paths, yama.DefaultFile, "/etc/sysctl.d/zz-yama-ptrace-scope.conf")...)
		if haveConf {
			g.writeFiles(t, []vmGfile{{path: "/etc/sysctl.conf", content: stockConf}})
		} else {
			g.removeFiles(t, "/etc/sysctl.conf")
		}
	})
	g.writeFiles(t, files)
	if confTail.Len() > 0 {
		g.rootIn(t, "cat >> /etc/sysctl.conf", []byte(confTail.String()))
	}
	if grp.runUnit {
		g.root(t, "systemctl daemon-reload && systemctl enable -q yama-vm-run-sysctl.service")
	}
	predicted := grp.story.before(t, g)
	if t.Failed() {
		t.FailNow()
	}
	// The layouts' predictions, from the files as they are right before
	// the reboot.
	tree := g.bootFiles(t)
	boot := tree.atBoot()
	type expectation struct {
		layout, key, want string
		res               sysctld.Result
	}
	var exps []expectation
	for _, l := range grp.layouts {
		for _, k := range l.keys {
			r := boot.resolve(t, k, sysctld.ModeSystemd)
			want := base[k]
			if r.Set {
				want = r.Value
			}
			if w, ok := l.want[k]; ok && w != want {
				t.Errorf("%s: the resolver predicts %s = %q at boot; on this guest it should be %q\n%s", l.name, k, want, w, vmDescribe(r))
			}
			exps = append(exps, expectation{l.name, k, want, r})
			if l.nowDiffers {
				// The /run file is in force now: systemd-sysctl, run
				// for this key only, applies what the resolver
				// predicts from the files as they are.
				nr := tree.now().resolve(t, k, sysctld.ModeSystemd)
				if !nr.Set || nr.Value == want {
					t.Fatalf("%s: the layout should differ between now and the next boot:\n%s\n%s", l.name, vmDescribe(nr), vmDescribe(r))
				}
				g.root(t, "/usr/lib/systemd/systemd-sysctl --prefix="+vmShellQuote(k))
				if got := g.sysctlValues(t, []string{k})[k]; got != nr.Value {
					t.Errorf("%s: before the reboot systemd-sysctl --prefix=%s set %q; the resolver over the current files predicts %q\n%s", l.name, k, got, nr.Value, vmDescribe(nr))
				} else {
					t.Logf("%s: before the reboot, systemd-sysctl applies %s = %s from the current files (the next boot will not see them)", l.name, k, got)
				}
			}
		}
	}
	took := g.reboot(t)
	tm.add(fmt.Sprintf("  reboot %d (%s)", g.boots-1, grp.name), took)
	t.Logf("reboot %d took %.1fs", g.boots-1, took.Seconds())

	var keys []string
	for _, e := range exps {
		keys = append(keys, e.key)
	}
	vals := g.sysctlValues(t, append([]string{yama.Key}, keys...))
	compared := 0
	bad := false
	for _, l := range grp.layouts {
		compared++
		t.Run("layout "+l.name, func(t *testing.T) {
			for _, e := range exps {
				if e.layout != l.name {
					continue
				}
				if vals[e.key] != e.want {
					bad = true
					t.Errorf("%s after boot = %q, predicted %q (kernel default %q)\n%s\nfiles at boot:\n%s",
						e.key, vals[e.key], e.want, base[e.key], vmDescribe(e.res), boot)
				} else {
					t.Logf("%s = %s after boot, as predicted (%s)", e.key, e.want, vmSource(e.res))
				}
			}
		})
	}
	compared++
	t.Run("ptrace "+grp.story.name, func(t *testing.T) {
		want := predicted
		if want == "" {
			want = base[yama.Key]
		}
		if got := vals[yama.Key]; got != want {
			bad = true
			t.Errorf("kernel.yama.ptrace_scope after boot = %s, but the provider predicted boot_scope = %s before the reboot%s",
				got, vmOrNull(predicted), grp.story.why)
		} else {
			t.Logf("kernel.yama.ptrace_scope = %s after boot; the provider predicted boot_scope = %s", got, vmOrNull(predicted))
		}
		if grp.story.after != nil {
			grp.story.after(t, g)
		}
	})
	if grp.runUnit {
		// The stand-in generator ran, and before systemd-sysctl.
		out := g.root(t, `systemctl show -p ActiveState --value yama-vm-run-sysctl.service
systemctl show -p ExecMainExitTimestampMonotonic --value yama-vm-run-sysctl.service
systemctl show -p ExecMainStartTimestampMonotonic --value systemd-sysctl.service`)
		f := strings.Fields(out)
		if len(f) != 3 || f[0] != "active" || vmAtoi(f[1]) == 0 || vmAtoi(f[1]) > vmAtoi(f[2]) {
			t.Errorf("yama-vm-run-sysctl.service did not run before systemd-sysctl.service: %q", out)
		}
	}
	if bad {
		t.Logf("systemd-sysctl this boot:\n%s", g.root(t, "journalctl -b -o cat -u systemd-sysctl.service --no-pager || true"))
	}
	if !grp.procps {
		return compared
	}

	// procps: sysctl --system, as a host without systemd-sysctl would
	// apply the same files (every assignment in order, /etc/sysctl.conf
	// last). A key it does not set keeps its current value.
	after := g.bootFiles(t).now()
	var pexps []expectation
	for _, e := range exps {
		r := after.resolve(t, e.key, sysctld.ModeProcps)
		want := vals[e.key]
		if r.Set {
			want = r.Value
		}
		pexps = append(pexps, expectation{e.layout, e.key, want, r})
	}
	r, err := g.sshAs("root", "/usr/sbin/sysctl --system", nil, 2*time.Minute, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sysctl --system: exit %d, stderr:\n%s", r.code, r.stderr)
	pvals := g.sysctlValues(t, keys)
	for _, l := range grp.layouts {
		compared++
		t.Run("procps layout "+l.name, func(t *testing.T) {
			for _, e := range pexps {
				if e.layout != l.name {
					continue
				}
				if pvals[e.key] != e.want {
					t.Errorf("%s after sysctl --system = %q, procps prediction %q\n%s\nfiles:\n%s", e.key, pvals[e.key], e.want, vmDescribe(e.res), after)
				} else {
					t.Logf("%s = %s after sysctl --system, as predicted (%s)", e.key, e.want, vmSource(e.res))
				}
			}
		})
	}
	if grp.story.procps != nil {
		compared++
		t.Run("procps ptrace "+grp.story.name, func(t *testing.T) { grp.story.procps(t, g, r) })
	}
	return compared
}

func vmSource(r sysctld.Result) string {
	if !r.Set {
		return "no file sets it: kernel default"
	}
	via := ""
	if r.Source.Via != "" {
		via = " via " + r.Source.Via
	}
	return fmt.Sprintf("%s:%d%s", r.Source.File, r.Source.Line, via)
}

func vmOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

func vmAtoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Boot groups. Every layout uses its own key; values differ from the
// kernel defaults and from each other so that a wrong rule shows.

const (
	vmEtcD    = "/etc/sysctl.d/"
	vmRunD    = "/run/sysctl.d/"
	vmUsrLibD = "/usr/lib/sysctl.d/"
	vmLocalD  = "/usr/local/lib/sysctl.d/"
)

func vmConf(p, content string) vmGfile   { return vmGfile{path: p, content: content} }
func vmSymlink(p, target string) vmGfile { return vmGfile{path: p, link: target} }

// Group 1 (also the CI subset): the lock at 3, and the basic layouts.
func lockGroup() vmBootGroup {
	return vmBootGroup{
		name:  "lock at 3 and basic layouts",
		story: lockStory(),
		layouts: []vmKeyLayout{
			{name: "vendor file in /usr/lib/sysctl.d",
				files: []vmGfile{vmConf(vmUsrLibD+"60-yvm-vendor.conf", "# vendor default\nvm.swappiness = 13\n")},
				keys:  []string{"vm.swappiness"}},
			{name: "same name in /etc masks /usr/lib",
				files: []vmGfile{
					vmConf(vmUsrLibD+"60-yvm-samename.conf", "kernel.msgmax = 9001\n"),
					vmConf(vmEtcD+"60-yvm-samename.conf", "kernel.msgmax = 9002\n"),
				},
				keys: []string{"kernel.msgmax"}},
			{name: "/dev/null symlink masks",
				files: []vmGfile{
					vmConf(vmUsrLibD+"60-yvm-devnull.conf", "kernel.msgmnb = 17000\n"),
					vmSymlink(vmEtcD+"60-yvm-devnull.conf", "/dev/null"),
				},
				keys: []string{"kernel.msgmnb"}},
			{name: "later-sorting file wins across directories",
				files: []vmGfile{
					vmConf(vmEtcD+"20-yvm-order.conf", "kernel.msgmni = 31001\n"),
					vmConf(vmUsrLibD+"80-yvm-order.conf", "kernel.msgmni = 31002\n"),
				},
				keys: []string{"kernel.msgmni"}},
		},
	}
}

// Group 2: shadowing = "error" and "warn". On Debian 12 the shadowing line
// is in /etc/sysctl.conf (read through the stock 99-sysctl.conf symlink);
// Debian 13 has no such link, so a line there is not read at boot at all
// and a later vendor file shadows instead.
func shadowWarnGroup(d vmDistro) vmBootGroup {
	conf := vmKeyLayout{name: "99-sysctl.conf symlink to /etc/sysctl.conf wins",
		files:      []vmGfile{vmConf(vmEtcD+"50-yvm-conf.conf", "net.core.somaxconn = 2222\n")},
		sysctlConf: "net.core.somaxconn = 1111\n",
		keys:       []string{"net.core.somaxconn"},
		want:       map[string]string{"net.core.somaxconn": "1111"}}
	if !d.sysctlConf {
		conf.name = "/etc/sysctl.conf is not read at boot (no 99-sysctl.conf link)"
		conf.want = map[string]string{"net.core.somaxconn": "2222"}
	}
	return vmBootGroup{
		name:  "shadowing warn and error",
		story: shadowWarnStory(d),
		layouts: []vmKeyLayout{
			conf,
			{name: "glob key, explicit key beats it whatever the order",
				files: []vmGfile{
					vmConf(vmEtcD+"10-yvm-neigh.conf", "net.ipv4.neigh.lo.gc_stale_time = 66\n"),
					vmConf(vmEtcD+"20-yvm-neigh.conf", "net.ipv4.neigh.*.gc_stale_time = 77\n"),
				},
				keys: []string{"net.ipv4.neigh.lo.gc_stale_time", "net.ipv4.neigh.default.gc_stale_time"}},
			{name: "dotted then slashed key: one key",
				files: []vmGfile{
					vmConf(vmUsrLibD+"30-yvm-dot.conf", "net.core.netdev_max_backlog = 1500\n"),
					vmConf(vmEtcD+"31-yvm-slash.conf", "net/core/netdev_max_backlog = 1234\n"),
				},
				keys: []string{"net.core.netdev_max_backlog"}},
			{name: "empty file masks",
				files: []vmGfile{
					vmConf(vmUsrLibD+"60-yvm-empty.conf", "kernel.shmmni = 4000\n"),
					vmConf(vmEtcD+"60-yvm-empty.conf", ""),
				},
				keys: []string{"kernel.shmmni"}},
		},
	}
}

// Group 3: shadowing = "override" against a later-sorting vendor file with
// a slashed, "-"-prefixed key.
func overrideGroup() vmBootGroup {
	return vmBootGroup{
		name:  "shadowing override",
		story: overrideStory(),
		layouts: []vmKeyLayout{
			{name: "- prefix still assigns",
				files: []vmGfile{vmConf(vmEtcD+"40-yvm-dash.conf", "-vm.vfs_cache_pressure = 90\n-kernel.yvm_no_such_key = 1\n")},
				keys:  []string{"vm.vfs_cache_pressure"}},
			{name: "/usr/local/lib masks /usr/lib",
				files: []vmGfile{
					vmConf(vmLocalD+"60-yvm-local.conf", "net.ipv4.tcp_keepalive_intvl = 70\n"),
					vmConf(vmUsrLibD+"60-yvm-local.conf", "net.ipv4.tcp_keepalive_intvl = 71\n"),
				},
				keys: []string{"net.ipv4.tcp_keepalive_intvl"}},
			{name: "dangling symlink masks",
				files: []vmGfile{
					vmSymlink(vmEtcD+"60-yvm-dangling.conf", "/nonexistent/yvm.conf"),
					vmConf(vmUsrLibD+"60-yvm-dangling.conf", "net.unix.max_dgram_qlen = 600\n"),
				},
				keys: []string{"net.unix.max_dgram_qlen"}},
			{name: "-key exclusion keeps a glob away",
				files: []vmGfile{
					vmConf(vmEtcD+"10-yvm-excl.conf", "-net.ipv4.conf.lo.log_martians\n"),
					vmConf(vmEtcD+"20-yvm-excl.conf", "net.ipv4.conf.*.log_martians = 1\n"),
				},
				keys: []string{"net.ipv4.conf.lo.log_martians", "net.ipv4.conf.all.log_martians"}},
			{name: "comments, blanks, last line of a file wins",
				files: []vmGfile{vmConf(vmEtcD+"45-yvm-syntax.conf",
					"# comment\n; comment\n\n   fs.inotify.max_user_instances=200   \nfs.inotify.max_user_instances = 256\n")},
				keys: []string{"fs.inotify.max_user_instances"}},
		},
	}
}

// Group 4: /run/sysctl.d, a tmpfs. A file written there right before the
// reboot masks a vendor file now (systemd-sysctl proves it) and is gone at
// boot; a file that a unit recreates early at every boot (as a generator
// would) is read at boot like any other. The ptrace story puts the
// provider's own drop-in there.
func runDirGroup() vmBootGroup {
	return vmBootGroup{
		name:    "/run/sysctl.d",
		story:   runDropInStory(),
		runUnit: true,
		layouts: []vmKeyLayout{
			{name: "/run masks a vendor file until the reboot",
				files: []vmGfile{
					vmConf(vmUsrLibD+"60-yvm-runmask.conf", "kernel.printk_ratelimit = 7\n"),
					vmConf(vmRunD+"60-yvm-runmask.conf", "kernel.printk_ratelimit = 9\n"),
				},
				keys:       []string{"kernel.printk_ratelimit"},
				nowDiffers: true},
			{name: "/run recreated at boot masks a vendor file",
				files: []vmGfile{
					vmConf(vmUsrLibD+"60-yvm-rungen.conf", "kernel.printk_ratelimit_burst = 12\n"),
					vmConf(vmRunD+"60-yvm-rungen.conf", "kernel.printk_ratelimit_burst = 14\n"),
					vmConf(vmRunStaging+"/60-yvm-rungen.conf", "kernel.printk_ratelimit_burst = 14\n"),
				},
				keys: []string{"kernel.printk_ratelimit_burst"}},
			{name: "/run recreated at boot sorts after /etc",
				files: []vmGfile{
					vmConf(vmEtcD+"30-yvm-runorder.conf", "vm.dirty_background_ratio = 11\n"),
					vmConf(vmRunD+"70-yvm-runorder.conf", "vm.dirty_background_ratio = 7\n"),
					vmConf(vmRunStaging+"/70-yvm-runorder.conf", "vm.dirty_background_ratio = 7\n"),
				},
				keys: []string{"vm.dirty_background_ratio"}},
		},
	}
}

// Group 5: an earlier 3 then the drop-in's 1. systemd-sysctl writes the
// key once (1); procps writes both in order, and the kernel refuses the 1.
func procpsGroup() vmBootGroup {
	return vmBootGroup{
		name:   "systemd vs procps, lock at boot",
		story:  procpsStory(),
		procps: true,
		layouts: []vmKeyLayout{
			{name: "file sorting after 99-sysctl.conf vs /etc/sysctl.conf",
				files:      []vmGfile{vmConf(vmEtcD+"zz-yvm-after.conf", "vm.dirty_ratio = 32\n")},
				sysctlConf: "vm.dirty_ratio = 31\n",
				keys:       []string{"vm.dirty_ratio"}},
			{name: "-key exclusion after an assignment",
				files: []vmGfile{
					vmConf(vmEtcD+"10-yvm-exclafter.conf", "vm.stat_interval = 2\n"),
					vmConf(vmEtcD+"20-yvm-exclafter.conf", "-vm.stat_interval\n"),
				},
				keys: []string{"vm.stat_interval"}},
		},
	}
}

// Stories.

func lockStory() vmPtraceStory {
	var w *tfWorkdir
	return vmPtraceStory{
		name: "apply 3, then persist 1 with apply_runtime = false",
		before: func(t *testing.T, g *vmGuest) string {
			w = vmWorkdir(t, g.resource(`scope = 3`))
			out, code := w.run("plan", "-detailed-exitcode")
			warned := regexp.MustCompile(`Warning: ptrace_scope 3 cannot be undone without a reboot on ` + regexp.QuoteMeta(g.id()))
			if code != 2 || !warned.MatchString(out) {
				t.Fatalf("plan setting 3: exit %d, want 2 and the scope-3 warning:\n%s", code, out)
			}
			vmTfMust(t, w, "apply", "-auto-approve")
			if got := g.liveScope(t); got != "3" {
				t.Fatalf("after apply 3 the kernel holds %s", got)
			}

			// Asking for less with apply_runtime = true fails at plan time.
			vmSetConfig(t, w, g.resource(`scope = 1`))
			out, code = w.run("plan")
			locked := regexp.MustCompile(`(?s)Error: ptrace_scope is locked at 3 on ` + regexp.QuoteMeta(g.id()) +
				`.*refuses\s+any\s+other\s+value\s+until\s+reboot.*apply_runtime\s+=\s+false`)
			if code != 1 || !locked.MatchString(out) {
				t.Fatalf("plan asking 1 from a host at 3: exit %d, want 1 and the lock explanation:\n%s", code, out)
			}
			// Kernel truth: the same write by hand.
			r, err := g.sshAs("root", "/usr/sbin/sysctl -w kernel.yama.ptrace_scope=1", nil, time.Minute, true)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.stderr, `setting key "kernel.yama.ptrace_scope": Invalid argument`) {
				t.Errorf("sysctl -w kernel.yama.ptrace_scope=1 at 3: exit %d, stderr %q; want Invalid argument", r.code, r.stderr)
			}
			t.Logf("kernel at 3: sysctl -w kernel.yama.ptrace_scope=1 exits %d with %q", r.code, strings.TrimSpace(r.stderr))
			r, err = g.sshAs("root", "echo 3 > /proc/sys/kernel/yama/ptrace_scope", nil, time.Minute, true)
			if err != nil || r.code != 0 {
				t.Errorf("writing 3 again at 3: exit %d, stderr %q; want success", r.code, r.stderr)
			}
			if got := g.liveScope(t); got != "3" {
				t.Fatalf("after refused writes the kernel holds %s", got)
			}

			// apply_runtime = false persists 1 for the next boot.
			vmSetConfig(t, w, g.resource(`
  scope         = 1
  apply_runtime = false`))
			vmTfMust(t, w, "apply", "-auto-approve")
			a := vmTfAttrs(t, w, res)
			vmWantAttrs(t, a, map[string]string{
				"reboot_required": "true", "runtime_scope": "3", "boot_scope": "1",
				"boot_source": yama.DefaultFile + ":1", "file_content": "kernel.yama.ptrace_scope = 1\n",
			})
			if got := g.liveScope(t); got != "3" {
				t.Errorf("apply_runtime = false changed the kernel to %s", got)
			}
			return vmAttrString(a["boot_scope"])
		},
		after: func(t *testing.T, g *vmGuest) {
			vmTfMust(t, w, "apply", "-refresh-only", "-auto-approve")
			vmWantAttrs(t, vmTfAttrs(t, w, res), map[string]string{"reboot_required": "false", "runtime_scope": "1", "boot_scope": "1"})
			if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
				t.Errorf("plan after the reboot: exit %d, want 0 (no changes):\n%s", code, out)
			}
		},
	}
}

func shadowWarnStory(d vmDistro) vmPtraceStory {
	if !d.sysctlConf {
		return shadowVendorStory()
	}
	var w *tfWorkdir
	return vmPtraceStory{
		name: "/etc/sysctl.conf shadows the drop-in (warn; error refuses)",
		before: func(t *testing.T, g *vmGuest) string {
			// Debian-style: the setting in /etc/sysctl.conf, which
			// systemd-sysctl reads through 99-sysctl.conf, and a vendor
			// glob that sorts last but never applies to an explicit key.
			n := strings.TrimSpace(g.root(t, "printf 'kernel.yama.ptrace_scope = 1\\n' >> /etc/sysctl.conf && wc -l < /etc/sysctl.conf"))
			g.writeFiles(t, []vmGfile{vmConf(vmUsrLibD+"zz-yvm-glob.conf", "kernel.yama.ptrace_scop? = 0\n")})
			t.Cleanup(func() { g.removeFiles(t, vmUsrLibD+"zz-yvm-glob.conf") })
			shadow := "/etc/sysctl.conf:" + n
			before := g.liveScope(t)

			w = vmWorkdir(t, g.resource(`
  scope     = 2
  shadowing = "error"`))
			out, code := w.run("plan")
			refused := regexp.MustCompile(`(?s)Error: Drop-in will not set ptrace_scope at boot on ` + regexp.QuoteMeta(g.id()) + `.*` + regexp.QuoteMeta(shadow))
			if code != 1 || !refused.MatchString(out) {
				t.Fatalf("shadowing = error: exit %d, want 1 and an error naming %s:\n%s", code, shadow, out)
			}
			if err := g.holds(t, before, "")(nil); err != nil {
				t.Errorf("after the refused plan: %v", err)
			}

			vmSetConfig(t, w, g.resource(`scope = 2`)+fmt.Sprintf(`
data "yama_ptrace_scope" "vm" {
  host       = %q
  depends_on = [yama_ptrace_scope.test]
}
`, vmHost))
			out, code = w.run("plan", "-detailed-exitcode")
			warned := regexp.MustCompile(`(?s)Warning: Drop-in will not set ptrace_scope at boot on ` + regexp.QuoteMeta(g.id()) +
				`.*` + regexp.QuoteMeta(shadow) + `\s+\(through\s+/etc/sysctl\.d/99-sysctl\.conf\)\s+sets\s+1`)
			if code != 2 || !warned.MatchString(out) {
				t.Fatalf("shadowing = warn: exit %d, want 2 and a warning naming %s:\n%s", code, shadow, out)
			}
			vmTfMust(t, w, "apply", "-auto-approve")
			a := vmTfAttrs(t, w, res)
			vmWantAttrs(t, a, map[string]string{
				"boot_scope": "1", "boot_source": shadow, "shadowed_by": `["` + shadow + `"]`,
				"runtime_scope": "2", "reboot_required": "true",
			})
			if got := g.liveScope(t); got != "2" {
				t.Errorf("live value %s after apply, want 2", got)
			}
			// The data source lists every assignment; the glob is skipped.
			vmWantOutcomes(t, "data source", vmTfAttrs(t, w, "data.yama_ptrace_scope.vm"),
				yama.DefaultFile+":1=replaced", "/etc/sysctl.d/99-sysctl.conf:"+n+"=written", vmUsrLibD+"zz-yvm-glob.conf:1=skipped")
			return vmAttrString(a["boot_scope"])
		},
		after: func(t *testing.T, g *vmGuest) {
			vmTfMust(t, w, "apply", "-refresh-only", "-auto-approve")
			vmWantAttrs(t, vmTfAttrs(t, w, res), map[string]string{"runtime_scope": "1", "boot_scope": "1", "reboot_required": "false"})
		},
	}
}

// shadowVendorStory is group 2's story on a guest without Debian 12's
// 99-sysctl.conf link (Debian 13): a 0 in /etc/sysctl.conf, which
// systemd-sysctl does not read there, and a later-sorting vendor file that
// sets 1 and shadows the drop-in's 2 (warn; error refuses). The booted
// kernel holds 1: the vendor file won, /etc/sysctl.conf was not read.
func shadowVendorStory() vmPtraceStory {
	var w *tfWorkdir
	const vendor = vmUsrLibD + "zz-yvm-shadow.conf"
	return vmPtraceStory{
		name: "a later vendor file shadows the drop-in (warn; error refuses); /etc/sysctl.conf is not read",
		before: func(t *testing.T, g *vmGuest) string {
			g.root(t, "printf 'kernel.yama.ptrace_scope = 0\\n' >> /etc/sysctl.conf")
			g.writeFiles(t, []vmGfile{
				vmConf(vmUsrLibD+"zz-yvm-glob.conf", "kernel.yama.ptrace_scop? = 0\n"),
				vmConf(vendor, "# vendor hardening\nkernel.yama.ptrace_scope = 1\n"),
			})
			t.Cleanup(func() { g.removeFiles(t, vmUsrLibD+"zz-yvm-glob.conf", vendor) })
			shadow := vendor + ":2"
			before := g.liveScope(t)

			w = vmWorkdir(t, g.resource(`
  scope     = 2
  shadowing = "error"`))
			out, code := w.run("plan")
			refused := regexp.MustCompile(`(?s)Error: Drop-in will not set ptrace_scope at boot on ` + regexp.QuoteMeta(g.id()) + `.*` + regexp.QuoteMeta(shadow))
			if code != 1 || !refused.MatchString(out) {
				t.Fatalf("shadowing = error: exit %d, want 1 and an error naming %s:\n%s", code, shadow, out)
			}
			if strings.Contains(out, "/etc/sysctl.conf") {
				t.Errorf("shadowing = error: /etc/sysctl.conf is not read at boot on this guest, yet the plan names it:\n%s", out)
			}
			if err := g.holds(t, before, "")(nil); err != nil {
				t.Errorf("after the refused plan: %v", err)
			}

			vmSetConfig(t, w, g.resource(`scope = 2`)+fmt.Sprintf(`
data "yama_ptrace_scope" "vm" {
  host       = %q
  depends_on = [yama_ptrace_scope.test]
}
`, vmHost))
			out, code = w.run("plan", "-detailed-exitcode")
			warned := regexp.MustCompile(`(?s)Warning: Drop-in will not set ptrace_scope at boot on ` + regexp.QuoteMeta(g.id()) +
				`.*` + regexp.QuoteMeta(shadow) + `\s+sets\s+1`)
			if code != 2 || !warned.MatchString(out) {
				t.Fatalf("shadowing = warn: exit %d, want 2 and a warning naming %s:\n%s", code, shadow, out)
			}
			vmTfMust(t, w, "apply", "-auto-approve")
			a := vmTfAttrs(t, w, res)
			vmWantAttrs(t, a, map[string]string{
				"boot_mode": "auto", "boot_scope": "1", "boot_source": shadow, "shadowed_by": `["` + shadow + `"]`,
				"runtime_scope": "2", "reboot_required": "true",
			})
			if got := g.liveScope(t); got != "2" {
				t.Errorf("live value %s after apply, want 2", got)
			}
			// systemd order: the drop-in, the skipped glob, the vendor
			// file; nothing from /etc/sysctl.conf.
			vmWantOutcomes(t, "data source", vmTfAttrs(t, w, "data.yama_ptrace_scope.vm"),
				yama.DefaultFile+":1=replaced", vmUsrLibD+"zz-yvm-glob.conf:1=skipped", shadow+"=written")
			return vmAttrString(a["boot_scope"])
		},
		after: func(t *testing.T, g *vmGuest) {
			vmTfMust(t, w, "apply", "-refresh-only", "-auto-approve")
			vmWantAttrs(t, vmTfAttrs(t, w, res), map[string]string{"runtime_scope": "1", "boot_scope": "1", "reboot_required": "false"})
		},
	}
}

func overrideStory() vmPtraceStory {
	var w *tfWorkdir
	const over = "/etc/sysctl.d/zz-yama-ptrace-scope.conf"
	return vmPtraceStory{
		name: "a later vendor file (slashed key, - prefix) beaten by override",
		before: func(t *testing.T, g *vmGuest) string {
			g.writeFiles(t, []vmGfile{vmConf(vmUsrLibD+"90-yvm-debug.conf", "# debugging default\n-kernel/yama/ptrace_scope = 0\n")})
			t.Cleanup(func() { g.removeFiles(t, vmUsrLibD+"90-yvm-debug.conf") })
			// Runs after the destroy (cleanups run last first).
			t.Cleanup(func() {
				if r, _ := g.sshAs("root", "test -e "+over, nil, time.Minute, true); r.code == 0 {
					t.Errorf("destroy left %s", over)
				}
			})
			w = vmWorkdir(t, g.resource(`
  scope     = 2
  shadowing = "override"`))
			out, code := w.run("plan", "-detailed-exitcode")
			if code != 2 || strings.Contains(out, "Drop-in will not set") || !strings.Contains(out, over) {
				t.Fatalf("plan: exit %d, want 2, %s in override_files and no shadow warning:\n%s", code, over, out)
			}
			vmTfMust(t, w, "apply", "-auto-approve")
			a := vmTfAttrs(t, w, res)
			vmWantAttrs(t, a, map[string]string{"boot_scope": "2", "shadowed_by": "[]", "runtime_scope": "2", "reboot_required": "false"})
			if src := vmAttrString(a["boot_source"]); !strings.HasPrefix(src, over+":") {
				t.Errorf("boot_source = %s, want a line of %s", src, over)
			}
			if got := g.root(t, "cat "+over); !strings.Contains(got, "kernel.yama.ptrace_scope = 2\n") {
				t.Errorf("%s = %q", over, got)
			}
			return vmAttrString(a["boot_scope"])
		},
		after: func(t *testing.T, g *vmGuest) {
			if out, code := w.run("plan", "-detailed-exitcode"); code != 0 {
				t.Errorf("plan after the reboot: exit %d, want 0 (no changes):\n%s", code, out)
			}
		},
	}
}

// A drop-in in /run/sysctl.d lasts until reboot only (/run is a tmpfs):
// the provider must predict the boot value without it.
func runDropInStory() vmPtraceStory {
	var w *tfWorkdir
	const f = "/run/sysctl.d/10-ptrace.conf"
	return vmPtraceStory{
		name: "managed drop-in in /run/sysctl.d",
		why:  "\n\nthe drop-in was " + f + " and /run is a tmpfs: boot_scope must be predicted without it.",
		before: func(t *testing.T, g *vmGuest) string {
			w = vmWorkdir(t, g.resource(`
  scope = 2
  file  = "`+f+`"`))
			vmTfMust(t, w, "apply", "-auto-approve")
			a := vmTfAttrs(t, w, res)
			t.Logf("provider: boot_scope = %s, boot_source = %s, reboot_required = %s",
				vmAttrString(a["boot_scope"]), vmAttrString(a["boot_source"]), vmAttrString(a["reboot_required"]))
			if got := g.liveScope(t); got != "2" {
				t.Errorf("live value %s after apply, want 2", got)
			}
			return vmAttrString(a["boot_scope"])
		},
		after: func(t *testing.T, g *vmGuest) {
			if r, _ := g.sshAs("root", "test -e "+f, nil, time.Minute, true); r.code == 0 {
				t.Errorf("%s survived the reboot", f)
			}
			// After the fact, a plan sees the loss as drift.
			if out, code := w.run("plan", "-detailed-exitcode"); code != 2 {
				t.Errorf("plan after the reboot: exit %d, want 2 (drift: %s is gone):\n%s", code, f, out)
			}
		},
	}
}

func procpsStory() vmPtraceStory {
	var w *tfWorkdir
	var procpsScope string
	const early = "/etc/sysctl.d/05-yvm-early.conf"
	return vmPtraceStory{
		name: "an earlier 3, then the drop-in's 1",
		before: func(t *testing.T, g *vmGuest) string {
			g.writeFiles(t, []vmGfile{vmConf(early, "kernel.yama.ptrace_scope = 3\n")})
			t.Cleanup(func() { g.removeFiles(t, early) })
			w = vmWorkdir(t, g.resource(`scope = 1`)+fmt.Sprintf(`
data "yama_ptrace_scope" "procps" {
  host       = %[1]q
  boot_mode  = "procps"
  depends_on = [yama_ptrace_scope.test]
}
data "yama_ptrace_scope" "systemd" {
  host       = %[1]q
  boot_mode  = "systemd"
  depends_on = [yama_ptrace_scope.test]
}
`, vmHost))
			out := vmTfMust(t, w, "apply", "-auto-approve")
			if strings.Contains(out, "Drop-in will not set") {
				t.Errorf("systemd host: no shadow warning expected (systemd-sysctl writes the key once):\n%s", out)
			}
			a := vmTfAttrs(t, w, res)
			vmWantAttrs(t, a, map[string]string{"boot_mode": "auto", "boot_scope": "1", "shadowed_by": "[]", "runtime_scope": "1"})
			p := vmTfAttrs(t, w, "data.yama_ptrace_scope.procps")
			vmWantAttrs(t, p, map[string]string{"boot_scope": "3", "boot_source": early + ":1"})
			vmWantOutcomes(t, "procps", p, early+":1=written", yama.DefaultFile+":1=failed")
			s := vmTfAttrs(t, w, "data.yama_ptrace_scope.systemd")
			vmWantAttrs(t, s, map[string]string{"boot_scope": "1"})
			vmWantOutcomes(t, "systemd", s, early+":1=replaced", yama.DefaultFile+":1=written")
			procpsScope = vmAttrString(p["boot_scope"])
			return vmAttrString(a["boot_scope"])
		},
		procps: func(t *testing.T, g *vmGuest, r vmSshResult) {
			if got := g.liveScope(t); got != procpsScope {
				t.Errorf("after sysctl --system ptrace_scope = %s, the provider's procps prediction (data source boot_mode = procps) was %s", got, procpsScope)
			} else {
				t.Logf("after sysctl --system ptrace_scope = %s, as the procps prediction said", got)
			}
			if !strings.Contains(r.stderr, `setting key "kernel.yama.ptrace_scope": Invalid argument`) {
				t.Errorf("sysctl --system: want the kernel's Invalid argument for the 1 after 3, stderr:\n%s", r.stderr)
			}
			// The host is now locked at 3 behind Terraform's back while
			// the configuration says 1: removing the resource must still
			// work (on_destroy = "restore" cannot lower the live value,
			// which the provider says in a warning).
			// The plan only warns here (the configuration did not change),
			// so the refresh-plan that Terraform runs before a destroy
			// does not block it.
			out, code := w.run("plan", "-detailed-exitcode")
			if code != 2 || !strings.Contains(out, "applying will fail for this host") {
				t.Errorf("plan on the locked guest: exit %d, want 2 and the out-of-band lock warning:\n%s", code, out)
			}
			out, code = w.run("destroy", "-auto-approve")
			if code != 0 {
				t.Fatalf("terraform destroy while the kernel is locked at 3 and the configuration asks for 1: exit %d\n%s", code, vmFromLine(out, "Error:"))
			}
			if !strings.Contains(out, "Live ptrace_scope stays 3 until reboot") {
				t.Errorf("destroy at 3: want the warning that the live value stays 3:\n%s", out)
			}
			if err := g.holds(t, "3", "")(nil); err != nil {
				t.Errorf("after destroy: %v", err)
			}
		},
	}
}

// Terraform CLI helpers (tfWorkdir is in cli_test.go).

func vmSetConfig(t *testing.T, w *tfWorkdir, config string) {
	t.Helper()
	writeTemp(t, w.dir, "main.tf", `terraform {
  required_providers {
    yama = { source = "terraform-yama/yama" }
  }
}
`+config)
}

// vmWorkdir is newTFWorkdir whose resources are destroyed when the test
// ends (before its directory goes).
func vmWorkdir(t *testing.T, config string) *tfWorkdir {
	t.Helper()
	w := newTFWorkdir(t, config)
	t.Cleanup(func() { vmTfDestroy(t, w) })
	return w
}

func vmTfMust(t *testing.T, w *tfWorkdir, args ...string) string {
	t.Helper()
	out, code := w.run(args...)
	if code != 0 {
		t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func vmTfDestroy(t *testing.T, w *tfWorkdir) {
	t.Helper()
	if w == nil {
		return
	}
	if out, code := w.run("destroy", "-auto-approve"); code != 0 {
		t.Errorf("terraform destroy: exit %d\n%s", code, out)
	}
}

// vmTfAttrs returns one resource's or data source's attributes from
// terraform show -json.
func vmTfAttrs(t *testing.T, w *tfWorkdir, addr string) map[string]any {
	t.Helper()
	out := vmTfMust(t, w, "show", "-json")
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("terraform show -json: %v\n%s", err, out)
	}
	for _, r := range st.Values.RootModule.Resources {
		if r.Address == addr {
			return r.Values
		}
	}
	t.Fatalf("%s not in state:\n%s", addr, out)
	return nil
}

// vmAttrString renders an attribute as the checks compare it: "" for null,
// JSON for lists and maps.
func vmAttrString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func vmWantAttrs(t *testing.T, a map[string]any, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := vmAttrString(a[k]); got != want[k] {
			t.Errorf("%s = %q, want %q", k, got, want[k])
		}
	}
}

func vmWantOutcomes(t *testing.T, what string, a map[string]any, want ...string) {
	t.Helper()
	list, _ := a["assignments"].([]any)
	var got []string
	for _, as := range list {
		m := as.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v=%v", m["entry"], vmAttrString(m["line"]), m["outcome"]))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s assignments = %v, want %v", what, got, want)
	}
}

// vmFromLine returns out from the first line containing marker (all of out
// if none does).
func vmFromLine(out, marker string) string {
	if i := strings.Index(out, marker); i >= 0 {
		return out[i:]
	}
	return out
}
