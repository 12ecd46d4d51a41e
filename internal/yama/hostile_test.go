package yama

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama/yamatest"
)

// Unusual and hostile hosts (issue 12): a drop-in that leads to another
// file is never read; the original is recorded on the host before the
// first change; applies on one host are serialised; long names work.

// secretMarker stands for the text of a file that must never leave its
// host (/etc/shadow's hashes).
const secretMarker = "SECRET-MARKER-5f0c2e-root:$6$hash"

// tapHost records everything a host sends back.
type tapHost struct {
	Host
	mu  sync.Mutex
	out bytes.Buffer
}

func (h *tapHost) Run(ctx context.Context, script string, stdin []byte, privileged bool) ([]byte, []byte, error) {
	o, e, err := h.Host.Run(ctx, script, stdin, privileged)
	h.mu.Lock()
	h.out.Write(o)
	h.out.Write(e)
	h.mu.Unlock()
	return o, e, err
}

func (h *tapHost) Root() string { return rootOf(h.Host) }

func (h *tapHost) saw(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Contains(h.out.Bytes(), []byte(s))
}

// TestReadRefusesUnsafeDropIn: a managed drop-in that is a symbolic link,
// a hard link, a directory or a FIFO is a read error naming the path and
// what it is, and nothing of the file it leads to crosses the wire (not
// even as another sysctl.d entry), under every shell.
func TestReadRefusesUnsafeDropIn(t *testing.T) {
	secret := "/etc/shadow"
	cases := []struct {
		name string
		make func(t *testing.T, root string)
		want string
	}{
		{"symlink to a secret", func(t *testing.T, root string) {
			yamatest.Symlink(t, root, DefaultFile, secret)
		}, "a symbolic link (to /etc/shadow)"},
		{"relative symlink to a secret", func(t *testing.T, root string) {
			yamatest.Symlink(t, root, DefaultFile, "../shadow")
		}, "a symbolic link (to ../shadow)"},
		{"hard link to a secret", func(t *testing.T, root string) {
			mustMkdir(t, filepath.Join(root, "/etc/sysctl.d"))
			if err := os.Link(filepath.Join(root, secret), filepath.Join(root, DefaultFile)); err != nil {
				t.Fatal(err)
			}
		}, "a hard link (one of 2 names of the same file)"},
		{"directory", func(t *testing.T, root string) {
			mustMkdir(t, filepath.Join(root, DefaultFile))
		}, "a directory"},
		{"fifo", func(t *testing.T, root string) {
			mustMkdir(t, filepath.Join(root, "/etc/sysctl.d"))
			if err := syscall.Mkfifo(filepath.Join(root, DefaultFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "a FIFO"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{secret: secretMarker + "\nkernel.yama.ptrace_scope = 0\n"}
			yamatest.EachShell(t, "1\n", files, func(t *testing.T, lh yamatest.LocalHost) {
				c.make(t, lh.Dir)
				// Another name of the secret in sysctl.d is not read either.
				yamatest.Symlink(t, lh.Dir, "/etc/sysctl.d/50-alias.conf", secret)
				h := &tapHost{Host: lh}
				_, err := Read(context.Background(), h, DefaultFile)
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrNotRegular) || e.Path != DefaultFile || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want ErrNotRegular naming %s as %q", err, DefaultFile, c.want)
				}
				if h.saw("SECRET-MARKER") {
					t.Errorf("the secret crossed the wire:\n%q", h.out.String())
				}
				// An apply refuses to record it (or anything) too.
				_, err = Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(2), Original: RecordOriginal})
				if !errors.Is(err, ErrNotRegular) {
					t.Errorf("apply: err = %v, want ErrNotRegular", err)
				}
				if h.saw("SECRET-MARKER") {
					t.Errorf("the secret crossed the wire in an apply:\n%q", h.out.String())
				}
				if got := yamatest.ReadFile(t, lh.Dir, ProcPath); got != "1\n" {
					t.Errorf("live value %q after a refused apply", got)
				}
				if _, err := os.Lstat(filepath.Join(lh.Dir, RecordPath(DefaultFile))); !os.IsNotExist(err) {
					t.Errorf("a record was made of an unsafe drop-in: %v", err)
				}
			})
		})
	}
}

