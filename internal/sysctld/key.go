package sysctld

import (
	"path"
	"strings"
)

// NormalizeKey returns key in the dotted form used by Assignment.Key and
// Result.Key ("kernel/yama/ptrace_scope" -> "kernel.yama.ptrace_scope").
//
// It follows systemd's sysctl_normalize and procps' slashdot: when the first
// separator is "/", the key is a /proc/sys path and dots inside it are part of
// a name, so "net/ipv4/conf/eth0.1/rp_filter" is
// "net.ipv4.conf.eth0/1.rp_filter" in dotted form. Repeated, leading and
// trailing separators and "." path components are dropped, as systemd's
// path_simplify does. The result is "" if nothing is left.
//
// NormalizeKey is idempotent except for keys whose first name contains a
// dot (no sysctl's does): the dotted form cannot tell "a.b/c" (path a.b/c)
// from "a/b.c" (path a/b.c) then, and reads it the second way.
func NormalizeKey(key string) string {
	return swapSeparators(procPath(key))
}

// procPath returns key as a path below /proc/sys without the prefix
// ("kernel/yama/ptrace_scope"), the form systemd uses internally and the one
// glob patterns are matched in (a "*" must not cross a "/").
func procPath(key string) string {
	if i := strings.IndexAny(key, "./"); i >= 0 && key[i] == '.' {
		key = swapSeparators(key)
	}
	parts := strings.Split(key, "/")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && p != "." {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "/")
}

// swapSeparators exchanges "." and "/"; it converts between the dotted form
// and the /proc/sys path form in both directions.
func swapSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, s)
}

// isGlob reports whether a key is a pattern, by systemd's string_is_glob.
func isGlob(key string) bool { return strings.ContainsAny(key, "*?[") }

// matchKey reports whether the dotted key or pattern a names the dotted key
// k. Patterns are matched as /proc/sys paths, like glob(3) over /proc/sys.
func matchKey(a, k string) bool {
	if !isGlob(a) {
		return a == k
	}
	ok, err := path.Match(swapSeparators(a), swapSeparators(k))
	if err != nil {
		// glob(3) treats an unclosed "[" literally; path.Match refuses it.
		return a == k
	}
	return ok
}
