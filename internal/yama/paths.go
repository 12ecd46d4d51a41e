package yama

import "strings"

// Paths the scripts read. They are constants in the scripts themselves;
// these copies exist for Go-side lookups and messages.
const (
	ProcPath       = "/proc/sys/kernel/yama/ptrace_scope"
	SystemdRunDir  = "/run/systemd/system"
	SysctlConfPath = "/etc/sysctl.conf"
	DefaultFile    = "/etc/sysctl.d/10-ptrace.conf"
	Key            = "kernel.yama.ptrace_scope"
)

// ConfigDirs are the directories systemd-sysctl and procps read drop-ins
// from, in precedence order.
var ConfigDirs = []string{
	"/etc/sysctl.d",
	"/run/sysctl.d",
	"/usr/local/lib/sysctl.d",
	"/usr/lib/sysctl.d",
	"/lib/sysctl.d",
}

// MaxFileSize bounds every file the read script returns. sysctl.d files are
// a few hundred bytes; anything larger is refused rather than shipped.
const MaxFileSize = 64 << 10

// Volatile reports whether a drop-in lives under /run, which is a tmpfs
// that every boot starts empty: what is written there lasts until reboot.
func Volatile(path string) bool { return strings.HasPrefix(path, "/run/") }
