package sysctld

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Options tunes Resolve.
type Options struct {
	Mode Mode
	// LockValue models a sysctl that locks once it holds this value, as
	// kernel.yama.ptrace_scope does at "3" (yama_dointvec_minmax raises the
	// minimum to the maximum, so any other value then gets EINVAL). Once a
	// write of LockValue succeeds, later writes of a different value fail
	// and the value stays. It applies in both modes, because the kernel
	// refuses whoever writes: it only makes a difference when boot writes
	// the key more than once (procps always; systemd only through globs).
	// The boot starts from the kernel default, which is assumed unlocked.
	LockValue string
	// Check, if set, is the kernel's view of a value: it returns the value
	// as the kernel stores it (e.g. "03" -> "3") or an error for a write the
	// kernel refuses (e.g. outside 0-3: EINVAL). A refused write fails and
	// leaves the value unchanged. LockValue is compared with checked values.
	Check func(value string) (string, error)
}

// Outcome is what boot does with one assignment that touches the key.
type Outcome uint8

const (
	Written  Outcome = iota // written and accepted: the key now holds Step.Effective
	Failed                  // written but refused (locked at LockValue, or Check said no)
	Replaced                // systemd: a later line for the same key or pattern replaced it before any write
	Merged                  // systemd: same key or pattern with the same value already pending; written once, earlier
	Skipped                 // pattern not applied: the key has an explicit assignment or an exclusion
	Excluded                // a "-key" exclusion line: writes nothing
)

func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Failed:
		return "failed"
	case Replaced:
		return "replaced"
	case Merged:
		return "merged"
	case Skipped:
		return "skipped"
	case Excluded:
		return "excluded"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Step is one assignment that touches the key, with what boot does with it.
type Step struct {
	Assignment
	Outcome Outcome
	// Effective is the key's value after this step ("" while boot has
	// written nothing); for Written it is the value as Options.Check
	// returned it.
	Effective string
	Reason    string // why, for every outcome but Written
}

// MaskReason says why a sysctl.d entry contributes nothing.
type MaskReason string

const (
	MaskShadowed   MaskReason = "same basename in an earlier directory"
	MaskDevNull    MaskReason = "symlink to /dev/null"
	MaskEmpty      MaskReason = "empty file"
	MaskDangling   MaskReason = "dangling symlink"
	MaskLinkLoop   MaskReason = "symlink loop"
	MaskNotRegular MaskReason = "not a regular file"
)

// Masked is a sysctl.d entry that boot passes over. Every entry except a
// shadowed one still claims its basename: same-named files in later
// directories are shadowed by it (and list it in By). Both tools behave so:
// they pick one path per basename from the directory listing alone and only
// then open it, so a dangling link masks as well as a /dev/null one does.
type Masked struct {
	Path   string // the entry, e.g. "/usr/lib/sysctl.d/10-default-yama-scope.conf"
	By     string // MaskShadowed: the earlier entry that claimed the basename
	Target string // for a symlink: its link text (a dangling target is what to fetch)
	Reason MaskReason
}

// Result is the boot-time story of one key.
type Result struct {
	Key  string // NormalizeKey(key)
	Mode Mode
	// Value is the value boot leaves (checked by Options.Check); "" when
	// Set is false, i.e. the kernel default stays.
	Value string
	Set   bool
	// Source is the assignment of the last successful write (systemd: the
	// first of several lines with the same final value, see Merged).
	Source Assignment
	// Applied holds every assignment that touches the key, explicit, by
	// pattern or by exclusion, in the order boot reads them, which is the
	// order it writes the ones it writes.
	Applied []Step
	// Overridden holds the assignments that asked for a value, were not
	// refused, and are not Source: written then overwritten, replaced
	// (systemd), or patterns skipped.
	Overridden []Assignment
	Masked     []Masked
	Failed     []Step // the Applied steps boot writes but the kernel refuses
	Errors     []error
}

// Resolve is Options{Mode: mode}.Resolve.
func Resolve(fsys fs.FS, key string, mode Mode) (Result, error) {
	return Options{Mode: mode}.Resolve(fsys, key)
}

// Resolve works out which sysctl.d assignment decides key at boot on the
// host whose root is fsys. key is a plain key (dots or slashes), not a
// pattern. Parse errors and passed-over files are reported in the Result;
// the error is for a bad key and for I/O failures other than "does not
// exist", which would make the answer a guess.
func (o Options) Resolve(fsys fs.FS, key string) (Result, error) {
	k := NormalizeKey(key)
	if k == "" || isGlob(k) {
		return Result{}, fmt.Errorf("sysctld: resolve: %q is not a key", key)
	}
	r := &resolver{fsys: fsys, opts: o, look: lookupFor(fsys), parsed: map[string][]Assignment{}}
	r.res.Key, r.res.Mode = k, o.Mode
	files, err := r.collect()
	if err != nil {
		return Result{}, err
	}
	r.plan(files, k)
	return r.res, nil
}

