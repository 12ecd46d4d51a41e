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
//
// A sysctl.d directory may be a symbolic link (to another sysctl.d
// directory, or anywhere else): systemd-sysctl and procps follow it and
// read the files there under the directory's own name, and so does the
// view. The script lists such a directory through the link; its entries
// are kept under the link's target, once (a target that is itself listed,
// such as /lib -> usr/lib, is not added twice).
func (s *State) BootView() (BootView, error) {
	v := BootView{Systemd: s.Systemd}
	linkDirs := map[string]string{} // directory symlinks -> their targets, absolute
	for _, f := range s.Config {
		if f.Kind == KindSymlink && !strings.HasSuffix(f.Path, ".conf") {
			linkDirs[f.Path] = absTarget(f.Path, f.Target)
		}
	}
	// physical maps a listed path to where its file lives, through the
	// directory links; "" when a link chain does not end.
	physical := func(p string) string {
		for hops := 0; hops <= 40; hops++ {
			d := linkDirOf(p, linkDirs)
			if d == "" {
				return p
			}
			p = path.Join(linkDirs[d], strings.TrimPrefix(p, d+"/"))
		}
		return ""
	}
	have := map[string]bool{}
	for _, f := range s.Config {
		if f.Kind != KindMissing && linkDirOf(f.Path, linkDirs) == "" {
			have[f.Path] = true
		}
	}
	for _, f := range s.Config {
		p := f.Path
		if linkDirOf(p, linkDirs) != "" {
			// Listed through a directory link: keep it at its target,
			// unless the target is listed itself.
			if p = physical(p); p == "" || have[p] {
				continue
			}
		}
		switch f.Kind {
		case KindMissing:
			continue
		case KindDir:
			v.Entries = append(v.Entries, sysctld.Entry{Path: p, Kind: sysctld.KindDir})
		case KindSymlink:
			v.Entries = append(v.Entries, sysctld.Entry{Path: p, Kind: sysctld.KindSymlink, Target: f.Target})
		case KindRegular:
			if f.TooLarge {
				return v, fmt.Errorf("%w: %s (over %d bytes)", ErrTooLarge, f.Path, MaxFileSize)
			}
			if !f.Readable {
				return v, fmt.Errorf("%w: %s is not readable by the login user", ErrBootUnknown, f.Path)
			}
			v.Entries = append(v.Entries, sysctld.Entry{Path: p, Kind: sysctld.KindRegular, Data: reduce(p, f.Content)})
		default:
			v.Entries = append(v.Entries, sysctld.Entry{Path: p, Kind: sysctld.KindOther})
		}
		have[p] = true
	}
	// A link that leaves the listed paths (99-sysctl.conf -> ../sysctl.conf
	// is listed, but a link to /usr/share/... is not) brings its target's
	// content with it: add the target so the resolver can follow the link.
	for _, f := range s.Config {
		if f.Kind != KindSymlink || !f.Readable {
			continue
		}
		entry := physical(f.Path)
		if entry == "" {
			continue
		}
		target := physical(absTarget(entry, f.Target))
		if target == "" || target == "/dev/null" || have[target] {
			continue
		}
		have[target] = true
		v.Entries = append(v.Entries, sysctld.Entry{Path: target, Kind: sysctld.KindRegular, Data: reduce(target, f.Content)})
	}
	return v, nil
}

// absTarget is a symlink's target as an absolute path (a relative one
// starts at the link's directory).
func absTarget(link, target string) string {
	if path.IsAbs(target) {
		return path.Clean(target)
	}
	return path.Join(path.Dir(link), target)
}

// linkDirOf returns the directory link that p is listed under, or "".
func linkDirOf(p string, linkDirs map[string]string) string {
	for d := range linkDirs {
		if strings.HasPrefix(p, d+"/") {
			return d
		}
	}
	return ""
}

// physical is p with the directory symlinks of the view resolved: where a
// file written at p lands (a drop-in in a linked /etc/sysctl.d).
func (v BootView) physical(p string) string {
	for hops := 0; hops <= 40; hops++ {
		moved := false
		for _, e := range v.Entries {
			if e.Kind == sysctld.KindSymlink && strings.HasPrefix(p, strings.TrimSuffix(e.Path, "/")+"/") {
				p = path.Join(absTarget(e.Path, e.Target), strings.TrimPrefix(p, e.Path+"/"))
				moved = true
				break
			}
		}
		if !moved {
			break
		}
	}
	return p
}

// reduce keeps the lines that touch Key, blanks the others before the last
// of them (so line numbers stay true) and drops the rest: nothing else of
// any file is kept. An empty file stays empty (it masks), a non-empty one
// stays non-empty (a blank line).
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
	kept := 0 // length of b up to the last kept line
	for i, l := range lines {
		if keep[i+1] {
			b.WriteString(l)
			kept = b.Len()
		} else if strings.HasSuffix(l, "\n") {
			b.WriteString("\n")
		}
	}
	if kept == 0 {
		return []byte("\n")
	}
	return []byte(b.String()[:kept])
}

// KeyLines returns the lines of data that assign Key, and nothing else of
// it: what may be kept of a sysctl file the provider does not own outright.
func KeyLines(name string, data []byte) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(string(reduce(name, data)), "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(l)
		}
	}
	return b.String()
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
	// An overlay path is where the file lands: through a linked sysctl.d
	// directory, at the link's target.
	phys := make(map[string][]byte, len(overlay))
	for p, c := range overlay {
		phys[v.physical(p)] = c
	}
	for _, e := range v.Entries {
		if _, replaced := phys[e.Path]; replaced {
			continue
		}
		if err := fsys.Add(e); err != nil {
			return Boot{}, fmt.Errorf("%w: %v", ErrBootUnknown, err)
		}
	}
	for _, p := range sortedKeys(phys) {
		if phys[p] == nil {
			continue
		}
		if err := fsys.Add(sysctld.Entry{Path: p, Kind: sysctld.KindRegular, Data: reduce(p, phys[p])}); err != nil {
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
