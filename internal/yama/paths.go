package yama

import (
	"strings"

	"github.com/terraform-yama/terraform-provider-yama/internal/sysctld"
)

// Paths the scripts read. They are constants in the scripts themselves
// (scripts/*.sh); these copies exist for Go-side lookups and messages, and
// TestScriptPaths checks that the scripts use them.
const (
	ProcPath       = "/proc/sys/kernel/yama/ptrace_scope"
	SystemdRunDir  = "/run/systemd/system"
	SysctlConfPath = "/etc/sysctl.conf"
	DefaultFile    = "/etc/sysctl.d/10-ptrace.conf"
	Key            = "kernel.yama.ptrace_scope"
)

// ConfigDirs are the directories systemd-sysctl and procps read drop-ins
// from, in precedence order: a copy of sysctld.ConfigDirs(), the one list
// (the read script's loop is checked against it by TestScriptConfigDirs).
var ConfigDirs = sysctld.ConfigDirs()

// MaxFileSize bounds every file the read script returns. sysctl.d files are
// a few hundred bytes; anything larger is refused rather than shipped.
const MaxFileSize = 64 << 10

// Volatile reports whether a drop-in lives under /run, which is a tmpfs
// that every boot starts empty: what is written there lasts until reboot.
func Volatile(path string) bool { return strings.HasPrefix(path, "/run/") }
