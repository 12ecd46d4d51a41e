package yama

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// The scripts below are constants: they are the only commands this package
// ever runs. They contain no single quote, so a transport can wrap them as
// sh -c '<script>' without escaping anything.
//
// Their input (stdin) starts with fixed lines that the script reads with
// `read -r` (which consumes exactly one line, byte by byte, from a pipe):
//
//	B     a random boundary, fresh for every call
//	R     a path prefix; always empty on real hosts (tests use a temp dir)
//	F     the managed drop-in path, validated by the caller
//
// Their output is a flat sequence of fields, each preceded by B. Because B
// is random and never sent anywhere but this stdin, no file content can
// contain it, so content travels raw with no encoding and no extra process.
// A record is six fields: tag, kind, path, link target, content, read state.
// The final field is "end"; its absence means the output was cut short.

// recordFuncs defines rec, which emits one record for a path. It costs one
// process (head) per readable file and one (readlink) per symlink.
var recordFuncs = `
L=` + maxReadBytes + `
field() { printf %s%s "$B" "$1"; }
rec() {
	p=$R$2; t=
	if [ -L "$p" ]; then k=link; t=$(readlink -- "$p")
	elif [ -d "$p" ]; then k=dir
	elif [ -f "$p" ]; then k=reg
	elif [ -e "$p" ]; then k=other
	else k=missing
	fi
	field "$1"; field "$k"; field "$2"; field "$t"; printf %s "$B"
	s=none
	if [ -f "$p" ]; then
		if [ -r "$p" ] && head -c "$L" -- "$p" 2>/dev/null; then s=ok; else s=unreadable; fi
	fi
	field "$s"
}
snapshot() {
	rec runtime /proc/sys/kernel/yama/ptrace_scope
	rec systemd /run/systemd/system
	rec managed "$F"
	rec dir /lib
	for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
		rec dir "$d"
		[ -d "$R$d" ] || continue
		for p in "$R$d"/*.conf; do
			[ -e "$p" ] || [ -L "$p" ] || continue
			rec entry "${p#"$R"}"
		done
	done
	rec entry /etc/sysctl.conf
	field end
}
`

// maxReadBytes is one more than MaxFileSize so that an oversized file is
// detectable from its truncated content.
var maxReadBytes = strconv.Itoa(MaxFileSize + 1)

// readHeader starts both scripts. LC_ALL=C keeps the tools' messages in
// English (a host whose locale is e.g. German would otherwise say "nur
// lesbar" where the classifier looks for "Read-only file system") and byte
// semantics for the shell; gettext ignores LANGUAGE under the C locale.
const readHeader = `LC_ALL=C; export LC_ALL
IFS= read -r B || exit 90
IFS= read -r R || exit 90
IFS= read -r F || exit 90
`

// readScript reports the live value, the managed drop-in and every
// sysctl.d file. It needs no privilege.
var readScript = readHeader + recordFuncs + "snapshot\n"