// A safe drop-in next to such links is read as before, and its meta says
// one link with its mode and owner.
func TestReadReportsMeta(t *testing.T) {
	yamatest.EachShell(t, "1\n", map[string]string{DefaultFile: "kernel.yama.ptrace_scope = 1\n"}, func(t *testing.T, h yamatest.LocalHost) {
		if err := os.Chmod(filepath.Join(h.Dir, DefaultFile), 0o640); err != nil {
			t.Fatal(err)
		}
		st, err := Read(context.Background(), h, DefaultFile)
		if err != nil {
			t.Fatal(err)
		}
		m := st.Managed.Meta
		if m.Type != '-' || m.Links != 1 || m.Perm != 0o640 || m.UID != os.Getuid() || m.GID != os.Getgid() {
			t.Errorf("meta = %+v", m)
		}
		if st.Original.Exists() {
			t.Errorf("a record before any apply: %+v", st.Original)
		}
	})
}

func TestParseMeta(t *testing.T) {
	cases := map[string]Meta{
		"-rw-r-----  1 0 4 27 Jan  1 00:00 /etc/x":           {Type: '-', Perm: 0o640, Links: 1, GID: 4},
		"-rw-r--r--. 2 1000 1000 0 Jan 1 2024 x":             {Type: '-', Perm: 0o644, Links: 2, UID: 1000, GID: 1000},
		"-rwsr-sr-T+ 1 0 0 1 x":                              {Type: '-', Perm: 0o7754, Links: 1},
		"lrwxrwxrwx    1 0        0  11 Jan  1 00:00 a -> b": {Type: 'l', Perm: 0o777, Links: 1},
		"prw-r--r-- 1 0 0 0 x":                               {Type: 'p', Perm: 0o644, Links: 1},
	}
	for line, want := range cases {
		got, err := ParseMeta(line)
		if err != nil || got != want {
			t.Errorf("ParseMeta(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	}
	for _, bad := range []string{"", "total 0", "-rw-r--r-- x 0 0", "-rw-r--r-- 1 -1 0", "-rwxqwxrwx 1 0 0"} {
		if _, err := ParseMeta(bad); err == nil {
			t.Errorf("ParseMeta(%q) accepted", bad)
		}
	}
}

// TestApplyRecordsOriginal: the first change records what the host held
// (live value, drop-in content, mode, owner) in a root-only file outside
// sysctl.d; later changes keep it; forgetting removes it. The steps that
// ran are reported exactly.
func TestApplyRecordsOriginal(t *testing.T) {
	orig := "# vendor\nkernel.yama.ptrace_scope=1\n\n"
	yamatest.EachShell(t, "1\n", map[string]string{DefaultFile: orig}, func(t *testing.T, h yamatest.LocalHost) {
		if err := os.Chmod(filepath.Join(h.Dir, DefaultFile), 0o640); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// Nothing to change: nothing ran, nothing recorded.
		st, err := Apply(ctx, h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte(orig)), Runtime: scopePtr(1), Original: RecordOriginal})
		if err != nil || len(st.Changed) != 0 || st.Original.Exists() {
			t.Fatalf("no-op apply: changed %v, record %+v, err %v", st.Changed, st.Original, err)
		}
		st, err = Apply(ctx, h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("kernel.yama.ptrace_scope = 2\n")), Runtime: scopePtr(2), Original: RecordOriginal})
		if err != nil {
			t.Fatal(err)
		}
		rec := RecordPath(DefaultFile)
		want := []Step{{"record", rec}, {"file", DefaultFile}, {"runtime", ProcPath}}
		if !equalSteps(st.Changed, want) {
			t.Errorf("changed = %v, want %v", st.Changed, want)
		}
		snap, ok, err := st.Recorded()
		if err != nil || !ok {
			t.Fatalf("record not reported: %v %v (%+v)", ok, err, st.Original)
		}
		wantSnap := Snapshot{Runtime: 1, FileKind: KindRegular, Content: []byte(orig), Mode: 0o640, Owner: ownerOf(t, h.Dir, "")}
		if !sameSnapshot(snap, wantSnap) {
			t.Errorf("record = %+v, want %+v", snap, wantSnap)
		}
		for p, mode := range map[string]os.FileMode{rec: 0o600, RecordDir: 0o700} {
			if fi, err := os.Stat(filepath.Join(h.Dir, p)); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, mode)
			}
		}
		// A later change keeps the first record.
		st, err = Apply(ctx, h, Change{File: DefaultFile, Runtime: scopePtr(0), Original: RecordOriginal})
		if err != nil || !equalSteps(st.Changed, []Step{{"runtime", ProcPath}}) {
			t.Fatalf("second change: %v, %v", st.Changed, err)
		}
		if again, _, _ := st.Recorded(); !sameSnapshot(again, wantSnap) {
			t.Errorf("the record changed: %+v", again)
		}
		// Restore from it, then forget it.
		c, _ := snap.Restore(st, DefaultFile, true, true, nil)
		c.Original = ForgetOriginal
		st, err = Apply(ctx, h, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := yamatest.ReadFile(t, h.Dir, DefaultFile); got != orig {
			t.Errorf("restored drop-in %q", got)
		}
		if fi, _ := os.Stat(filepath.Join(h.Dir, DefaultFile)); fi.Mode().Perm() != 0o640 {
			t.Errorf("restored mode %v, want 0640", fi.Mode())
		}
		if st.Original.Exists() || st.Runtime != 1 {
			t.Errorf("after restore: record %+v, live %d", st.Original, st.Runtime)
		}
	})
}

