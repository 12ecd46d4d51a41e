package yama

import (
	"errors"
	"testing"
)

func TestValidateFile(t *testing.T) {
	good := []string{
		DefaultFile,
		"/etc/sysctl.d/99-zz-yama.conf",
		"/run/sysctl.d/10-ptrace.conf",
		"/usr/local/lib/sysctl.d/a_b+c@d.conf",
		"/usr/lib/sysctl.d/10-default-yama-scope.conf",
	}
	for _, p := range good {
		if err := ValidateFile(p); err != nil {
			t.Errorf("ValidateFile(%q) = %v, want nil", p, err)
		}
	}
	bad := map[string]string{
		"relative":            "etc/sysctl.d/10-ptrace.conf",
		"dot-dot":             "/etc/sysctl.d/../shadow.conf",
		"not clean":           "/etc/sysctl.d//10-ptrace.conf",
		"outside sysctl.d":    "/etc/10-ptrace.conf",
		"nested":              "/etc/sysctl.d/sub/10-ptrace.conf",
		"not .conf":           "/etc/sysctl.d/10-ptrace",
		"only .conf":          "/etc/sysctl.d/.conf",
		"hidden":              "/etc/sysctl.d/.10-ptrace.conf",
		"leading dash":        "/etc/sysctl.d/-x.conf",
		"space":               "/etc/sysctl.d/10 ptrace.conf",
		"newline":             "/etc/sysctl.d/10\nptrace.conf",
		"shell metacharacter": "/etc/sysctl.d/$(touch /tmp/pwned).conf",
		"semicolon":           "/etc/sysctl.d/a;b.conf",
		"glob":                "/etc/sysctl.d/*.conf",
		"quote":               "/etc/sysctl.d/a'b.conf",
		"non-ascii":           "/etc/sysctl.d/é.conf",
		"empty":               "",
	}
	for name, p := range bad {
		if err := ValidateFile(p); !errors.Is(err, ErrBadFile) {
			t.Errorf("%s: ValidateFile(%q) = %v, want ErrBadFile", name, p, err)
		}
	}
}
