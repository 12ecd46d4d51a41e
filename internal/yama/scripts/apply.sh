#!/bin/sh
# apply.sh: writes or removes drop-ins and sets the live value, each step
# only when asked and only when the host does not already hold it (so a
# caller may send the whole desired state), then reports the resulting state
# exactly as read.sh does. Embedded by scripts.go (package yama) as
# applyScript, with lib.sh spliced in where it is sourced below.
#
# Its stdin continues after the lines lib.sh reads (B, R, F) with:
#
#	V   live value to set, or - to leave it
#	then, per file operation, three lines:
#	P   path (validated by the caller)
#	A   write or remove
#	C   the new content, base64-encoded on one line (- for empty)
#
# Each step announces itself on stderr ("yama-step NAME PATH") so that a
# failure can be attributed; the snapshot runs even after a failed step so
# the caller always learns what the host really holds. Contents use base64
# so that several files fit one stream; applies are rare, so the extra
# process per file costs nothing that matters. apply.go classifies a
# failure from the yama-step and yama-error lines.

. ./lib.sh
IFS= read -r V || exit 90

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
	# -m applies to the sysctl.d directory itself, the only level that is
	# ever missing on a real host (its parents /etc, /run, /usr/lib and
	# /usr/local/lib exist); parents made in a test root get the umask.
	# shellcheck disable=SC2174
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
