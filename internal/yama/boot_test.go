package yama

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

// bootView reads a fake host root through the real read script.
func bootView(t *testing.T, files, links map[string]string, managed string) BootView {
	t.Helper()
	h := yamatest.LocalHost{Dir: yamatest.NewRoot(t, "1", files), Shell: "/bin/sh"}
	for l, target := range links {
		yamatest.Symlink(t, h.Dir, l, target)
	}
	st, err := Read(context.Background(), h, managed)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.BootView()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPredictBoot(t *testing.T) {
	ptrace2 := []byte("kernel.yama.ptrace_scope = 2\n")
	cases := []struct {
		name       string
		files      map[string]string
		links      map[string]string
		managed    string
		mode       sysctld.Mode
		wantScope  string // "" when nothing sets the key
		wantSource string
		wantShadow string // joined ShadowedBy
		wantFile   string // override file, "" for none
		wantErr    string // Override error
	}{
		{
			name:       "ubuntu: managed drop-in wins",
			files:      map[string]string{"/etc/sysctl.conf": "# defaults\nnet.ipv4.ip_forward = 0\n"},
			links:      map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"},
			managed:    DefaultFile,
			mode:       sysctld.ModeSystemd,
			wantScope:  "2",
			wantSource: DefaultFile + ":1",
		},
		{
			name:       "fedora: vendor default sorts first",
			files:      map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n"},
			managed:    DefaultFile,
			mode:       sysctld.ModeSystemd,
			wantScope:  "2",
			wantSource: DefaultFile + ":1",
		},
		{
			name:       "hardening role sorts later (systemd)",
			files:      map[string]string{"/etc/sysctl.d/zz-hardening.conf": "# CIS\nfs.suid_dumpable = 0\nkernel.yama.ptrace_scope = 3\n"},
			managed:    DefaultFile,
			mode:       sysctld.ModeSystemd,
			wantScope:  "3",
			wantSource: "/etc/sysctl.d/zz-hardening.conf:3",
			wantShadow: "/etc/sysctl.d/zz-hardening.conf:3",
			wantFile:   "/etc/sysctl.d/zz-yama-ptrace-scope.conf",
		},
		{
			name:       "hardening role locks at 3 (procps)",
			files:      map[string]string{"/etc/sysctl.d/zz-hardening.conf": "kernel.yama.ptrace_scope = 3\n"},
			managed:    DefaultFile,
			mode:       sysctld.ModeProcps,
			wantScope:  "3",
			wantSource: "/etc/sysctl.d/zz-hardening.conf:1",
			wantShadow: "/etc/sysctl.d/zz-hardening.conf:1",
			wantErr:    "would boot with 3 from /etc/sysctl.d/zz-hardening.conf:1",
		},
		{
			name:       "debian: sysctl.conf through 99-sysctl.conf (systemd)",
			files:      map[string]string{"/etc/sysctl.conf": "kernel.yama.ptrace_scope=1\n"},
			links:      map[string]string{"/etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"},
			managed:    DefaultFile,
			mode:       sysctld.ModeSystemd,
			wantScope:  "1",
			wantSource: "/etc/sysctl.conf:1",
			wantShadow: "/etc/sysctl.conf:1",
			wantFile:   "/etc/sysctl.d/zz-yama-ptrace-scope.conf",
		},
		{
			name:       "debian: sysctl.conf applied last (procps)",
			files:      map[string]string{"/etc/sysctl.conf": "kernel.yama.ptrace_scope=1\n"},
			managed:    DefaultFile,
			mode:       sysctld.ModeProcps,
			wantScope:  "1",
			wantSource: "/etc/sysctl.conf:1",
			wantShadow: "/etc/sysctl.conf:1",
			wantErr:    "applies /etc/sysctl.conf:1 after every drop-in",
		},
		{
			name:       "managed file masked by name",
			files:      map[string]string{"/etc/sysctl.d/60-yama.conf": "kernel.yama.ptrace_scope = 0\n"},
			managed:    "/usr/lib/sysctl.d/60-yama.conf",
			mode:       sysctld.ModeSystemd,
			wantScope:  "0",
			wantSource: "/etc/sysctl.d/60-yama.conf:1",
			wantShadow: "/etc/sysctl.d/60-yama.conf",
			wantErr:    "masks /usr/lib/sysctl.d/60-yama.conf",
		},
		{
			name:      "later file with the same value is no shadow",
			files:     map[string]string{"/run/sysctl.d/zz.conf": "kernel/yama/ptrace_scope = 2\n"},
			managed:   DefaultFile,
			mode:      sysctld.ModeProcps,
			wantScope: "2",
			// procps writes both; the last write is the source.
			wantSource: "/run/sysctl.d/zz.conf:1",
		},
		{
			name:       "a later glob loses to the explicit key (systemd)",
			files:      map[string]string{"/usr/lib/sysctl.d/zzz-vendor.conf": "kernel.yama.* = 0\n"},
			managed:    DefaultFile,
			mode:       sysctld.ModeSystemd,
			wantScope:  "2",
			wantSource: DefaultFile + ":1",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := bootView(t, c.files, c.links, c.managed)
			b, err := v.Predict(c.mode, map[string][]byte{c.managed: ptrace2}, c.managed)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if b.Set {
				got = b.Scope.String()
			}
			var sh []string
			for _, s := range b.ShadowedBy {
				sh = append(sh, s.String())
			}
			if got != c.wantScope || b.Source != c.wantSource || strings.Join(sh, ", ") != c.wantShadow {
				t.Fatalf("Predict = scope %q source %q shadows %v; want %q %q %q\n%+v", got, b.Source, sh, c.wantScope, c.wantSource, c.wantShadow, b.Result)
			}
			p, content, err := v.Override(b, c.managed, ptrace2, 2, nil)
			switch {
			case c.wantErr != "":
				if !errors.Is(err, ErrCannotOverride) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Override error = %v, want ErrCannotOverride containing %q", err, c.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case p != c.wantFile:
				t.Fatalf("override file = %q, want %q", p, c.wantFile)
			case p != "":
				after, err := v.Predict(c.mode, map[string][]byte{c.managed: ptrace2, p: content}, c.managed)
				if err != nil || after.Scope != 2 || len(after.ShadowedBy) != 0 {
					t.Fatalf("with the override, boot = %+v, %v; want 2 and no shadows", after, err)
				}
			}
		})
	}
}