type resolver struct {
	fsys   fs.FS
	look   lookupFS
	opts   Options
	res    Result
	parsed map[string][]Assignment // by real path: /etc/sysctl.conf can be read twice
}

// confFile is one file boot reads, in order.
type confFile struct {
	path string // as boot opens it, absolute
	real string // fs path of the content
	data []byte
}

func lookupFor(fsys fs.FS) lookupFS {
	if m, ok := fsys.(*MemFS); ok {
		return devNull{m}
	}
	return devNull{anyFS{fsys}}
}

// devNull makes /dev/null exist as a character device even when the tree
// does not hold /dev (a listing of sysctl dirs never does). systemd
// recognises a mask by the path "/dev/null" for the same reason.
type devNull struct{ lookupFS }

func (d devNull) lstat(name string) (fs.FileMode, error) {
	m, err := d.lookupFS.lstat(name)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		switch name {
		case "dev":
			return fs.ModeDir | 0o755, nil
		case "dev/null":
			return fs.ModeDevice | fs.ModeCharDevice | 0o666, nil
		}
	}
	return m, err
}

// accepts reports whether a directory entry is a config file. systemd
// skips hidden files (FOREACH_DIRENT) and wants the ".conf" suffix; procps
// only wants a name of at least 5 bytes ending in ".conf", so it also reads
// ".conf" and ".hidden.conf".
func (r *resolver) accepts(name string) bool {
	if r.opts.Mode == ModeSystemd && strings.HasPrefix(name, ".") {
		return false
	}
	return strings.HasSuffix(name, ".conf")
}

// collect lists the files boot reads, in order, recording masked entries.
func (r *resolver) collect() ([]confFile, error) {
	seenDir := map[string]bool{}
	claimed := map[string]string{} // basename -> entry that claimed it
	var files []confFile
	for _, dir := range configDirs {
		phys, err := realPath(r.look, dir[1:], true)
		if err == nil {
			var m fs.FileMode
			if m, err = r.look.lstat(phys); err == nil && !m.IsDir() {
				continue
			}
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrLinkLoop) {
				continue
			}
			return nil, fmt.Errorf("sysctld: %s: %w", dir, err)
		}
		// A directory reached twice (merged /usr: /lib -> usr/lib) is read
		// once; its names would all be shadowed anyway.
		if seenDir[phys] {
			continue
		}
		seenDir[phys] = true
		ents, err := fs.ReadDir(r.fsys, phys)
		if err != nil {
			return nil, fmt.Errorf("sysctld: read %s: %w", dir, err)
		}
		for _, de := range ents {
			name := de.Name()
			if !r.accepts(name) {
				continue
			}
			entry := dir + "/" + name
			if by, ok := claimed[name]; ok {
				r.res.Masked = append(r.res.Masked, Masked{Path: entry, By: by, Reason: MaskShadowed})
				continue
			}
			claimed[name] = entry
			f, m, err := r.open(entry, path.Join(phys, name))
			if err != nil {
				return nil, err
			}
			if m != nil {
				r.res.Masked = append(r.res.Masked, *m)
				continue
			}
			files = append(files, f)
		}
	}
	// Both tools sort the surviving files by basename, bytewise (strcmp).
	slices.SortStableFunc(files, func(a, b confFile) int {
		return strings.Compare(path.Base(a.path), path.Base(b.path))
	})
	if r.opts.Mode == ModeProcps {
		// procps-ng PreloadSystem, after the sorted sysctl.d files:
		//   if (stat(DEFAULT_PRELOAD, &ts) == 0 && S_ISREG(ts.st_mode))
		//           rc |= Preload(setlist, DEFAULT_PRELOAD);
		// There is no check whether a sysctl.d entry already led there, so
		// with Debian's 99-sysctl.conf -> ../sysctl.conf the file is read
		// twice, and its second reading comes last ("* Applying
		// /etc/sysctl.conf ..." closes every "sysctl --system" run there).
		// stat follows symlinks; a missing, dangling, /dev/null or other
		// non-regular sysctl.conf is skipped without a word.
		f, m, err := r.open(SysctlConf, SysctlConf[1:])
		if err != nil {
			return nil, err
		}
		if m == nil {
			files = append(files, f)
		}
	}
	return files, nil
}

