#!/usr/bin/env bash
# Builds a Debian guest for the real-kernel VM tests, once per suite.
#
#   test/vm/build-image.sh                        # as root: Debian 12 (bookworm)
#   YAMA_VM_SUITE=trixie test/vm/build-image.sh   # Debian 13 (trixie)
#
# It prints the image directory last. The result is cached in
# .cache/vm/<suite>/<hash>/, where <hash> covers this script's content, the
# suite and the package list: a rerun with the same recipe takes a fraction
# of a second, a changed recipe builds a new image (and removes the suite's
# old ones). The directory holds:
#
#   disk.img           raw ext4 root file system (2 GB, sparse)
#   vmlinuz, initrd    the guest's own kernel and an initrd cut down to
#                      virtio + ext4
#   id_ed25519[.pub]   client key accepted by root, yamasudo and yamauser
#   host_ed25519.pub   the guest's only host key (public part), for the
#                      known_hosts lines the harness writes per boot
#   info               kernel, systemd and procps versions, build timings
#
# Guest: key-only SSH for root (no root password), yamasudo (NOPASSWD sudo)
# and yamauser (no sudo), systemd-networkd with 10.0.2.15/24 via 10.0.2.2 for
# qemu user networking, root=/dev/vda mounted rw by the kernel. Nothing else
# is changed from a stock minbase system: the sysctl.d layout is Debian's
# (bookworm: /etc/sysctl.conf and the 99-sysctl.conf link to it; trixie:
# neither).
#
# Packages come from this machine's Debian mirror lines (apt sources, with
# the suite name replaced: a bookworm machine's mirrors serve trixie too),
# or from YAMA_VM_MIRROR (e.g. "http://deb.debian.org/debian") when set.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
self="$repo/test/vm/build-image.sh"
PACKAGES=linux-image-amd64,systemd-sysv,udev,openssh-server,procps,iproute2,kmod,sudo
SUITE=${YAMA_VM_SUITE:-bookworm}
SIZE=2G

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "build-image: $*" >&2; }

case "$SUITE" in
bookworm | trixie) ;;
*)
	log "YAMA_VM_SUITE=$SUITE: want bookworm (Debian 12) or trixie (Debian 13)"
	exit 2
	;;
esac

hash=$({ cat "$self"; echo "$SUITE $PACKAGES"; } | sha256sum | cut -c1-16)
base="$repo/.cache/vm"
suitedir="$base/$SUITE"
out="$suitedir/$hash"

if [ -f "$out/ok" ]; then
	log "cached image $out"
	echo "$out"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	log "must run as root (mmdebstrap, chroot, mkfs.ext4 -d with owners)"
	exit 1
fi

t0=$(now)
need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
t_tools=$(since "$t0")

