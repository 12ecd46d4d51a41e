package sysctld

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

const ptrace = "kernel.yama.ptrace_scope"

// set renders one assignment line of the ptrace key.
func set(v string) string { return ptrace + " = " + v + "\n" }

type want struct {
	value  string   // "-": not set
	source string   // "path:line" of Result.Source
	via    string   // Result.Source.Via
	steps  string   // comma-separated Outcomes of Applied; "" skips the check
	masked []string // "path < by" for shadowed entries, "path: reason" otherwise
	failed []string // "path:line"
	errs   int      // number of parse errors
}

func (w want) check(t *testing.T, r Result) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+"\n%s", append(args, dump(r))...)
	}
	if w.value == "-" {
		if r.Set || r.Value != "" || r.Source != (Assignment{}) {
			fail("want unset")
		}
	} else if !r.Set || r.Value != w.value || at(r.Source) != w.source || r.Source.Via != w.via {
		fail("want %s from %s via %q", w.value, w.source, w.via)
	}
	if w.steps != "" {
		var got []string
		for _, s := range r.Applied {
			got = append(got, s.Outcome.String())
		}
		if g := strings.Join(got, ","); g != w.steps {
			fail("steps = %s, want %s", g, w.steps)
		}
	}
	var masked []string
	for _, m := range r.Masked {
		if m.By != "" {
			masked = append(masked, m.Path+" < "+m.By)
		} else {
			masked = append(masked, m.Path+": "+string(m.Reason))
		}
	}
	if strings.Join(masked, "\n") != strings.Join(w.masked, "\n") {
		fail("masked = %q, want %q", masked, w.masked)
	}
	var failed []string
	for _, s := range r.Failed {
		failed = append(failed, at(s.Assignment))
	}
	if strings.Join(failed, "\n") != strings.Join(w.failed, "\n") {
		fail("failed = %q, want %q", failed, w.failed)
	}
	if len(r.Errors) != w.errs {
		fail("%d parse errors, want %d", len(r.Errors), w.errs)
	}
	// Invariants of every Result.
	if r.Set {
		found := false
		for _, s := range r.Applied {
			if s.Assignment == r.Source && s.Outcome == Written {
				found = true
			}
		}
		if !found {
			fail("Source is not a written step of Applied")
		}
	}
}

// Directories, for brevity in the tables.
const (
	etcD    = "/etc/sysctl.d/"
	runD    = "/run/sysctl.d/"
	localD  = "/usr/local/lib/sysctl.d/"
	usrlibD = "/usr/lib/sysctl.d/"
	libD    = "/lib/sysctl.d/"
)

type resolveCase struct {
	name    string
	tree    tree
	opts    Options // Mode is set per run
	systemd *want   // nil: mode not checked in this case
	procps  *want
}

