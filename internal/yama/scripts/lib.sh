# lib.sh: the part shared by read.sh and apply.sh. It is not run on its own:
# scripts.go (package yama) embeds these files and replaces the line that
# sources lib.sh in each entry script with the text of this file, and the
# placeholder below with MaxFileSize+1 (Go), once at init. The host runs
# the result as sh -c <script>, so no file here may contain a single quote
# (TestScriptsAreQuotable). scripts/lint.sh runs shellcheck on them, with
# the settings in .shellcheckrc.
#
# Protocol. Stdin starts with fixed lines that the script reads with
# `read -r` (which consumes exactly one line, byte by byte, from a pipe):
#
#	B     a random boundary, fresh for every call
#	R     a path prefix; always empty on real hosts (tests use a temp dir)
#	F     the managed drop-in path, validated by the caller
#
# (apply.sh reads more lines after these.) The output is a flat sequence of
# fields, each preceded by B. Because B is random and never sent anywhere but
# this stdin, no file content can contain it, so content travels raw with no
# encoding and no extra process. A record is six fields: tag, kind, path,
# link target, content, read state. The final field is "end"; its absence
# means the output was cut short. output.go parses it.
#
# Never leak a file: the managed drop-in is read only when it is a regular
# file with one link. A symbolic link, a hard link (a second name of any
# file, /etc/shadow for one), a directory, a FIFO or a device there is
# reported by kind and link count (the "meta" record: its ls -ln line), and
# nothing of what it points to is read, under its own name or any other:
# no sysctl file is read then (read state "withheld").

# LC_ALL=C keeps the messages of the tools in English (a host whose locale
# is e.g. German would otherwise say "nur lesbar" where the classifier looks
# for "Read-only file system") and byte semantics for the shell; gettext
# ignores LANGUAGE under the C locale.
LC_ALL=C; export LC_ALL
IFS= read -r B || exit 90
IFS= read -r R || exit 90
IFS= read -r F || exit 90

# L is one more than MaxFileSize so that an oversized file is detectable
# from its truncated content. Go substitutes the placeholder.
L=@MAX_READ_BYTES@
# SD holds the own files of the provider on the host (apply.sh): the lock, and
# under orig/ the record of the original of each managed drop-in (yama.RecordDir).
# It belongs to root alone (0700), outside every sysctl.d directory.
SD=/var/lib/terraform-provider-yama
field() { printf %s%s "$B" "$1"; }
# meta sets m to the ls -ln line of path $1 (type and mode, link count,
# owner, group: POSIX, where stat -c is GNU and busybox only) and n to its
# link count, without reading the file.
meta() {
	m=$(ls -lnd -- "$1" 2>/dev/null) || m=
	set -f
	# shellcheck disable=SC2086 # split the line into its fields
	set -- $m
	set +f
	n=${2:-0}
	case $n in *[!0-9]*) n=0 ;; esac
}
# unsafe sets u to "withhold" when the managed drop-in exists and is not a
# regular file with one link (and n, m to its meta), else to "".
unsafe() {
	p=$R$F; u=; n=0; m=
	if [ -e "$p" ] || [ -L "$p" ]; then
		meta "$p"
		if [ -L "$p" ] || [ ! -f "$p" ] || [ "$n" != 1 ]; then u=withhold; fi
	fi
}
# rec emits one record for a path. It costs one process (head) per readable
# file and one (readlink) per symlink. A third argument "withhold" reports
# the path without reading anything through it.
rec() {
	p=$R$2; t=
	if [ -L "$p" ]; then k="link"; t=$(readlink -- "$p")
	elif [ -d "$p" ]; then k="dir"
	elif [ -f "$p" ]; then k="reg"
	elif [ -e "$p" ]; then k="other"
	else k="missing"
	fi
	field "$1"; field "$k"; field "$2"; field "$t"; printf %s "$B"
	s=none
	if [ -f "$p" ] && [ -n "$3" ]; then
		s=withheld
	elif [ -f "$p" ]; then
		if [ -r "$p" ] && head -c "$L" -- "$p" 2>/dev/null; then s=ok; else s=unreadable; fi
	fi
	field "$s"
}
# entry reports a sysctl file. When the managed drop-in is unsafe, no file
# is read at all: any entry may be another name of what it points to, and
# the caller refuses such a state anyway.
entry() { rec entry "$1" "$u"; }
# snapshot reports the live value, the managed drop-in (and its meta), the
# record of its original (readable by root only), and every sysctl.d file.
# The directory list must equal sysctld.ConfigDirs() in Go, in order
# (TestScriptConfigDirs); /lib is recorded so that Go can tell a merged /usr
# (/lib -> usr/lib) from a split one.
snapshot() {
	rec runtime /proc/sys/kernel/yama/ptrace_scope
	rec systemd /run/systemd/system
	unsafe
	rec managed "$F" "$u"
	field meta; field "$k"; field "$F"; field ""; field "$m"; field ok
	if { [ -d "$R$SD" ] && [ ! -x "$R$SD" ]; } || { [ -d "$R$SD/orig" ] && [ ! -x "$R$SD/orig" ]; }; then
		field orig; field other; field "$SD/orig$F"; field ""; field ""; field unreadable
	else
		rec orig "$SD/orig$F"
	fi
	rec dir /lib
	for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
		rec dir "$d"
		[ -d "$R$d" ] || continue
		for p in "$R$d"/*.conf; do
			[ -e "$p" ] || [ -L "$p" ] || continue
			entry "${p#"$R"}"
		done
	done
	entry /etc/sysctl.conf
	field end
}