// A record made when there was no drop-in restores as "no drop-in".
func TestRecordOfAbsentDropIn(t *testing.T) {
	yamatest.EachShell(t, "0\n", nil, func(t *testing.T, h yamatest.LocalHost) {
		st, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("x\n")), Original: RecordOriginal})
		if err != nil {
			t.Fatal(err)
		}
		snap, ok, err := st.Recorded()
		if err != nil || !ok || snap.FileKind != KindMissing || snap.Runtime != 0 {
			t.Fatalf("record %+v %v %v", snap, ok, err)
		}
	})
}

// TestRestoreModeAndOwner: a 0640 root:adm drop-in comes back 0640
// root:adm (the owner part needs root, as on a real host).
func TestRestoreModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	orig := "kernel.yama.ptrace_scope = 1\n"
	yamatest.EachShell(t, "1\n", map[string]string{DefaultFile: orig}, func(t *testing.T, h yamatest.LocalHost) {
		p := filepath.Join(h.Dir, DefaultFile)
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 0, 4); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		st, err := Apply(ctx, h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("kernel.yama.ptrace_scope = 2\n")), Original: RecordOriginal})
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 || fi.Sys().(*syscall.Stat_t).Gid != 0 {
			t.Fatalf("written drop-in is %v gid %d, want 0644 root", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid)
		}
		snap, _, _ := st.Recorded()
		c, _ := snap.Restore(st, DefaultFile, true, false, nil)
		c.Original = ForgetOriginal
		if _, err := Apply(ctx, h, c); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Uid != 0 || fi.Sys().(*syscall.Stat_t).Gid != 4 {
			t.Fatalf("restored %v, %+v; want 0640 0:4", err, fi)
		}
		// Same content, wrong mode: a restore puts the mode back alone.
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		st, _ = Read(ctx, h, DefaultFile)
		c, _ = snap.Restore(st, DefaultFile, true, false, nil)
		if _, err := Apply(ctx, h, c); err != nil || c.Empty() {
			t.Fatal(c, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v after a mode-only restore", fi.Mode())
		}
	})
}