// applyScript writes or removes drop-ins and sets the live value, each
// step only when asked and only when the host does not already hold it
// (so a caller may send the whole desired state), then reports the resulting state exactly as
// readScript does. Its stdin continues after F with:
//
//	V   live value to set, or - to leave it
//	then, per file operation, three lines:
//	P   path (validated by the caller)
//	A   write or remove
//	C   the new content, base64-encoded on one line (- for empty)
//
// Each step announces itself on stderr ("yama-step NAME PATH") so that a
// failure can be attributed; the snapshot runs even after a failed step so
// the caller always learns what the host really holds. Contents use base64
// so that several files fit one stream; applies are rare, so the extra
// process per file costs nothing that matters.
var applyScript = readHeader + `IFS= read -r V || exit 90
` + recordFuncs + `
# readval sets cur to the first line of a file with the shell builtin (no
# process); a last line without newline still counts.
readval() { cur=; IFS= read -r cur <"$1" || [ -n "$cur" ]; }
# precheck refuses, before anything is written, a live value the kernel
# would refuse: no Yama at all, or a value locked at 3.
precheck() {
	[ "$V" = - ] && return 0
	y=$R/proc/sys/kernel/yama/ptrace_scope
	if [ ! -e "$y" ]; then
		echo "yama-step runtime /proc/sys/kernel/yama/ptrace_scope" >&2
		echo "yama-error absent" >&2; return 5
	fi
	readval "$y" || return 6
	if [ "$cur" = 3 ] && [ "$V" != 3 ]; then
		echo "yama-step runtime /proc/sys/kernel/yama/ptrace_scope" >&2
		echo "yama-error locked" >&2; return 7
	fi
}
content() { if [ "$C" = - ]; then : ; else printf %s "$C" | base64 -d; fi; }
write_file() {
	echo "yama-step file $P" >&2
	f=$R$P; d=${f%/*}; b=${f##*/}
	if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then
		echo "yama-error not-regular" >&2; return 3
	fi
	# Only what differs is written: an identical file is left untouched.
	if [ -f "$f" ] && content | cmp -s - "$f"; then return 0; fi
	[ -d "$d" ] || mkdir -p -m 0755 -- "$d" || return 4
	tmp=$(mktemp -- "$d/.$b.XXXXXX") || return 4
	if content >"$tmp" &&
		chmod 0644 -- "$tmp" && { [ -n "$R" ] || chown 0:0 -- "$tmp"; } &&
		{ sync -- "$tmp" 2>/dev/null || sync; } && mv -f -- "$tmp" "$f"; then
		sync -- "$d" 2>/dev/null || sync
		return 0
	fi
	rm -f -- "$tmp"
	return 4
}
remove_file() {
	echo "yama-step remove $P" >&2
	f=$R$P
	if [ -d "$f" ] && [ ! -L "$f" ]; then echo "yama-error not-regular" >&2; return 3; fi
	[ -e "$f" ] || [ -L "$f" ] || return 0
	rm -f -- "$f" || return 4
	sync -- "${f%/*}" 2>/dev/null || sync
}
set_runtime() {
	echo "yama-step runtime /proc/sys/kernel/yama/ptrace_scope" >&2
	y=$R/proc/sys/kernel/yama/ptrace_scope
	[ -e "$y" ] || { echo "yama-error absent" >&2; return 5; }
	readval "$y" && [ "$cur" = "$V" ] && return 0
	printf "%s\n" "$V" | tee -- "$y" >/dev/null || return 6
}
rc=0
precheck || rc=$?
while [ "$rc" = 0 ] && IFS= read -r P && IFS= read -r A && IFS= read -r C; do
	case $A in
	write) write_file || rc=$? ;;
	remove) remove_file || rc=$? ;;
	*) echo "yama-error bad-action" >&2; rc=2 ;;
	esac
done
if [ "$rc" = 0 ] && [ "$V" != - ]; then set_runtime || rc=$?; fi
snapshot
exit "$rc"
`

// readInput builds the stdin of readScript.
func readInput(boundary, root, file string) []byte {
	return []byte(boundary + "\n" + root + "\n" + file + "\n")
}

// applyInput builds the stdin of applyScript.
func applyInput(boundary, root string, c Change) []byte {
	var b strings.Builder
	b.WriteString(boundary + "\n" + root + "\n" + c.File + "\n")
	if c.Runtime != nil {
		b.WriteString(c.Runtime.String() + "\n")
	} else {
		b.WriteString("-\n")
	}
	for _, op := range c.Files {
		action, content := "write", base64.StdEncoding.EncodeToString(op.Content)
		if op.Remove {
			action, content = "remove", ""
		}
		if content == "" {
			content = "-"
		}
		b.WriteString(op.Path + "\n" + action + "\n" + content + "\n")
	}
	return []byte(b.String())
}