// resolveCases has a named case per rule; realtools_test.go replays the
// trees against the real procps and systemd binaries.
var resolveCases = []resolveCase{
	{
		name:    "nothing sets the key",
		tree:    tree{etcD + "10-other.conf": "vm.swappiness = 10\n", "/etc/sysctl.conf": "# empty\n"},
		systemd: &want{value: "-"},
		procps:  &want{value: "-"},
	},
	{
		name:    "last wins within a file",
		tree:    tree{etcD + "10-a.conf": set("1") + set("2")},
		systemd: &want{value: "2", source: etcD + "10-a.conf:2", steps: "replaced,written"},
		procps:  &want{value: "2", source: etcD + "10-a.conf:2", steps: "written,written"},
	},
	{
		name: "lexical sort across directories, last file wins",
		tree: tree{
			etcD + "10-a.conf":    set("1"),
			runD + "20-b.conf":    set("2"),
			localD + "30-c.conf":  set("0"),
			usrlibD + "50-d.conf": set("3"),
			usrlibD + "05-e.conf": set("0"),
		},
		systemd: &want{value: "3", source: usrlibD + "50-d.conf:1", steps: "replaced,replaced,replaced,replaced,written"},
		procps:  &want{value: "3", source: usrlibD + "50-d.conf:1"},
	},
	{
		name:    "sort is bytewise (strcmp): digits, then uppercase, then lowercase",
		tree:    tree{etcD + "a.conf": set("1"), usrlibD + "Z.conf": set("2"), usrlibD + "10.conf": set("0")},
		systemd: &want{value: "1", source: etcD + "a.conf:1"},
	},
	{
		name: "same basename in an earlier directory masks later ones",
		tree: tree{
			etcD + "10-default-yama-scope.conf":    set("2"),
			runD + "10-default-yama-scope.conf":    set("3"),
			usrlibD + "10-default-yama-scope.conf": set("0"),
		},
		systemd: &want{value: "2", source: etcD + "10-default-yama-scope.conf:1", masked: []string{
			runD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
			usrlibD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
		}},
		procps: &want{value: "2", source: etcD + "10-default-yama-scope.conf:1", masked: []string{
			runD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
			usrlibD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
		}},
	},
	{
		name: "run masks usr/lib",
		tree: tree{runD + "10-x.conf": set("1"), usrlibD + "10-x.conf": set("0")},
		systemd: &want{value: "1", source: runD + "10-x.conf:1",
			masked: []string{usrlibD + "10-x.conf < " + runD + "10-x.conf"}},
	},
	{
		name: "symlink to /dev/null masks",
		tree: tree{etcD + "10-default-yama-scope.conf": "-> /dev/null", usrlibD + "10-default-yama-scope.conf": set("0")},
		systemd: &want{value: "-", masked: []string{
			etcD + "10-default-yama-scope.conf: symlink to /dev/null",
			usrlibD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
		}},
		procps: &want{value: "-", masked: []string{
			etcD + "10-default-yama-scope.conf: symlink to /dev/null",
			usrlibD + "10-default-yama-scope.conf < " + etcD + "10-default-yama-scope.conf",
		}},
	},
	{
		name: "relative symlink to /dev/null masks",
		tree: tree{etcD + "10-x.conf": "-> ../../dev/null", usrlibD + "10-x.conf": set("0")},
		systemd: &want{value: "-", masked: []string{
			etcD + "10-x.conf: symlink to /dev/null", usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
	},
	{
		name: "empty file masks",
		tree: tree{etcD + "10-x.conf": "", usrlibD + "10-x.conf": set("0")},
		systemd: &want{value: "-", masked: []string{
			etcD + "10-x.conf: empty file", usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
		procps: &want{value: "-", masked: []string{
			etcD + "10-x.conf: empty file", usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
	},
	{
		name:    "comment-only file is not a mask but sets nothing",
		tree:    tree{etcD + "10-x.conf": "# nothing\n", usrlibD + "10-x.conf": set("0")},
		systemd: &want{value: "-", masked: []string{usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
	},
	{
		name: "dangling symlink is skipped but still claims its basename",
		tree: tree{etcD + "10-x.conf": "-> /opt/gone.conf", usrlibD + "10-x.conf": set("0"), usrlibD + "20-y.conf": set("1")},
		systemd: &want{value: "1", source: usrlibD + "20-y.conf:1", masked: []string{
			etcD + "10-x.conf: dangling symlink", usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
		procps: &want{value: "1", source: usrlibD + "20-y.conf:1", masked: []string{
			etcD + "10-x.conf: dangling symlink", usrlibD + "10-x.conf < " + etcD + "10-x.conf"}},
	},
	{
		name: "symlink loop is skipped",
		tree: tree{etcD + "10-x.conf": "-> 10-y.conf", etcD + "10-y.conf": "-> 10-x.conf", usrlibD + "20-z.conf": set("2")},
		systemd: &want{value: "2", source: usrlibD + "20-z.conf:1", masked: []string{
			etcD + "10-x.conf: symlink loop", etcD + "10-y.conf: symlink loop"}},
	},
	{
		name: "symlink chain and relative target resolve",
		tree: tree{
			etcD + "50-a.conf":         "-> ../../opt/hard/link1.conf",
			"/opt/hard/link1.conf":     "-> sub/link2.conf",
			"/opt/hard/sub/link2.conf": "-> /srv/real.conf",
			"/srv/real.conf":           "# real\n" + set("2"),
		},
		systemd: &want{value: "2", source: "/srv/real.conf:2", via: etcD + "50-a.conf"},
	},
	{
		name:    "symlinked sysctl.d directory",
		tree:    tree{"/etc/sysctl.d": "-> /srv/sysctl", "/srv/sysctl/10-x.conf": set("2")},
		systemd: &want{value: "2", source: "/srv/sysctl/10-x.conf:1", via: etcD + "10-x.conf"},
	},
	{
		name: "non-.conf files are ignored",
		tree: tree{
			etcD + "README.sysctl":        set("3"),
			etcD + "10-x.conf.bak":        set("3"),
			etcD + "10-x.conf~":           set("3"),
			etcD + "10-x.CONF":            set("3"),
			etcD + "10-x.conf.dpkg-dist":  set("3"),
			usrlibD + "10-x.conf.rpmsave": set("3"),
			usrlibD + "10-x.conf":         set("1"),
		},
		systemd: &want{value: "1", source: usrlibD + "10-x.conf:1"},
		procps:  &want{value: "1", source: usrlibD + "10-x.conf:1"},
	},
	{
		name:    "hidden files: systemd skips them, procps reads them",
		tree:    tree{etcD + ".zz-hidden.conf": set("3"), etcD + ".conf": set("2"), etcD + "10-x.conf": set("1")},
		systemd: &want{value: "1", source: etcD + "10-x.conf:1"},
		procps:  &want{value: "1", source: etcD + "10-x.conf:1", steps: "written,written,written"},
	},
	{
		name: "directory and device named .conf claim their basename",
		tree: tree{etcD + "10-x.conf": "<dir>", etcD + "20-y.conf": "<dev>", usrlibD + "10-x.conf": set("1"), usrlibD + "20-y.conf": set("2")},
		systemd: &want{value: "-", masked: []string{
			etcD + "10-x.conf: not a regular file", etcD + "20-y.conf: not a regular file",
			usrlibD + "10-x.conf < " + etcD + "10-x.conf", usrlibD + "20-y.conf < " + etcD + "20-y.conf"}},
	},
	{
		name:    "sysctl.conf is ignored by systemd without a link",
		tree:    tree{"/etc/sysctl.conf": set("2"), usrlibD + "10-x.conf": set("0")},
		systemd: &want{value: "0", source: usrlibD + "10-x.conf:1"},
		procps:  &want{value: "2", source: "/etc/sysctl.conf:1", steps: "written,written"},
	},
	{
		name: "sysctl.conf through 99-sysctl.conf; procps applies it again last",
		tree: tree{
			"/etc/sysctl.conf":        "# local\n" + set("2"),
			etcD + "99-sysctl.conf":   "-> ../sysctl.conf",
			usrlibD + "99-zzzz.conf":  set("1"),
			usrlibD + "10-early.conf": set("0"),
		},
		systemd: &want{value: "1", source: usrlibD + "99-zzzz.conf:1", steps: "replaced,replaced,written"},
		procps:  &want{value: "2", source: "/etc/sysctl.conf:2", steps: "written,written,written,written"},
	},
	{
		name: "sysctl.conf read twice in procps: first via the link, then directly",
		tree: tree{"/etc/sysctl.conf": set("2"), etcD + "99-sysctl.conf": "-> /etc/sysctl.conf"},
		// systemd: one reading, via the link.
		systemd: &want{value: "2", source: "/etc/sysctl.conf:1", via: etcD + "99-sysctl.conf", steps: "written"},
		procps:  &want{value: "2", source: "/etc/sysctl.conf:1", steps: "written,written"},
	},
	{
		name:    "procps skips a sysctl.conf that is not a regular file",
		tree:    tree{"/etc/sysctl.conf": "-> /dev/null", usrlibD + "10-x.conf": set("1")},
		procps:  &want{value: "1", source: usrlibD + "10-x.conf:1"},
		systemd: &want{value: "1", source: usrlibD + "10-x.conf:1"},
	},
	{
		name: "lock at 3 in procps order",
		tree: tree{etcD + "05-hardening.conf": set("3"), etcD + "10-ptrace.conf": set("1")},
		opts: Options{LockValue: "3", Check: ptraceCheck},
		// systemd keeps only the last line, so 3 is never written.
		systemd: &want{value: "1", source: etcD + "10-ptrace.conf:1", steps: "replaced,written"},
		procps: &want{value: "3", source: etcD + "05-hardening.conf:1", steps: "written,failed",
			failed: []string{etcD + "10-ptrace.conf:1"}},
	},
	{
		name:    "lock at 3: writing 3 again is fine",
		tree:    tree{etcD + "05-a.conf": set("3"), etcD + "10-b.conf": set("03")},
		opts:    Options{LockValue: "3", Check: ptraceCheck},
		procps:  &want{value: "3", source: etcD + "10-b.conf:1", steps: "written,written"},
		systemd: &want{value: "3", source: etcD + "10-b.conf:1", steps: "replaced,written"},
	},
	{
		name:   "lock at 3 also holds against /etc/sysctl.conf applied last",
		tree:   tree{"/etc/sysctl.conf": set("0"), usrlibD + "99-zz-hardening.conf": set("3")},
		opts:   Options{LockValue: "3", Check: ptraceCheck},
		procps: &want{value: "3", source: usrlibD + "99-zz-hardening.conf:1", failed: []string{"/etc/sysctl.conf:1"}},
	},
	{
		name: "lock at 3 between systemd globs",
		tree: tree{etcD + "10-a.conf": "kernel.yama.* = 3\n", etcD + "20-b.conf": "kernel.*.ptrace_scope = 1\n"},
		opts: Options{LockValue: "3", Check: ptraceCheck},
		systemd: &want{value: "3", source: etcD + "10-a.conf:1", steps: "written,failed",
			failed: []string{etcD + "20-b.conf:1"}},
	},
	{
		name:    "without LockValue a later value wins",
		tree:    tree{etcD + "05-a.conf": set("3"), etcD + "10-b.conf": set("1")},
		procps:  &want{value: "1", source: etcD + "10-b.conf:1", steps: "written,written"},
		systemd: &want{value: "1", source: etcD + "10-b.conf:1"},
	},
	{
		name: "Check refuses a value out of range; the earlier one stays",
		tree: tree{etcD + "10-a.conf": set("2"), etcD + "20-b.conf": set("5")},
		opts: Options{LockValue: "3", Check: ptraceCheck},
		procps: &want{value: "2", source: etcD + "10-a.conf:1", steps: "written,failed",
			failed: []string{etcD + "20-b.conf:1"}},
		// systemd writes only the 5, which fails: the kernel default stays.
		systemd: &want{value: "-", steps: "replaced,failed", failed: []string{etcD + "20-b.conf:1"}},
	},
	// Values as the kernel reads them (ptrace.KernelParse): both tools
	// write the whole text after "=" (no inline comments), and the kernel
	// takes the first integer, in base 0, if a blank ends it.
	{
		name:    "inline # is part of the value; the kernel reads the 2",
		tree:    tree{etcD + "10-a.conf": set("2 # harden")},
		opts:    Options{LockValue: "3", Check: ptraceCheck},
		systemd: &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
		procps:  &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
	},
	{
		name:    "hex value 0x2 is 2",
		tree:    tree{etcD + "10-a.conf": set("0x2")},
		opts:    Options{LockValue: "3", Check: ptraceCheck},
		systemd: &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
		procps:  &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
	},
	{
		name:    "two numbers: the kernel keeps the first",
		tree:    tree{etcD + "10-a.conf": set("2 1")},
		opts:    Options{LockValue: "3", Check: ptraceCheck},
		systemd: &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
		procps:  &want{value: "2", source: etcD + "10-a.conf:1", steps: "written"},
	},
	{
		name: "+1 after a 2: the kernel refuses +1",
		tree: tree{etcD + "10-a.conf": set("2"), etcD + "20-b.conf": set("+1")},
		opts: Options{LockValue: "3", Check: ptraceCheck},
		// systemd writes only the +1, which fails: the kernel default stays.
		systemd: &want{value: "-", steps: "replaced,failed", failed: []string{etcD + "20-b.conf:1"}},
		procps: &want{value: "2", source: etcD + "10-a.conf:1", steps: "written,failed",
			failed: []string{etcD + "20-b.conf:1"}},
	},
	{
		name: "0x3 locks like 3",
		tree: tree{etcD + "05-a.conf": set("0x3"), etcD + "10-b.conf": set("1"), etcD + "20-c.conf": set("03 # again")},
		opts: Options{LockValue: "3", Check: ptraceCheck},
		procps: &want{value: "3", source: etcD + "20-c.conf:1", steps: "written,failed,written",
			failed: []string{etcD + "10-b.conf:1"}},
		systemd: &want{value: "3", source: etcD + "20-c.conf:1", steps: "replaced,replaced,written"},
	},
	{
		name:    "merged /usr: /lib/sysctl.d is /usr/lib/sysctl.d and is read once",
		tree:    tree{"/lib": "-> usr/lib", usrlibD + "10-x.conf": set("1"), usrlibD + "20-y.conf": set("2")},
		systemd: &want{value: "2", source: usrlibD + "20-y.conf:1", steps: "replaced,written"},
		procps:  &want{value: "2", source: usrlibD + "20-y.conf:1", steps: "written,written"},
	},
	{
		name: "split /usr: /lib/sysctl.d is a directory of its own, after /usr/lib",
		tree: tree{libD + "10-x.conf": set("3"), libD + "30-z.conf": set("2"), usrlibD + "10-x.conf": set("1")},
		systemd: &want{value: "2", source: libD + "30-z.conf:1",
			masked: []string{libD + "10-x.conf < " + usrlibD + "10-x.conf"}},
	},
	{
		name:    "slash key in a file",
		tree:    tree{etcD + "10-x.conf": "kernel/yama/ptrace_scope = 2\n"},
		systemd: &want{value: "2", source: etcD + "10-x.conf:1"},
	},
	{
		name:    "dash prefix still applies",
		tree:    tree{etcD + "10-x.conf": "-" + set("2")},
		systemd: &want{value: "2", source: etcD + "10-x.conf:1"},
		procps:  &want{value: "2", source: etcD + "10-x.conf:1"},
	},
	{
		name:    "glob key applies when nothing names the key",
		tree:    tree{etcD + "10-x.conf": "kernel.yama.* = 2\n"},
		systemd: &want{value: "2", source: etcD + "10-x.conf:1"},
		procps:  &want{value: "2", source: etcD + "10-x.conf:1"},
	},
	{
		name:    "glob kernel.* does not reach kernel.yama.ptrace_scope",
		tree:    tree{etcD + "10-x.conf": "kernel.* = 2\n"},
		systemd: &want{value: "-"},
	},
	{
		name:    "explicit key beats a later glob",
		tree:    tree{etcD + "10-x.conf": set("1"), etcD + "20-y.conf": "kernel.yama.* = 3\n"},
		systemd: &want{value: "1", source: etcD + "10-x.conf:1", steps: "written,skipped"},
		procps:  &want{value: "1", source: etcD + "10-x.conf:1", steps: "written,skipped"},
	},
	{
		name:    "exclusion keeps a glob away",
		tree:    tree{usrlibD + "50-default.conf": "kernel.yama.* = 2\n-kernel.yama.ptrace_scope\n"},
		systemd: &want{value: "-", steps: "skipped,excluded"},
		procps:  &want{value: "-", steps: "skipped,excluded"},
	},
	{
		name:    "exclusion after an assignment: systemd drops the assignment, procps keeps it",
		tree:    tree{etcD + "10-x.conf": set("2"), etcD + "20-y.conf": "-kernel.yama.ptrace_scope\n"},
		systemd: &want{value: "-", steps: "replaced,excluded"},
		procps:  &want{value: "2", source: etcD + "10-x.conf:1", steps: "written,excluded"},
	},
	{
		name: "exclusion pattern does not exclude the keys it matches",
		tree: tree{
			etcD + "10-x.conf": "kernel.yama.* = 2\n",
			etcD + "20-y.conf": "-kernel.*.ptrace_scope\n-kernel.*\n",
		},
		systemd: &want{value: "2", source: etcD + "10-x.conf:1", steps: "written,excluded"},
		procps:  &want{value: "2", source: etcD + "10-x.conf:1", steps: "written,excluded"},
	},
	{
		name:    "a pattern exclusion cancels the same pattern in systemd only",
		tree:    tree{etcD + "10-x.conf": "kernel.yama.* = 2\n", etcD + "20-y.conf": "-kernel.yama.*\n"},
		systemd: &want{value: "-", steps: "replaced,excluded"},
		procps:  &want{value: "2", source: etcD + "10-x.conf:1", steps: "written,excluded"},
	},
	{
		name:    "systemd: same value again merges into the earlier line",
		tree:    tree{etcD + "10-x.conf": set("2"), etcD + "20-y.conf": set("2")},
		systemd: &want{value: "2", source: etcD + "10-x.conf:1", steps: "written,merged"},
		procps:  &want{value: "2", source: etcD + "20-y.conf:1", steps: "written,written"},
	},
	{
		name: "systemd: a merged glob keeps its early position",
		tree: tree{
			etcD + "10-a.conf": "kernel.yama.* = 1\n",
			etcD + "20-b.conf": "kernel.*.ptrace_scope = 2\n",
			etcD + "30-c.conf": "kernel.yama.* = 1\n",
		},
		systemd: &want{value: "2", source: etcD + "20-b.conf:1", steps: "written,written,merged"},
		procps:  &want{value: "1", source: etcD + "30-c.conf:1", steps: "written,written,written"},
	},
	{
		name: "parse errors are collected with file and line, once per file",
		tree: tree{
			"/etc/sysctl.conf":      "oops\n" + set("2"),
			etcD + "99-sysctl.conf": "-> ../sysctl.conf",
			usrlibD + "10-x.conf":   "\n= 1\n",
		},
		systemd: &want{value: "2", source: "/etc/sysctl.conf:2", via: etcD + "99-sysctl.conf", errs: 2},
		procps:  &want{value: "2", source: "/etc/sysctl.conf:2", errs: 2},
	},
}

func TestResolve(t *testing.T) {
	for _, tt := range resolveCases {
		for _, mode := range []Mode{ModeSystemd, ModeProcps} {
			w := tt.systemd
			if mode == ModeProcps {
				w = tt.procps
			}
			if w == nil {
				continue
			}
			t.Run(tt.name+"/"+mode.String(), func(t *testing.T) {
				o := tt.opts
				o.Mode = mode
				r := resolveBoth(t, tt.tree, ptrace, o)
				if r.Key != ptrace || r.Mode != mode {
					t.Errorf("Key, Mode = %q, %v", r.Key, r.Mode)
				}
				w.check(t, r)
			})
		}
	}
}

func TestResolveErrorsAreLocated(t *testing.T) {
	tr := tree{"/usr/lib/sysctl.d/10-x.conf": "\nbroken line\n" + set("1")}
	r := resolveBoth(t, tr, ptrace, Options{})
	var le *LineError
	if len(r.Errors) != 1 || !errors.As(r.Errors[0], &le) || le.File != "/usr/lib/sysctl.d/10-x.conf" || le.Line != 2 {
		t.Fatalf("errors = %v", r.Errors)
	}
}

func TestResolveOverridden(t *testing.T) {
	tr := tree{
		"/etc/sysctl.d/10-a.conf": set("1") + "kernel.yama.* = 3\n",
		"/etc/sysctl.d/20-b.conf": set("2"),
	}
	r := resolveBoth(t, tr, ptrace, Options{Mode: ModeProcps})
	var got []string
	for _, a := range r.Overridden {
		got = append(got, at(a))
	}
	want := "/etc/sysctl.d/10-a.conf:1 /etc/sysctl.d/10-a.conf:2"
	if strings.Join(got, " ") != want || at(r.Source) != "/etc/sysctl.d/20-b.conf:1" {
		t.Errorf("Overridden = %v, want %s\n%s", got, want, dump(r))
	}
}

func TestResolveAcceptsSlashKeyAndRejectsPatterns(t *testing.T) {
	tr := tree{"/etc/sysctl.d/10-x.conf": set("2")}
	r := resolveBoth(t, tr, "kernel/yama/ptrace_scope", Options{})
	if r.Key != ptrace || r.Value != "2" {
		t.Errorf("slash key: %s", dump(r))
	}
	for _, bad := range []string{"", ".", "kernel.yama.*", "kernel.yama.ptrace_scop?"} {
		if _, err := Resolve(tr.memFS(t), bad, ModeSystemd); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}
}

// A plain fs.FS without ReadLinkFS still works; symlinks are invisible.
func TestResolvePlainFS(t *testing.T) {
	m := tree{"/etc/sysctl.d/10-x.conf": set("2")}.mapFS()
	r, err := Resolve(plainFS{m}, ptrace, ModeSystemd)
	if err != nil || r.Value != "2" {
		t.Fatalf("Resolve = %v, %s", err, dump(r))
	}
}

type plainFS struct{ fsys fs.FS }

func (p plainFS) Open(name string) (fs.File, error) { return p.fsys.Open(name) }

// I/O errors other than "does not exist" are not guessed around.
func TestResolveIOError(t *testing.T) {
	m := tree{"/etc/sysctl.d/10-x.conf": set("2")}.mapFS()
	_, err := Resolve(failFS{m}, ptrace, ModeSystemd)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want permission error", err)
	}
}

type failFS struct{ fs.FS }

func (f failFS) ReadFile(name string) ([]byte, error) {
	return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrPermission}
}

func TestDetectMode(t *testing.T) {
	if DetectMode(true) != ModeSystemd || DetectMode(false) != ModeProcps {
		t.Fatal("DetectMode")
	}
	for _, m := range []Mode{ModeSystemd, ModeProcps} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMode("openrc"); err == nil {
		t.Error("ParseMode(openrc) succeeded")
	}
}