func TestParseRecordRejectsDamage(t *testing.T) {
	good := "terraform-provider-yama original 1\nlive 2\nfile reg\nmeta -rw-r----- 1 0 4 3 x\n\nabc"
	s, err := ParseRecord([]byte(good))
	if err != nil || s.Runtime != 2 || string(s.Content) != "abc" || s.Mode != 0o640 || s.Owner != "0:4" {
		t.Fatalf("good record: %+v, %v", s, err)
	}
	if s, err := ParseRecord([]byte("terraform-provider-yama original 1\nlive -\nfile missing\n\n")); err != nil || s.Runtime != -1 || s.FileKind != KindMissing {
		t.Errorf("absent drop-in, no Yama: %+v, %v", s, err)
	}
	for _, bad := range []string{
		"", "hello\n\n", strings.Replace(good, "live 2", "live 9", 1), strings.Replace(good, "file reg", "file link", 1),
		strings.Replace(good, "meta -rw-r----- 1 0 4 3 x\n", "", 1), "terraform-provider-yama original 1\nlive 1\nfile missing\n\nleftover",
		strings.TrimSuffix(strings.Replace(good, "\n\n", "\n", 1), "abc"),
	} {
		if _, err := ParseRecord([]byte(bad)); !errors.Is(err, ErrBadRecord) {
			t.Errorf("ParseRecord(%q) = %v, want ErrBadRecord", bad, err)
		}
	}
}

// TestApplyIsSerialised: a second apply waits for the first one's lock
// (flock, or the lock directory where flock is missing), and fails with
// ErrBusy naming the lock when the wait runs out; once the first one is
// done, the second goes through.
func TestApplyIsSerialised(t *testing.T) {
	for _, variant := range []string{"flock", "mkdir"} {
		t.Run(variant, func(t *testing.T) {
			yamatest.EachShell(t, "1\n", nil, func(t *testing.T, h yamatest.LocalHost) {
				gate := filepath.Join(t.TempDir(), "gate")
				bin := standIns(t, variant == "mkdir", map[string]string{
					// tee waits for the gate file, then does its job.
					"tee": "#!/bin/sh\nwhile [ ! -e " + gate + " ]; do sleep 0.05; done\nexec " + mustLookPath(t, "tee") + " \"$@\"\n",
				})
				slow := h
				slow.Env = []string{"PATH=" + bin}
				fast := h
				fast.Env = []string{"PATH=" + bin}
				defer setLockWait(time.Second)()

				done := make(chan error, 1)
				go func() {
					_, err := Apply(context.Background(), slow, Change{File: DefaultFile, Runtime: scopePtr(2), Original: RecordOriginal})
					done <- err
				}()
				waitFor(t, func() bool { return fileExists(filepath.Join(h.Dir, RecordPath(DefaultFile))) })
				start := time.Now()
				_, err := Apply(context.Background(), fast, Change{File: DefaultFile, Runtime: scopePtr(3), Original: RecordOriginal})
				if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), LockPath) {
					t.Fatalf("second apply: %v, want ErrBusy naming %s", err, LockPath)
				}
				if d := time.Since(start); d < time.Second || d > 10*time.Second {
					t.Errorf("gave up after %s, want about 1s", d)
				}
				if err := os.WriteFile(gate, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatalf("first apply: %v", err)
				}
				st, err := Apply(context.Background(), fast, Change{File: DefaultFile, Runtime: scopePtr(0), Original: RecordOriginal})
				if err != nil || st.Runtime != 0 {
					t.Fatalf("apply after the lock was released: %v", err)
				}
				if snap, _, _ := st.Recorded(); snap.Runtime != 1 {
					t.Errorf("record holds live %d, want the original 1", snap.Runtime)
				}
			})
		})
	}
}