func TestBootViewMergedUsr(t *testing.T) {
	root := yamatest.NewRoot(t, "1", map[string]string{"/usr/lib/sysctl.d/10-default-yama-scope.conf": "kernel.yama.ptrace_scope = 0\n"})
	yamatest.Symlink(t, root, "/lib", "usr/lib")
	st, err := Read(context.Background(), yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}, DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.BootView()
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Predict(sysctld.ModeProcps, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Result.Applied) != 1 || b.Source != "/usr/lib/sysctl.d/10-default-yama-scope.conf:1" {
		t.Errorf("merged /usr read twice or wrongly: %+v", b.Result.Applied)
	}
}

func TestReduceKeepsLineNumbersAndMasks(t *testing.T) {
	in := "# header\nnet.ipv4.ip_forward = 1\nkernel.yama.ptrace_scope = 2\n-kernel.yama.*\nvm.swappiness=10"
	want := "\n\nkernel.yama.ptrace_scope = 2\n-kernel.yama.*\n"
	if got := string(reduce("x.conf", []byte(in))); got != want {
		t.Errorf("reduce = %q, want %q", got, want)
	}
	if got := reduce("x.conf", []byte{}); len(got) != 0 {
		t.Errorf("empty file became %q: it would no longer mask", got)
	}
	if got := string(reduce("x.conf", []byte("vm.swappiness=1"))); got != "\n" {
		t.Errorf("non-empty file reduced to %q, want a blank line (still not a mask)", got)
	}
}

func TestBootViewRefusesOversizedConfig(t *testing.T) {
	root := yamatest.NewRoot(t, "1", map[string]string{"/usr/lib/sysctl.d/50-huge.conf": strings.Repeat("# padding\n", MaxFileSize/10+10)})
	st, err := Read(context.Background(), yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}, DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.BootView(); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "/usr/lib/sysctl.d/50-huge.conf") {
		t.Fatalf("BootView error = %v, want ErrTooLarge naming the file", err)
	}
}

