package yama

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrBadFile is returned for a drop-in path this package refuses to touch.
var ErrBadFile = errors.New("invalid drop-in path")

// NameMax is the longest file name Linux file systems take (NAME_MAX).
// Any name up to it works: the temporary files next to a drop-in have a
// fixed short name (scripts/apply.sh, T), and the record of its original
// keeps the name under RecordDir.
const NameMax = 255

// ValidateFile accepts only paths systemd-sysctl and procps actually read:
// a *.conf file directly inside one of ConfigDirs, whose name uses a
// conservative character set. The scripts never interpret the path, but a
// strict allow-list keeps surprises (globs, newlines, leading dashes) out of
// every tool it is handed to.
func ValidateFile(p string) error {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: %q is not an absolute path", ErrBadFile, p)
	case strings.Contains(p, ".."):
		return fmt.Errorf("%w: %q contains \"..\"", ErrBadFile, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%w: %q is not in clean form (want %q)", ErrBadFile, p, path.Clean(p))
	case !isConfigDir(dir):
		return fmt.Errorf("%w: %q is not directly inside %s", ErrBadFile, p, strings.Join(ConfigDirs, ", "))
	case !strings.HasSuffix(base, ".conf") || len(base) == len(".conf"):
		return fmt.Errorf("%w: %q does not end in a name with .conf (only *.conf files are read at boot)", ErrBadFile, p)
	case base[0] == '.' || base[0] == '-':
		return fmt.Errorf("%w: %q: the file name must not start with %q", ErrBadFile, p, base[0])
	case len(base) > NameMax:
		return fmt.Errorf("%w: the file name is %d bytes long; a file name has at most %d (NAME_MAX)", ErrBadFile, len(base), NameMax)
	}
	for _, r := range base {
		if !isNameRune(r) {
			return fmt.Errorf("%w: %q contains %q; use only letters, digits, '.', '_', '-', '+' and '@'", ErrBadFile, p, r)
		}
	}
	return nil
}

func isConfigDir(d string) bool {
	for _, c := range ConfigDirs {
		if d == c {
			return true
		}
	}
	return false
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-' || r == '+' || r == '@'
}
