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
#	X   the record of the original: "record" (keep what the host holds
#	    before the first change of this apply, unless a record exists),
#	    "forget" (remove the record once every step succeeded), or -
#	W   how many seconds to wait for the lock of the host
#	then, per file operation, four lines:
#	P   path (validated by the caller)
#	A   write or remove
#	M   mode and owner of a written file ("0640 0:4"), or - for 0644 0:0
#	C   the new content, base64-encoded on one line (- for empty)
#
# Applies on one host are serialised by a lock ($SD/lock: flock(1), or a
# lock directory where flock is missing), held until the script exits.
# Each step announces itself on stderr ("yama-step NAME PATH") so that a
# failure can be attributed, and each change that happened says so
# ("yama-done NAME PATH"), so the caller knows exactly what ran; the
# snapshot runs even after a failed step so the caller always learns what
# the host really holds. Contents use base64 so that several files fit one
# stream; applies are rare, so the extra process per file costs nothing
# that matters. apply.go classifies a failure from the yama-step and
# yama-error lines.

. ./lib.sh
IFS= read -r V || exit 90
IFS= read -r X || exit 90
IFS= read -r W || exit 90
case $W in "" | *[!0-9]*) exit 90 ;; esac
# T is the name of every temporary file this script makes: fixed and short,
# so that any legal drop-in name (up to NAME_MAX) works, and recognisable,
# so that the next apply can remove what a killed one left behind.
T=.terraform-provider-yama.XXXXXX

