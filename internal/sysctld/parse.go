package sysctld

import (
	"bytes"
	"fmt"
	"strings"
)

// Assignment is one "key = value" line (or "-key" exclusion) of a sysctl.d file.
type Assignment struct {
	File string // file the line is in, as passed to Parse (Resolve: the real file, symlinks resolved)
	Via  string // Resolve only: the sysctl.d entry boot opened to reach File, if it differs (a symlink)
	Line int    // 1-based line number
	Key  string // NormalizeKey form, e.g. "kernel.yama.ptrace_scope" or "kernel.yama.*"
	// Pattern is true when Key holds glob characters ("*?[") and so may
	// name several keys.
	Pattern bool
	Value   string // trimmed; may hold inner blanks; "" for an exclusion
	// IgnoreFailure records a leading "-" on an assignment: boot does not
	// treat a failed write (EPERM/EACCES for systemd) as an error.
	IgnoreFailure bool
	// Exclude marks a "-key" line without "=" (systemd >= 246, procps 4):
	// it writes nothing but keeps glob assignments away from key.
	Exclude bool
}

// Matches reports whether a names key, directly or through its pattern.
// key may be in dotted or slash form. Exclusions match too: check Exclude.
func (a Assignment) Matches(key string) bool {
	return matchKey(a.Key, NormalizeKey(key))
}

// LineError is a line Parse could not use; parsing carries on after it.
type LineError struct {
	File   string
	Line   int
	Text   string // the line, blanks trimmed
	Reason string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", e.File, e.Line, e.Reason, e.Text)
}

// blanks are trimmed around lines, keys and values. systemd trims
// " \t\n\r", procps isspace(); the union only adds \v and \f.
const blanks = " \t\n\r\v\f"

// Parse reads sysctl.d syntax as systemd-sysctl does: blank lines and lines
// starting with "#" or ";" are skipped; "key = value" splits at the first
// "=" with blanks trimmed around key and value (a value keeps inner blanks
// and any later "=" or "#": there are no trailing comments); a leading "-"
// sets IgnoreFailure; "-key" alone is an exclusion. Lines without "=" and
// empty keys are returned as *LineError. Parse never fails as a whole.
//
// An empty value ("key =") is kept, as both tools keep it: procps 4.0.2
// writes it as "\n", and so do systemd 252 and 257 (the kernel refuses it,
// and systemd-sysctl exits 1; VM suite group 6). A Check that
// refuses "" (as the kernel refuses a blank write to an integer sysctl)
// gives the right boot value for both: the value stays as it was.
func Parse(name string, data []byte) ([]Assignment, []error) {
	var as []Assignment
	var errs []error
	for n := 1; len(data) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		text := strings.Trim(string(line), blanks)
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		bad := func(reason string) { errs = append(errs, &LineError{name, n, text, reason}) }
		a := Assignment{File: name, Line: n}
		var rawKey string
		if eq := strings.IndexByte(text, '='); eq >= 0 {
			rawKey = text[:eq]
			a.Value = strings.Trim(text[eq+1:], blanks)
			if strings.HasPrefix(rawKey, "-") {
				a.IgnoreFailure = true
				rawKey = rawKey[1:]
			}
		} else if strings.HasPrefix(text, "-") {
			a.Exclude = true
			rawKey = text[1:]
		} else {
			bad("not an assignment (no \"=\")")
			continue
		}
		a.Key = NormalizeKey(strings.Trim(rawKey, blanks))
		if a.Key == "" {
			bad("empty key")
			continue
		}
		a.Pattern = isGlob(a.Key)
		as = append(as, a)
	}
	return as, errs
}