// TestPredictBootKernelValues checks that boot values follow the kernel's
// parse of the value text (ptrace.KernelParse), not a strict one.
func TestPredictBootKernelValues(t *testing.T) {
	const line = "kernel.yama.ptrace_scope = "
	cases := []struct {
		name  string
		files map[string]string
		mode  sysctld.Mode
		want  string // "" when boot leaves the kernel default
		steps string // Outcomes of Result.Applied
	}{
		{"inline comment is written too (systemd)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "2 # harden\n"}, sysctld.ModeSystemd, "2", "written"},
		{"inline comment is written too (procps)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "2 # harden\n"}, sysctld.ModeProcps, "2", "written"},
		{"hex (systemd)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "0x2\n"}, sysctld.ModeSystemd, "2", "written"},
		{"hex (procps)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "0x2\n"}, sysctld.ModeProcps, "2", "written"},
		{"first of two numbers (systemd)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "2 1\n"}, sysctld.ModeSystemd, "2", "written"},
		{"first of two numbers (procps)", map[string]string{"/etc/sysctl.d/50-h.conf": line + "2 1\n"}, sysctld.ModeProcps, "2", "written"},
		{"+1 after a 2 (systemd: only +1 is written, and fails)",
			map[string]string{"/etc/sysctl.d/10-a.conf": line + "2\n", "/etc/sysctl.d/20-b.conf": line + "+1\n"},
			sysctld.ModeSystemd, "", "replaced,failed"},
		{"+1 after a 2 (procps: 2 is written, then +1 fails)",
			map[string]string{"/etc/sysctl.d/10-a.conf": line + "2\n", "/etc/sysctl.d/20-b.conf": line + "+1\n"},
			sysctld.ModeProcps, "2", "written,failed"},
		{"octal 010 is 8 (procps)",
			map[string]string{"/etc/sysctl.d/10-a.conf": line + "1\n", "/etc/sysctl.d/20-b.conf": line + "010\n"},
			sysctld.ModeProcps, "1", "written,failed"},
		{"03 locks like 3 (procps)",
			map[string]string{"/etc/sysctl.d/10-a.conf": line + "03\n", "/etc/sysctl.d/20-b.conf": line + "1\n"},
			sysctld.ModeProcps, "3", "written,failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := bootView(t, c.files, nil, DefaultFile).Predict(c.mode, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if b.Set {
				got = b.Scope.String()
			}
			var steps []string
			for _, s := range b.Result.Applied {
				steps = append(steps, s.Outcome.String())
			}
			if got != c.want || strings.Join(steps, ",") != c.steps {
				t.Fatalf("boot = %q, steps %v; want %q, %s\n%+v", got, steps, c.want, c.steps, b.Result)
			}
			for _, s := range b.Result.Failed {
				if !strings.Contains(s.Reason, "the kernel refuses it (EINVAL)") && !strings.Contains(s.Reason, "locked") {
					t.Errorf("failed step %s:%d has reason %q", s.File, s.Line, s.Reason)
				}
			}
		})
	}
}

// TestShadowsCompareScopes checks that shadows and overrides compare what
// the kernel stores, not the text.
func TestShadowsCompareScopes(t *testing.T) {
	managed := []byte("kernel.yama.ptrace_scope = 2\n")
	t.Run("a later 0x2 is the same scope", func(t *testing.T) {
		v := bootView(t, map[string]string{"/etc/sysctl.d/zz.conf": "kernel.yama.ptrace_scope = 0x2\n"}, nil, DefaultFile)
		for _, mode := range []sysctld.Mode{sysctld.ModeSystemd, sysctld.ModeProcps} {
			b, err := v.Predict(mode, map[string][]byte{DefaultFile: managed}, DefaultFile)
			if err != nil || !b.Set || b.Scope != 2 || len(b.ShadowedBy) != 0 {
				t.Errorf("%s: boot %+v, %v; want 2 and no shadows", mode, b, err)
			}
		}
	})
	t.Run("a later +1 replaces the drop-in under systemd", func(t *testing.T) {
		v := bootView(t, map[string]string{"/etc/sysctl.d/zz.conf": "kernel.yama.ptrace_scope = +1\n"}, nil, DefaultFile)
		b, err := v.Predict(sysctld.ModeSystemd, map[string][]byte{DefaultFile: managed}, DefaultFile)
		if err != nil || b.Set || len(b.ShadowedBy) != 1 || b.ShadowedBy[0].String() != "/etc/sysctl.d/zz.conf:1" {
			t.Fatalf("boot %+v, %v; want unset, shadowed by zz.conf:1", b, err)
		}
		p, content, err := v.Override(b, DefaultFile, managed, 2, nil)
		if err != nil || p != "/etc/sysctl.d/zzz-yama-ptrace-scope.conf" {
			t.Fatalf("Override = %q, %v", p, err)
		}
		after, err := v.Predict(sysctld.ModeSystemd, map[string][]byte{DefaultFile: managed, p: content}, DefaultFile)
		if err != nil || !after.Set || after.Scope != 2 || len(after.ShadowedBy) != 0 {
			t.Fatalf("with the override: %+v, %v", after, err)
		}
		// procps writes the drop-in's 2, then the +1 fails: no shadow.
		b, err = v.Predict(sysctld.ModeProcps, map[string][]byte{DefaultFile: managed}, DefaultFile)
		if err != nil || !b.Set || b.Scope != 2 || len(b.ShadowedBy) != 0 {
			t.Fatalf("procps: %+v, %v; want 2 and no shadows", b, err)
		}
	})
	t.Run("an earlier 0x3 locks the key (procps)", func(t *testing.T) {
		v := bootView(t, map[string]string{"/etc/sysctl.d/05-hardening.conf": "kernel.yama.ptrace_scope = 0x3\n"}, nil, DefaultFile)
		b, err := v.Predict(sysctld.ModeProcps, map[string][]byte{DefaultFile: managed}, DefaultFile)
		if err != nil || b.Scope != 3 || len(b.ShadowedBy) != 1 {
			t.Fatalf("boot %+v, %v; want 3 shadowed by the 0x3", b, err)
		}
		if _, _, err := v.Override(b, DefaultFile, managed, 2, nil); !errors.Is(err, ErrCannotOverride) || !strings.Contains(err.Error(), "sets 3 before") {
			t.Fatalf("Override error = %v, want the lock named", err)
		}
	})
}
