package yama

import (
	"strings"
	"time"

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

// RecordDir holds the provider's own files on a host (root's alone, 0700,
// outside every sysctl.d directory): "lock", which serialises applies, and
// under "orig" the record of each managed drop-in's original (RecordPath).
// The scripts hold it as SD (TestScriptPaths).
const RecordDir = "/var/lib/terraform-provider-yama"

// RecordPath is where the original of the drop-in file is recorded: the
// drop-in's own path under RecordDir/orig, so any legal name fits.
func RecordPath(file string) string { return RecordDir + "/orig" + file }

// LockPath is the host's lock file.
const LockPath = RecordDir + "/lock"

// LockWait bounds how long an apply waits for another one on the same host
// (the host's lock) before it fails with ErrBusy.
var LockWait = 60 * time.Second

// MaxFileSize bounds every file the read script returns. sysctl.d files are
// a few hundred bytes; anything larger is refused rather than shipped.
const MaxFileSize = 64 << 10

// Volatile reports whether a drop-in lives under /run, which is a tmpfs
// that every boot starts empty: what is written there lasts until reboot.
func Volatile(path string) bool { return strings.HasPrefix(path, "/run/") }