// Two applies started together both complete, one after the other.
func TestConcurrentAppliesBothComplete(t *testing.T) {
	yamatest.EachShell(t, "1\n", nil, func(t *testing.T, h yamatest.LocalHost) {
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := []byte("kernel.yama.ptrace_scope = " + string(rune('0'+i%3)) + "\n")
				_, errs[i] = Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, c), Runtime: scopePtr(ptrace.Scope(i % 3)), Original: RecordOriginal})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			// Each one writes, then verifies what it wrote under the lock.
			if err != nil {
				t.Errorf("apply %d: %v", i, err)
			}
		}
		st, err := Read(context.Background(), h, DefaultFile)
		if err != nil {
			t.Fatal(err)
		}
		if snap, ok, _ := st.Recorded(); !ok || snap.Runtime != 1 || snap.FileKind != KindMissing {
			t.Errorf("record = %+v (%v), want the host before all of them", snap, ok)
		}
	})
}

// TestApplySweepsLeftovers: temporary files a killed apply left next to
// the drop-in (this version's naming and the old .NAME.XXXXXX) go; other
// hidden files stay.
func TestApplySweepsLeftovers(t *testing.T) {
	files := map[string]string{
		"/etc/sysctl.d/.terraform-provider-yama.a1B2c3": "half",
		"/etc/sysctl.d/.10-ptrace.conf.Zx81Qa":          "half",
		"/etc/sysctl.d/.10-ptrace.conf.bak":             "keep",
		"/etc/sysctl.d/.hidden":                         "keep",
	}
	yamatest.EachShell(t, "1\n", files, func(t *testing.T, h yamatest.LocalHost) {
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Runtime: scopePtr(1)}); err != nil {
			t.Fatal(err)
		}
		left, _ := filepath.Glob(filepath.Join(h.Dir, "etc/sysctl.d/.*"))
		var names []string
		for _, l := range left {
			names = append(names, filepath.Base(l))
		}
		if strings.Join(names, " ") != ".10-ptrace.conf.bak .hidden" {
			t.Errorf("left in /etc/sysctl.d: %v", names)
		}
	})
}

// TestLongFileName: any legal name works, up to NAME_MAX (255 bytes); one
// byte more is refused by validation, before any command.
func TestLongFileName(t *testing.T) {
	for _, n := range []int{250, 255} {
		name := strings.Repeat("a", n-len(".conf")) + ".conf"
		f := "/etc/sysctl.d/" + name
		yamatest.EachShell(t, "1\n", nil, func(t *testing.T, h yamatest.LocalHost) {
			ctx := context.Background()
			st, err := Apply(ctx, h, Change{File: f, Files: writeOp(f, []byte("kernel.yama.ptrace_scope = 2\n")), Runtime: scopePtr(2), Original: RecordOriginal})
			if err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
			if _, ok, err := st.Recorded(); !ok || err != nil {
				t.Errorf("%d bytes: no record (%v)", n, err)
			}
			if _, err := Apply(ctx, h, Change{File: f, Files: removeOp(f), Original: ForgetOriginal}); err != nil {
				t.Fatal(err)
			}
		})
	}
	long := "/etc/sysctl.d/" + strings.Repeat("a", 256-len(".conf")) + ".conf"
	if err := ValidateFile(long); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "255") {
		t.Errorf("256-byte name: %v", err)
	}
}