# Mirror lines: every enabled Debian source of this machine for a release
# ("bookworm"), its -updates and its -security, in one-line format, with
# the release replaced by $SUITE ("trixie", "trixie-updates",
# "trixie-security"); backports and other suites are left out.
mirror_lines() {
	if [ -n "${YAMA_VM_MIRROR:-}" ]; then
		echo "deb $YAMA_VM_MIRROR $SUITE main"
		return
	fi
	{
		grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
			sed -E 's/\[[^]]*\]//' | awk '{ print $2, $3 }' || true
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'function flush() { if (deb && uris != "") { n = split(uris, u, " "); m = split(suites, s, " ");
					for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] }
					deb = 0; uris = ""; suites = "" }
				/^[[:space:]]*$/ { flush(); next }
				/^[[:space:]]*#/ { next }
				tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
				tolower($1) == "uris:" { $1 = ""; uris = $0 }
				tolower($1) == "suites:" { $1 = ""; suites = $0 }
				tolower($1) == "enabled:" && tolower($2) == "no" { deb = 0; uris = "" }
				END { flush() }' "$f"
		done
	} | awk -v s="$SUITE" '$2 ~ /^[a-z]+(-updates|-security)?$/ {
			suffix = $2; sub(/^[a-z]+/, "", suffix); print "deb " $1 " " s suffix " main" }' | awk '!seen[$0]++'
}
mapfile -t mirrors < <(mirror_lines)
if [ ${#mirrors[@]} -eq 0 ]; then
	mirrors=("deb http://deb.debian.org/debian $SUITE main")
fi
log "mirrors: ${mirrors[*]}"

# Downloaded packages are kept (outside the image) for the next recipe
# change, one cache per suite.
debs="$suitedir/debs"
mkdir -p "$suitedir" "$debs"
# The root tree (tens of thousands of small files) is built on tmpfs when
# /dev/shm is one with room to spare; the image is staged next to its
# final place so the last step is a rename.
scratch="$base"
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
	[ "$(df -P -k /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((2 * 1024 * 1024)) ]; then
	scratch=/dev/shm
fi
work=$(mktemp -d "$scratch/yama-vm-build.XXXXXX")
img=$(mktemp -d "$suitedir/stage.XXXXXX")
cleanup() { rm -rf "$work" "$img"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM
root="$work/root"

# The initrd only needs virtio and ext4: a module list instead of "most"
# makes it about ten times smaller, which matters when TCG unpacks it. The
# configuration is in place before the kernel package builds the initrd.
cat >"$work/setup-hook.sh" <<'EOF'
#!/bin/sh
set -e
mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
echo MODULES=list >"$1/etc/initramfs-tools/conf.d/yama-vm.conf"
cat >"$1/etc/initramfs-tools/hooks/yama-vm" <<'HOOK'
#!/bin/sh
# yama VM guest: root is an ext4 file system on virtio-blk.
case "$1" in prereqs) exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk ext4 crc32c_generic; do
	force_load "$m"
done
HOOK
chmod 0755 "$1/etc/initramfs-tools/hooks/yama-vm"
EOF
chmod 0755 "$work/setup-hook.sh"

t1=$(now)
log "mmdebstrap $SUITE ($PACKAGES)"
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--setup-hook="$work/setup-hook.sh \"\$1\"" \
	--skip=download/empty \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
	--setup-hook="sync-in $debs /var/cache/apt/archives/" \
	--customize-hook="sync-out /var/cache/apt/archives $debs" \
	"$SUITE" "$root" "${mirrors[@]}" >&2
t_debootstrap=$(since "$t1")
rm -f "$root"/var/cache/apt/archives/*.deb

t2=$(now)
# Keys: a client key for every login, and the guest's only host key.
ssh-keygen -q -t ed25519 -N '' -C yama-vm-client -f "$img/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C yama-vm-host -f "$work/host_ed25519"
cp "$work/host_ed25519.pub" "$img/host_ed25519.pub"

rm -f "$root"/etc/ssh/ssh_host_*
install -m 0600 "$work/host_ed25519" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 0644 "$work/host_ed25519.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
cat >"$root/etc/ssh/sshd_config.d/10-yama-vm.conf" <<'EOF'
# yama VM guest: one host key, keys only.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
# No PAM session (pam_systemd would start a systemd --user per login, which
# costs seconds under TCG), no motd or lastlog. Accounts use "*", not "!",
# so key logins work without PAM.
UsePAM no
PrintMotd no
PrintLastLog no
EOF
# Emulated hardware nobody uses here: not loading its drivers saves seconds
# of every boot under TCG.
cat >"$root/etc/modprobe.d/yama-vm.conf" <<'EOF'
blacklist floppy
blacklist parport_pc
blacklist ppdev
blacklist pcspkr
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist cfg80211
blacklist bochs
blacklist sr_mod
blacklist joydev
blacklist serio_raw
# Loaded by the Debian 13 kernel (6.12) and not needed: the chipset's IDE
# and SMBus, the PS/2 mouse, VMware/vsock transports, DRM, and CPU-feature
# crypto modules (the kernel's crypto is unused; ext4's crc32c is in the
# initrd).
blacklist ata_piix
blacklist ata_generic
blacklist i2c_piix4
blacklist psmouse
blacklist evdev
blacklist drm
blacklist vmw_vmci
blacklist vsock
blacklist efi_pstore
blacklist aesni_intel
blacklist ghash_clmulni_intel
blacklist sha1_ssse3
blacklist sha256_ssse3
blacklist sha512_ssse3
blacklist crct10dif_pclmul
blacklist crc32_pclmul
EOF
# systemd 257's ssh generator (Debian 13) probes AF_VSOCK, fails under qemu
# without a vsock device, and would add an sshd socket nobody uses.
mkdir -p "$root/etc/systemd/system-generators"
ln -sf /dev/null "$root/etc/systemd/system-generators/systemd-ssh-generator"

echo yama-vm >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	yama-vm
::1	localhost ip6-localhost ip6-loopback
EOF
cat >"$root/etc/fstab" <<'EOF'
# The kernel mounts the root file system read-write (root=/dev/vda rw).
/dev/vda	/	ext4	rw,relatime	0	0
EOF
mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/10-qemu-user.network" <<'EOF'
# qemu user networking: the host is 10.0.2.2.
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF

# Users: root (key only, no password), yamasudo (NOPASSWD sudo), yamauser.
chroot "$root" usermod -p '*' root
chroot "$root" useradd -m -u 2000 -s /bin/bash -p '*' yamasudo
chroot "$root" useradd -m -u 2002 -s /bin/bash -p '*' yamauser
echo 'yamasudo ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/yamasudo"
chmod 0440 "$root/etc/sudoers.d/yamasudo"
for u in root yamasudo yamauser; do
	home=$(awk -F: -v u="$u" '$1 == u { print $6 }' "$root/etc/passwd")
	install -d -m 0700 "$root$home/.ssh"
	install -m 0600 "$img/id_ed25519.pub" "$root$home/.ssh/authorized_keys"
	uid=$(awk -F: -v u="$u" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")
	chown -R "$uid" "$root$home/.ssh"
done

systemctl --root="$root" enable ssh.service systemd-networkd.service >&2
# Nothing here waits for the network, and timers only add noise to a
# short-lived guest.
systemctl --root="$root" mask systemd-networkd-wait-online.service \
	apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer >&2

kver=$(basename "$(ls -d "$root"/lib/modules/*)")
{
	echo "suite $SUITE"
	echo "kernel $kver"
	chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' linux-image-amd64 systemd procps openssh-server sudo
	echo "mirrors ${mirrors[*]}"
} >"$img/info"
cp "$root/boot/vmlinuz-$kver" "$img/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$img/initrd"
t_config=$(since "$t2")

t3=$(now)
mkfs.ext4 -q -F -L yama-vm -d "$root" "$img/disk.img" "$SIZE"
t_mkfs=$(since "$t3")

total=$(since "$t0")
{
	echo "build tools ${t_tools}s mmdebstrap ${t_debootstrap}s configure ${t_config}s mkfs ${t_mkfs}s total ${total}s"
	echo "sizes rootfs $(du -sh "$root" | cut -f1) disk.img $(du -h "$img/disk.img" | cut -f1) (apparent $SIZE) initrd $(du -h "$img/initrd" | cut -f1)"
} | tee -a "$img/info" >&2

# Publish with a rename; this suite's older recipes' images and leftovers
# of interrupted builds go, and so do images of the layout before suites
# (.cache/vm/<hash>, .cache/vm/debs).
for d in "$suitedir"/*/ "$base"/*/; do
	d=${d%/}
	case "$d" in "$img" | "$debs" | "$base/bookworm" | "$base/trixie") continue ;; esac
	rm -rf "$d"
done
touch "$img/ok"
mv "$img" "$out"
log "image ready in ${total}s: $out"
echo "$out"