// open classifies one entry (name: its fs path with a physical parent) and
// reads it. It returns a Masked for an entry that contributes nothing.
func (r *resolver) open(entry, name string) (confFile, *Masked, error) {
	mask := func(why MaskReason) (confFile, *Masked, error) {
		m := &Masked{Path: entry, Reason: why}
		if t, err := r.look.readLink(name); err == nil {
			m.Target = t
		}
		return confFile{}, m, nil
	}
	resolvedPath, err := realPath(r.look, name, true)
	switch {
	case errors.Is(err, ErrLinkLoop):
		return mask(MaskLinkLoop)
	case errors.Is(err, fs.ErrNotExist):
		return mask(MaskDangling)
	case err != nil:
		return confFile{}, nil, fmt.Errorf("sysctld: %s: %w", entry, err)
	case resolvedPath == "dev/null":
		return mask(MaskDevNull)
	}
	mode, err := r.look.lstat(resolvedPath)
	if err != nil {
		return confFile{}, nil, fmt.Errorf("sysctld: %s: %w", entry, err)
	}
	if !mode.IsRegular() {
		// A directory or device named *.conf: both tools open it and read
		// nothing useful (EISDIR, or no data).
		return mask(MaskNotRegular)
	}
	data, err := fs.ReadFile(r.fsys, resolvedPath)
	if err != nil {
		return confFile{}, nil, fmt.Errorf("sysctld: read %s: %w", entry, err)
	}
	if len(data) == 0 {
		return mask(MaskEmpty)
	}
	return confFile{path: entry, real: resolvedPath, data: data}, nil, nil
}

// assignments parses a file once per real path and labels its lines with
// the entry boot opened.
func (r *resolver) assignments(f confFile) []Assignment {
	as, ok := r.parsed[f.real]
	if !ok {
		var errs []error
		as, errs = Parse("/"+f.real, f.data)
		r.parsed[f.real] = as
		r.res.Errors = append(r.res.Errors, errs...)
	}
	out := slices.Clone(as)
	if f.path != "/"+f.real {
		for i := range out {
			out[i].Via = f.path
		}
	}
	return out
}

// plan decides every touching assignment's outcome, then plays the writes.
func (r *resolver) plan(files []confFile, k string) {
	var steps []Step
	for _, f := range files {
		for _, a := range r.assignments(f) {
			if matchKey(a.Key, k) {
				steps = append(steps, Step{Assignment: a})
			}
		}
	}
	decided := make([]bool, len(steps))
	decide := func(i int, o Outcome, reason string) {
		steps[i].Outcome, steps[i].Reason, decided[i] = o, reason, true
	}
	// explicit: does the key have its own line (assignment or exclusion)?
	// Both tools then never apply a pattern to it, whatever the order.
	explicit := false
	if r.opts.Mode == ModeSystemd {
		// systemd-sysctl parse_line keeps an ordered hashmap keyed by the
		// normalized key or pattern: a line with the same value as the
		// pending entry only merges into it; a different value (or an
		// exclusion) removes the pending entry and appends itself. After
		// all files are parsed, apply_all writes the survivors in map
		// order, which is their line order.
		pending := map[string]int{}
		for i, s := range steps {
			if j, ok := pending[s.Key]; ok {
				p := steps[j]
				if s.Exclude == p.Exclude && s.Value == p.Value {
					decide(i, Merged, fmt.Sprintf("same as %s:%d, which stays in place", p.File, p.Line))
					continue
				}
				decide(j, Replaced, fmt.Sprintf("replaced by %s:%d before boot writes anything", s.File, s.Line))
			}
			pending[s.Key] = i
		}
		_, explicit = pending[k]
	} else {
		// procps-ng keeps every line in a list and writes them in order;
		// a pattern skips any key that some line of the list names
		// exactly, as an assignment or an exclusion (write_setting_list
		// -> settinglist_findpath, a strcmp on /proc/sys paths). An
		// exclusion pattern names no key: in procps 4.0.2 (Debian 12,
		// checked against the binary) it has no effect. Later upstream
		// code also fnmatch()es exclusion patterns, "*" crossing "/";
		// that is not modelled.
		for _, s := range steps {
			if !s.Pattern {
				explicit = true
				break
			}
		}
	}
	var cur string
	set := false
	src := -1
	for i := range steps {
		s := &steps[i]
		switch {
		case decided[i]:
		case s.Exclude:
			why := "exclusion: keeps patterns away from the key"
			if s.Pattern {
				why = "a pattern exclusion names no key (systemd: it only cancels earlier lines of the same pattern)"
			}
			decide(i, Excluded, why)
		case s.Pattern && explicit:
			decide(i, Skipped, "pattern not applied: the key has its own assignment or exclusion")
		default:
			v, err := s.Value, error(nil)
			if r.opts.Check != nil {
				v, err = r.opts.Check(v)
			}
			switch {
			case err != nil:
				decide(i, Failed, err.Error())
			case set && r.opts.LockValue != "" && cur == r.opts.LockValue && v != r.opts.LockValue:
				decide(i, Failed, fmt.Sprintf("locked: once the key is %s the kernel refuses other values (EINVAL)", r.opts.LockValue))
			default:
				cur, set, src = v, true, i
				decided[i] = true
			}
		}
		s.Effective = cur
	}
	res := &r.res
	res.Applied = steps
	res.Value, res.Set = cur, set
	if src >= 0 {
		res.Source = steps[src].Assignment
	}
	for i, s := range steps {
		switch {
		case s.Outcome == Failed:
			res.Failed = append(res.Failed, s)
		case i != src && (s.Outcome == Written || s.Outcome == Replaced || s.Outcome == Skipped):
			res.Overridden = append(res.Overridden, s.Assignment)
		}
	}
}
