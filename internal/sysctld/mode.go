package sysctld

import (
	"fmt"
	"slices"
)

// Mode selects whose boot-time rules Resolve follows.
type Mode uint8

const (
	// ModeSystemd follows systemd-sysctl.service: sysctl.d files only
	// (/etc/sysctl.conf only through a symlink such as Debian's
	// /etc/sysctl.d/99-sysctl.conf), one write per key.
	ModeSystemd Mode = iota
	// ModeProcps follows procps-ng "sysctl --system": sysctl.d files, then
	// /etc/sysctl.conf again, every assignment written in order.
	ModeProcps
)

func (m Mode) String() string {
	switch m {
	case ModeSystemd:
		return "systemd"
	case ModeProcps:
		return "procps"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode maps "systemd" and "procps" (Mode.String) back to a Mode.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "systemd":
		return ModeSystemd, nil
	case "procps":
		return ModeProcps, nil
	}
	return 0, fmt.Errorf("sysctld: unknown mode %q (want systemd or procps)", s)
}

// DetectMode returns ModeSystemd for hosts that boot with systemd (which runs
// systemd-sysctl.service) and ModeProcps otherwise. How to detect systemd
// (e.g. /run/systemd/system exists) is the caller's business.
func DetectMode(hasSystemd bool) Mode {
	if hasSystemd {
		return ModeSystemd
	}
	return ModeProcps
}

// SysctlConf is the legacy configuration file.
const SysctlConf = "/etc/sysctl.conf"

// configDirs is the search order of both tools (procps-ng copies systemd's
// list; both let the first directory holding a basename win). systemd only
// lists /lib/sysctl.d when built for split /usr, and dropped it in later
// releases; on merged-/usr hosts /lib/sysctl.d is /usr/lib/sysctl.d, which
// Resolve notices and reads once. Reading /lib/sysctl.d whenever it is a
// distinct directory is right for procps and for split-/usr systemd builds.
// This is the one list: package yama uses ConfigDirs() for validation and
// messages, and its read script (internal/yama/scripts/lib.sh) lists the
// same directories in the same order, which a yama test checks.
var configDirs = []string{
	"/etc/sysctl.d",
	"/run/sysctl.d",
	"/usr/local/lib/sysctl.d",
	"/usr/lib/sysctl.d",
	"/lib/sysctl.d",
}

// ConfigDirs returns the directories Resolve scans, in precedence order. A
// caller that builds a MemFS lists these (and SysctlConf, and the
// directories /lib and /usr/lib themselves when they are symlinks).
func ConfigDirs() []string { return slices.Clone(configDirs) }
