package testhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
)

var localeName = regexp.MustCompile(`^([a-z]{2,3}_[A-Z]{2})\.(UTF-8)$`)

// CanBuildLocale reports why Options.Locale = name cannot work here (nil
// if it can): it needs localedef and the locale's sources (Debian's
// libc-bin and locales data under /usr/share/i18n).
func CanBuildLocale(name string) error {
	m := localeName.FindStringSubmatch(name)
	if m == nil {
		return fmt.Errorf("testhost: locale %q: want a name like de_DE.UTF-8", name)
	}
	if _, err := exec.LookPath("localedef"); err != nil {
		return errors.New("testhost: localedef not found")
	}
	if _, err := os.Stat("/usr/share/i18n/locales/" + m[1]); err != nil {
		return fmt.Errorf("testhost: no locale source for %s: %w", m[1], err)
	}
	return nil
}

type localeBuild struct {
	once sync.Once
	dir  string
	err  error
}

// linkLocale compiles name once per Env (into the hosts dir, so hosts can
// hard-link it) and links it into dst/name.
func (e *Env) linkLocale(name, dst string) error {
	v, _ := e.locales.LoadOrStore(name, &localeBuild{})
	b, ok := v.(*localeBuild)
	if !ok {
		panic(fmt.Sprintf("testhost: e.locales holds a %T for %q, want *localeBuild", v, name))
	}
	b.once.Do(func() {
		if b.err = CanBuildLocale(name); b.err != nil {
			return
		}
		m := localeName.FindStringSubmatch(name)
		b.dir = filepath.Join(e.hostsDir, ".locale", name)
		if b.err = os.MkdirAll(filepath.Dir(b.dir), 0o755); b.err != nil {
			return
		}
		// localedef exits 1 after mere warnings: judge by what it wrote.
		out, err := exec.Command("localedef", "-i", m[1], "-f", m[2], b.dir).CombinedOutput()
		if _, serr := os.Stat(filepath.Join(b.dir, "LC_MESSAGES")); serr != nil {
			b.err = fmt.Errorf("testhost: localedef %s: %v\n%s", name, err, out)
		}
	})
	if b.err != nil {
		return b.err
	}
	return filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(b.dir, p)
		target := filepath.Join(dst, name, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if os.Link(p, target) == nil {
			return nil
		}
		data, err := os.ReadFile(p) // another file system: copy
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
