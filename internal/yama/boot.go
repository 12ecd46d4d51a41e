package yama

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
)

// BootView is the part of a host's sysctl configuration that decides
// kernel.yama.ptrace_scope at boot: every sysctl.d entry (so masks by name
// still work) with only the lines that touch the key kept, blank lines in
// place of the others so line numbers stay true. It is small enough to keep
// in Terraform's private state between refresh and plan.
type BootView struct {
	Systemd bool            `json:"systemd"`
	Entries []sysctld.Entry `json:"entries"`
}

// ErrBootUnknown is returned when the boot value cannot be predicted
// (a sysctl file the login user cannot read).
var ErrBootUnknown = errors.New("the boot-time value cannot be predicted")

// BootView extracts the boot-relevant configuration from st.
func (s *State) BootView() (BootView, error) {
	v := BootView{Systemd: s.Systemd}
	have := map[string]bool{}
	var linkDirs []string // directories that are symlinks: their listings are reached through the target
	for _, f := range s.Config {
		if under(f.Path, linkDirs) {
			continue
		}
		switch f.Kind {
		case KindMissing:
			continue
		case KindDir:
			v.Entries = append(v.Entries, sysctld.Entry{Path: f.Path, Kind: sysctld.KindDir})
		case KindSymlink:
			v.Entries = append(v.Entries, sysctld.Entry{Path: f.Path, Kind: sysctld.KindSymlink, Target: f.Target})
			if !strings.HasSuffix(f.Path, ".conf") {
				linkDirs = append(linkDirs, f.Path)
			}
		case KindRegular:
			if f.TooLarge {
				return v, fmt.Errorf("%w: %s (over %d bytes)", ErrTooLarge, f.Path, MaxFileSize)
			}
			if !f.Readable {
				return v, fmt.Errorf("%w: %s is not readable by the login user", ErrBootUnknown, f.Path)
			}
			v.Entries = append(v.Entries, sysctld.Entry{Path: f.Path, Kind: sysctld.KindRegular, Data: reduce(f.Path, f.Content)})
		default:
			v.Entries = append(v.Entries, sysctld.Entry{Path: f.Path, Kind: sysctld.KindOther})
		}
		have[f.Path] = true
	}
	// A link that leaves the listed paths (99-sysctl.conf -> ../sysctl.conf
	// is listed, but a link to /usr/share/... is not) brings its target's
	// content with it: add the target so the resolver can follow the link.
	for _, f := range s.Config {
		if f.Kind != KindSymlink || !f.Readable || under(f.Path, linkDirs) {
			continue
		}
		target := f.Target
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(f.Path), target)
		}
		if target == "/dev/null" || have[target] || under(target, linkDirs) {
			continue
		}
		have[target] = true
		v.Entries = append(v.Entries, sysctld.Entry{Path: target, Kind: sysctld.KindRegular, Data: reduce(target, f.Content)})
	}
	return v, nil
}