// TestApplyNeedsARecordToChange: a host where the record cannot be made
// (a read-only /var/lib) is not changed at all; a destroy there (forget)
// still goes through.
func TestApplyNeedsARecordToChange(t *testing.T) {
	yamatest.EachShell(t, "1\n", map[string]string{"/var/lib/terraform-provider-yama": "a file, not a directory"}, func(t *testing.T, h yamatest.LocalHost) {
		_, err := Apply(context.Background(), h, Change{File: DefaultFile, Files: writeOp(DefaultFile, []byte("x\n")), Runtime: scopePtr(2), Original: RecordOriginal})
		var e *Error
		if !errors.Is(err, ErrRecord) || !errors.As(err, &e) || e.Op != "lock" {
			t.Fatalf("err = %v, want ErrRecord at the lock step", err)
		}
		if fileExists(filepath.Join(h.Dir, DefaultFile)) || yamatest.ReadFile(t, h.Dir, ProcPath) != "1\n" {
			t.Error("the host was changed without a record")
		}
		if _, err := Apply(context.Background(), h, Change{File: DefaultFile, Original: ForgetOriginal}); err != nil {
			t.Errorf("forget without the directory: %v", err)
		}
	})
}

// TestBootThroughLinkedSysctlD: /etc/sysctl.d as a symbolic link (to
// /usr/lib/sysctl.d, or outside every sysctl.d directory) is followed as
// systemd-sysctl and procps follow it: the drop-in written through it is
// predicted to win, the same before and after the apply (no diff on every
// plan).
func TestBootThroughLinkedSysctlD(t *testing.T) {
	want := []byte("kernel.yama.ptrace_scope = 2\n")
	for _, target := range []string{"../usr/lib/sysctl.d", "../srv/sysctl"} {
		t.Run(target, func(t *testing.T) {
			root := yamatest.NewRoot(t, "1", map[string]string{
				"/usr/lib/sysctl.d/05-vendor.conf": "kernel.yama.ptrace_scope = 1\n",
				"/srv/sysctl/05-early.conf":        "# nothing here\nvm.swappiness = 1\n",
			})
			yamatest.Symlink(t, root, "/etc/sysctl.d", target)
			h := yamatest.LocalHost{Dir: root, Shell: "/bin/sh"}
			ctx := context.Background()
			predict := func(st *State, overlay map[string][]byte) Boot {
				t.Helper()
				v, err := st.BootView()
				if err != nil {
					t.Fatal(err)
				}
				b, err := v.Predict(sysctld.ModeSystemd, overlay, DefaultFile)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			before, err := Read(ctx, h, DefaultFile)
			if err != nil {
				t.Fatal(err)
			}
			planned := predict(before, map[string][]byte{DefaultFile: want})
			after, err := Apply(ctx, h, Change{File: DefaultFile, Files: writeOp(DefaultFile, want), Runtime: scopePtr(2), Original: RecordOriginal})
			if err != nil {
				t.Fatal(err)
			}
			got := predict(after, nil)
			replanned := predict(after, map[string][]byte{DefaultFile: want})
			// boot_source names the file holding the line, links resolved.
			source := path.Join("/etc", target, "10-ptrace.conf") + ":1"
			for name, b := range map[string]Boot{"planned": planned, "after": got, "planned again": replanned} {
				if !b.Set || b.Scope != 2 || b.Source != source || len(b.ShadowedBy) != 0 {
					t.Errorf("%s: boot %v from %q, shadowed by %v; want 2 from %s", name, b.Scope, b.Source, b.ShadowedBy, source)
				}
			}
		})
	}
}

// TestReduceKeepsOnlyTheKey: nothing but the key's lines (and the line
// numbers they need) is kept of any file.
func TestReduceKeepsOnlyTheKey(t *testing.T) {
	in := "# secret comment\nkernel.yama.ptrace_scope = 1\npassword = hunter2\n# more\n"
	if got := string(reduce("x.conf", []byte(in))); got != "\nkernel.yama.ptrace_scope = 1\n" {
		t.Errorf("reduce = %q", got)
	}
	if got := string(reduce("x.conf", []byte(strings.Repeat("net.x = 1\n", 100)))); got != "\n" {
		t.Errorf("a file without the key reduced to %q, want one blank line", got)
	}
}

func equalSteps(a, b []Step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameSnapshot(a, b Snapshot) bool {
	return a.Runtime == b.Runtime && a.FileKind == b.FileKind && bytes.Equal(a.Content, b.Content) &&
		a.Mode == b.Mode && a.Owner == b.Owner && a.Provisional == b.Provisional
}

// ownerOf is the uid:gid of a file under root (the test user's for "").
func ownerOf(t *testing.T, root, p string) string {
	t.Helper()
	if p == "" {
		return (Meta{UID: os.Getuid(), GID: os.Getgid()}).Owner()
	}
	fi, err := os.Stat(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return (Meta{UID: int(st.Uid), GID: int(st.Gid)}).Owner()
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setLockWait(d time.Duration) (restore func()) {
	old := LockWait
	LockWait = d
	return func() { LockWait = old }
}

// standIns returns a directory to use as the whole PATH: links to every
// tool of this machine's PATH (without flock when noFlock), then the given
// scripts in their place.
func standIns(t *testing.T, noFlock bool, scripts map[string]string) string {
	t.Helper()
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			name := e.Name()
			if (noFlock && name == "flock") || scripts[name] != "" || fileExists(filepath.Join(bin, name)) {
				continue
			}
			_ = os.Symlink(filepath.Join(dir, name), filepath.Join(bin, name))
		}
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// FuzzParseRecord: a damaged record never panics, and what it accepts is a
// snapshot that can be restored.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("terraform-provider-yama original 1\nlive 2\nfile reg\nmeta -rw-r----- 1 0 4 3 x\n\nabc"))
	f.Add([]byte("terraform-provider-yama original 1\nlive -\nfile missing\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseRecord(data)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error not wrapped as ErrBadRecord: %v", err)
			}
			return
		}
		if s.FileKind != KindRegular && s.FileKind != KindMissing || s.Mode > 0o7777 || validOwner(s.Owner) != nil {
			t.Fatalf("accepted %+v", s)
		}
		if s.Runtime != -1 && !ptrace.Scope(s.Runtime).Valid() {
			t.Fatalf("accepted live value %d", s.Runtime)
		}
	})
}