# readval sets cur to the first line of a file with the shell builtin (no
# process); a last line without newline still counts.
readval() { cur=; IFS= read -r cur <"$1" || [ -n "$cur" ]; }
# tick waits a fifth of a second (a whole one where sleep takes whole
# seconds only, as POSIX requires) and counts fifths in i; it fails once
# W seconds have passed. flock -n polls: busybox flock has no -w.
tick() {
	if [ "$i" -ge $((W * 5)) ]; then echo "yama-error busy" >&2; return 9; fi
	if sleep 0.2 2>/dev/null; then i=$((i + 1)); else sleep 1; i=$((i + 5)); fi
}
# shellcheck disable=SC2317 # unlock runs from the EXIT trap
unlock() { rm -rf -- "$R$SD/lock.d"; }
# lock waits up to W seconds for the lock of the host and holds it until
# the script exits (fd 9, or the lock directory with its pid where flock
# is missing). A host where $SD cannot be made (a read-only /var/lib) can
# still be cleaned up (forget, remove) without the lock, but is never
# changed without a record.
locked=
lock() {
	echo "yama-step lock $SD/lock" >&2
	if ! (umask 077 && mkdir -p -- "$R$SD" && chmod 0700 -- "$R$SD" && : >>"$R$SD/lock"); then
		[ "$X" = record ] || return 0
		echo "yama-error record" >&2
		return 8
	fi
	i=0
	if command -v flock >/dev/null 2>&1; then
		exec 9>>"$R$SD/lock"
		until flock -n 9; do tick || return 9; done
	else
		until mkdir -- "$R$SD/lock.d" 2>/dev/null; do
			# A holder killed with -9 leaves its directory: take it over.
			h=
			IFS= read -r h <"$R$SD/lock.d/pid" 2>/dev/null
			if [ -n "$h" ] && ! kill -0 "$h" 2>/dev/null; then rm -rf -- "$R$SD/lock.d"; continue; fi
			tick || return 9
		done
		trap unlock EXIT
		echo "$$" >"$R$SD/lock.d/pid"
	fi
	locked=1
}
# sweep removes, from directory $1, the temporary files a killed apply left:
# those of this script ($T), and .NAME.XXXXXX of older versions for the
# file name $2. Only under the lock, so no running apply loses its file.
sweep() {
	[ -n "$locked" ] || return 0
	for x in "$1"/.terraform-provider-yama.?????? "$1/.$2".??????; do
		if [ -f "$x" ] && [ ! -L "$x" ]; then rm -f -- "$x"; fi
	done
}
# precheck refuses, before anything is written, a live value the kernel
# would refuse (no Yama at all, or a value locked at 3), and a managed
# drop-in that cannot be recorded because it is not a plain file.
precheck() {
	if [ "$X" = record ]; then
		unsafe
		if [ -n "$u" ]; then
			echo "yama-step file $F" >&2
			echo "yama-error not-regular" >&2; return 3
		fi
	fi
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
# original prints the record: a header (format version, the live value,
# the kind and ls -ln line of the drop-in), a blank line, then the bytes
# of the drop-in. precheck made sure the drop-in is missing or a plain file.
original() {
	echo "terraform-provider-yama original 1"
	y=$R/proc/sys/kernel/yama/ptrace_scope
	if [ -e "$y" ] && readval "$y"; then printf "live %s\n" "$cur"; else echo "live -"; fi
	if [ -f "$R$F" ]; then
		meta "$R$F"
		printf "file reg\nmeta %s\n\n" "$m"
		cat -- "$R$F"
	else
		printf "file missing\n\n"
	fi
}
# record keeps what the host holds before the first change of this apply
# (the live value, and the content, mode and owner of the managed drop-in,
# or its absence) in $SD/orig$F, unless a record is there already: that
# one holds what the host had before the provider first touched it. It is
# written, synced, then linked into place: link(2) never replaces a record.
# $1 is the step of the caller, announced again once the record is made.
recorded=
record() {
	if [ "$X" != record ] || [ -n "$recorded" ]; then return 0; fi
	recorded=1
	rk=$R$SD/orig$F
	if [ -e "$rk" ] || [ -L "$rk" ]; then return 0; fi
	echo "yama-step record $SD/orig$F" >&2
	rd=${rk%/*}
	if (umask 077 && mkdir -p -- "$rd") && sweep "$rd" "${F##*/}" && rt=$(mktemp -- "$rd/$T"); then
		if original >"$rt" && { sync -- "$rt" 2>/dev/null || sync; } && ln -- "$rt" "$rk"; then
			rm -f -- "$rt"
			sync -- "$rd" 2>/dev/null || sync
			echo "yama-done record $SD/orig$F" >&2
			echo "yama-step $1" >&2
			return 0
		fi
		rm -f -- "$rt"
	fi
	echo "yama-error record" >&2
	return 8
}
# forget removes the record, once the resource is gone.
forget() {
	rk=$R$SD/orig$F
	if [ ! -e "$rk" ] && [ ! -L "$rk" ]; then return 0; fi
	echo "yama-step forget $SD/orig$F" >&2
	rm -f -- "$rk" || return 4
	sync -- "${rk%/*}" 2>/dev/null || sync
	echo "yama-done forget $SD/orig$F" >&2
}
content() { if [ "$C" = - ]; then : ; else printf %s "$C" | base64 -d; fi; }
# owner gives file $1 the owner uid:gid in ow; in a test root (R set) a
# user without the right to chown leaves it as it is.
owner() {
	if [ -n "$R" ]; then chown -- "$ow" "$1" 2>/dev/null || :; else chown -- "$ow" "$1"; fi
}
write_file() {
	echo "yama-step file $P" >&2
	f=$R$P; d=${f%/*}
	md=0644; ow=0:0
	if [ "$M" != - ]; then md=${M%% *}; ow=${M#* }; fi
	n=1
	if [ -e "$f" ] && [ ! -L "$f" ]; then meta "$f"; fi
	if [ -L "$f" ] || { [ -e "$f" ] && { [ ! -f "$f" ] || [ "$n" != 1 ]; }; }; then
		echo "yama-error not-regular" >&2; return 3
	fi
	sweep "$d" "${P##*/}"
	# Only what differs is written: an identical file is left untouched
	# (a restore, M given, still puts back its mode and owner).
	if [ -f "$f" ] && content | cmp -s - "$f"; then
		[ "$M" = - ] && return 0
		if chmod -- "$md" "$f" && owner "$f"; then return 0; fi
		return 4
	fi
	record "file $P" || return $?
	# -m applies to the sysctl.d directory itself, the only level that is
	# ever missing on a real host (its parents /etc, /run, /usr/lib and
	# /usr/local/lib exist); parents made in a test root get the umask.
	# shellcheck disable=SC2174
	[ -d "$d" ] || mkdir -p -m 0755 -- "$d" || return 4
	tmp=$(mktemp -- "$d/$T") || return 4
	if content >"$tmp" &&
		chmod -- "$md" "$tmp" && owner "$tmp" &&
		{ sync -- "$tmp" 2>/dev/null || sync; } && mv -f -- "$tmp" "$f"; then
		sync -- "$d" 2>/dev/null || sync
		echo "yama-done file $P" >&2
		return 0
	fi
	rm -f -- "$tmp"
	return 4
}
remove_file() {
	echo "yama-step remove $P" >&2
	f=$R$P
	if [ -d "$f" ] && [ ! -L "$f" ]; then echo "yama-error not-regular" >&2; return 3; fi
	sweep "${f%/*}" "${P##*/}"
	[ -e "$f" ] || [ -L "$f" ] || return 0
	record "remove $P" || return $?
	rm -f -- "$f" || return 4
	sync -- "${f%/*}" 2>/dev/null || sync
	echo "yama-done remove $P" >&2
}
set_runtime() {
	echo "yama-step runtime /proc/sys/kernel/yama/ptrace_scope" >&2
	y=$R/proc/sys/kernel/yama/ptrace_scope
	[ -e "$y" ] || { echo "yama-error absent" >&2; return 5; }
	readval "$y" && [ "$cur" = "$V" ] && return 0
	record "runtime /proc/sys/kernel/yama/ptrace_scope" || return $?
	printf "%s\n" "$V" | tee -- "$y" >/dev/null || return 6
	echo "yama-done runtime /proc/sys/kernel/yama/ptrace_scope" >&2
}
rc=0
lock || rc=$?
if [ "$rc" = 0 ]; then
	sweep "$R${F%/*}" "${F##*/}"
	precheck || rc=$?
fi
while [ "$rc" = 0 ] && IFS= read -r P && IFS= read -r A && IFS= read -r M && IFS= read -r C; do
	case $A in
	write) write_file || rc=$? ;;
	remove) remove_file || rc=$? ;;
	*) echo "yama-error bad-action" >&2; rc=2 ;;
	esac
done
if [ "$rc" = 0 ] && [ "$V" != - ]; then set_runtime || rc=$?; fi
if [ "$rc" = 0 ] && [ "$X" = forget ]; then forget || rc=$?; fi
snapshot
exit "$rc"