func under(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// reduce keeps the lines that touch Key and blanks the others. An empty
// file stays empty (it masks), a non-empty one stays non-empty.
func reduce(name string, data []byte) []byte {
	if len(data) == 0 {
		return data
	}
	assignments, _ := sysctld.Parse(name, data)
	keep := map[int]bool{}
	for _, a := range assignments {
		if a.Matches(Key) {
			keep[a.Line] = true
		}
	}
	lines := strings.SplitAfter(string(data), "\n")
	var b strings.Builder
	for i, l := range lines {
		if keep[i+1] {
			b.WriteString(l)
		} else if strings.HasSuffix(l, "\n") {
			b.WriteString("\n")
		}
	}
	if b.Len() == 0 {
		return []byte("\n")
	}
	return []byte(b.String())
}

// Boot is the predicted boot-time story of the key on one host.
type Boot struct {
	Mode sysctld.Mode
	// Set is false when no file sets the key: the kernel's default stays,
	// which depends on how the kernel was built.
	Set    bool
	Scope  ptrace.Scope
	Source string // "path:line" of the winning assignment
	// ShadowedBy lists the assignments ("path:line") that keep the managed
	// drop-in's value from being the boot value: later files setting
	// another value, an earlier 3 that locks the key, or the file that
	// masks the managed one by name.
	ShadowedBy []Shadow
	Result     sysctld.Result
}

// Shadow is one assignment or file that defeats the managed drop-in.
type Shadow struct {
	File  string // the file holding the assignment, or the masking file
	Entry string // the sysctl.d entry boot opened (differs for a symlink)
	Line  int    // 0 for a mask by name
	Value string // what it sets ("" for a mask)
	Why   string
}

func (s Shadow) String() string {
	if s.Line == 0 {
		return s.File
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// BootMode picks the loader: mode "systemd" or "procps", or "" for the
// one the host runs (systemd-sysctl when systemd is init).
func (v BootView) BootMode(mode string) (sysctld.Mode, error) {
	if mode == "" || mode == "auto" {
		return sysctld.DetectMode(v.Systemd), nil
	}
	return sysctld.ParseMode(mode)
}

// Predict resolves the boot value with overlay applied on top of the host's
// files (path -> content, used to predict "after this apply"; a nil
// content removes the path). managed is
// the drop-in whose value should win; "" when the resource does not
// persist, so nothing is reported as shadowing.
func (v BootView) Predict(mode sysctld.Mode, overlay map[string][]byte, managed string) (Boot, error) {
	fsys, err := sysctld.NewMemFS()
	if err != nil {
		return Boot{}, err
	}
	for _, e := range v.Entries {
		if _, replaced := overlay[e.Path]; replaced {
			continue
		}
		if err := fsys.Add(e); err != nil {
			return Boot{}, fmt.Errorf("%w: %v", ErrBootUnknown, err)
		}
	}
	for _, p := range sortedKeys(overlay) {
		if overlay[p] == nil {
			continue
		}
		if err := fsys.Add(sysctld.Entry{Path: p, Kind: sysctld.KindRegular, Data: reduce(p, overlay[p])}); err != nil {
			return Boot{}, fmt.Errorf("%w: %v", ErrBootUnknown, err)
		}
	}
	res, err := sysctld.Options{Mode: mode, LockValue: ptrace.NoAttach.String(), Check: checkScope}.Resolve(fsys, Key)
	if err != nil {
		return Boot{}, fmt.Errorf("%w: %v", ErrBootUnknown, err)
	}
	b := Boot{Mode: mode, Result: res, Set: res.Set}
	if res.Set {
		b.Scope, _ = ptrace.KernelParse(res.Value) // checkScope made it canonical
		b.Source = res.Source.File + ":" + strconv.Itoa(res.Source.Line)
	}
	if managed != "" {
		b.ShadowedBy = shadows(res, managed)
	}
	return b, nil
}

// checkScope is the kernel's view of a value boot writes (Options.Check):
// the scope ptrace.KernelParse says the write sets, in canonical form
// ("0x3" and "03" become "3", so the lock at 3 is seen), or its EINVAL.
func checkScope(v string) (string, error) {
	s, err := ptrace.KernelParse(v)
	if err != nil {
		return "", err
	}
	return s.String(), nil
}

// canonical is v as the kernel stores it, or v itself when the kernel
// refuses it: two values are the same scope when their canonical forms are
// equal ("2", "0x2" and "2 # c").
func canonical(v string) string {
	if c, err := checkScope(v); err == nil {
		return c
	}
	return v
}

// shadows explains why the managed drop-in's value does not win.
func shadows(res sysctld.Result, managed string) []Shadow {
	for _, m := range res.Masked {
		if m.Path == managed && m.Reason == sysctld.MaskShadowed {
			return []Shadow{{File: m.By, Entry: m.By, Why: "masks " + managed + " (same file name in an earlier directory)"}}
		}
	}
	own := -1
	for i, s := range res.Applied {
		if entryOf(s.Assignment) == managed && !s.Exclude {
			own = i
		}
	}
	if own < 0 {
		return nil
	}
	mine := res.Applied[own]
	if res.Set && res.Value == canonical(mine.Value) && mine.Outcome != sysctld.Failed {
		return nil
	}
	var out []Shadow
	if mine.Outcome == sysctld.Failed {
		// An earlier write of 3 locked the key before the managed file.
		for _, s := range res.Applied[:own] {
			if s.Outcome == sysctld.Written && s.Effective == ptrace.NoAttach.String() {
				out = append(out, shadowOf(s, "sets 3 earlier, which locks the key"))
				break
			}
		}
	}
	for _, s := range res.Applied[own+1:] {
		switch {
		case s.Exclude:
		case (s.Outcome == sysctld.Written || s.Outcome == sysctld.Merged) && canonical(s.Value) != canonical(mine.Value):
			out = append(out, shadowOf(s, "is applied later"))
		case s.Outcome == sysctld.Failed && mine.Outcome == sysctld.Replaced && s.Key == mine.Key:
			// systemd writes only the last line for the key: this one,
			// which the kernel refuses, so the kernel default stays.
			out = append(out, shadowOf(s, "replaces it, and the kernel refuses its value, so the kernel default stays"))
		}
	}
	return out
}

func shadowOf(s sysctld.Step, why string) Shadow {
	return Shadow{File: s.File, Entry: entryOf(s.Assignment), Line: s.Line, Value: s.Value, Why: why}
}

func entryOf(a sysctld.Assignment) string {
	if a.Via != "" {
		return a.Via
	}
	return a.File
}

// ErrCannotOverride is returned when shadowing = override has no safe way to
// make the managed value win.
var ErrCannotOverride = errors.New("cannot make the managed drop-in win at boot")

// OverrideDir is where override drop-ins go: it is the earliest directory,
// so a file there is never masked by name.
const OverrideDir = "/etc/sysctl.d"

// Override returns the extra drop-in that makes value win at boot over the
// shadows in b: a file in /etc/sysctl.d whose name sorts after every
// shadowing file. ours lists override files this resource already owns
// (they may be rewritten). It refuses, with the reason, what no drop-in can
// beat: a mask of the managed file by name, an earlier 3 that locks the key,
// and /etc/sysctl.conf under procps, which applies it after every drop-in.
func (v BootView) Override(b Boot, managed string, managedContent []byte, value ptrace.Scope, ours map[string]bool) (string, []byte, error) {
	last := ""
	for _, s := range b.ShadowedBy {
		switch {
		case s.Line == 0:
			return "", nil, fmt.Errorf("%w: %s %s; set file to a path in %s or remove %s", ErrCannotOverride, s.File, s.Why, OverrideDir, s.File)
		case canonical(s.Value) == ptrace.NoAttach.String() && strings.Contains(s.Why, "locks"):
			return "", nil, fmt.Errorf("%w: %s:%d sets 3 before %s, and the kernel refuses any other value after that; remove that line", ErrCannotOverride, s.File, s.Line, managed)
		case b.Mode == sysctld.ModeProcps && s.File == sysctld.SysctlConf:
			return "", nil, fmt.Errorf("%w: sysctl --system applies %s:%d after every drop-in; remove the line there", ErrCannotOverride, s.File, s.Line)
		}
		if base := path.Base(s.Entry); base > last {
			last = base
		}
	}
	if last == "" {
		return "", nil, nil
	}
	name := "zz-yama-ptrace-scope.conf"
	for name <= last || (v.taken(name) && !ours[OverrideDir+"/"+name]) {
		if len(name) > 64 {
			return "", nil, fmt.Errorf("%w: no file name sorts after %q", ErrCannotOverride, last)
		}
		name = "z" + name
	}
	p := OverrideDir + "/" + name
	var over []string
	for _, s := range b.ShadowedBy {
		over = append(over, s.String())
	}
	content := sysctld.Render(Key, value.String(), "terraform-provider-yama (shadowing = override): makes "+managed+" win over "+strings.Join(over, ", "))
	check, err := v.Predict(b.Mode, map[string][]byte{managed: managedContent, p: content}, managed)
	if err != nil {
		return "", nil, err
	}
	if !check.Set || check.Scope != value {
		return "", nil, fmt.Errorf("%w: even with %s the host would boot with %s", ErrCannotOverride, p, describeBoot(check))
	}
	return p, content, nil
}

// taken reports whether any sysctl.d directory has an entry named base.
func (v BootView) taken(base string) bool {
	for _, e := range v.Entries {
		if path.Base(e.Path) == base {
			return true
		}
	}
	return false
}

func describeBoot(b Boot) string {
	if !b.Set {
		return "the kernel default (nothing sets the key)"
	}
	return b.Scope.String() + " from " + b.Source
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