func FuzzParseMeta(f *testing.F) {
	f.Add("-rw-r-----  1 0 4 27 Jan  1 00:00 /etc/x")
	f.Add("lrwxrwxrwx 1 0 0 11 a -> b")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseMeta(line)
		if err == nil && (m.Perm > 0o7777 || m.Links < 0 || m.UID < 0 || m.GID < 0) {
			t.Fatalf("accepted %+v from %q", m, line)
		}
	})
}

// A login user who is not root cannot make the provider's directory: that
// is "permission denied" (connect as root or use sudo), not a broken host;
// a read-only /var/lib is ErrRecord; a lock that stays held is ErrBusy.
func TestClassifyRecordAndLockFailures(t *testing.T) {
	exit := errors.New("exit status 8")
	cases := []struct {
		stderr string
		want   error
		op     string
	}{
		{"yama-step lock " + LockPath + "\nchmod: changing permissions of '" + RecordDir + "': Operation not permitted\nyama-error record\n", ErrPermission, "lock"},
		{"yama-step lock " + LockPath + "\nmkdir: cannot create directory '" + RecordDir + "': Read-only file system\nyama-error record\n", ErrRecord, "lock"},
		{"yama-step lock " + LockPath + "\nyama-step record " + RecordPath(DefaultFile) + "\nmktemp: No space left on device\nyama-error record\n", ErrRecord, "record original"},
		{"yama-step lock " + LockPath + "\nyama-error busy\n", ErrBusy, "lock"},
	}
	for _, c := range cases {
		_, err := Apply(context.Background(), cannedHost{runtime: "1", stderr: c.stderr, err: exit}, Change{File: DefaultFile, Runtime: scopePtr(2), Original: RecordOriginal})
		var e *Error
		if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Op != c.op || strings.Contains(e.Detail, "yama-") {
			t.Errorf("%q: %v (op %q), want %v at %q without markers in the detail", c.stderr, err, e.Op, c.want, c.op)
		}
	}
}
