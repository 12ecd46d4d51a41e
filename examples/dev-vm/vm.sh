#!/bin/sh
# vm.sh start|stop IMAGE_DIR STATE_DIR PORT: boot the image under qemu with a
# fresh copy-on-write overlay (the image stays clean), its sshd forwarded to
# 127.0.0.1:PORT; or stop it. `start` returns at once: the provider's
# wait_for_ssh waits for the guest.
set -eu
cmd=$1 image=$2 dir=$3 port=$4
case $cmd in
start)
	mkdir -p "$dir"
	rm -f "$dir/overlay.qcow2"
	qemu-img create -q -f qcow2 -F raw -b "$image/disk.img" "$dir/overlay.qcow2"
	# TCG: stock Debian kernels hang early on some paravirtual KVMs
	# (YAMA_VM_ACCEL=kvm to use KVM where it works).
	qemu-system-x86_64 -accel "${YAMA_VM_ACCEL:-tcg,thread=multi,tb-size=128}" -cpu max -smp 2 -m 512 \
		-nodefaults -display none \
		-kernel "$image/vmlinuz" -initrd "$image/initrd" -append "root=/dev/vda rw console=ttyS0" \
		-drive "file=$dir/overlay.qcow2,if=virtio,format=qcow2" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 \
		-serial "file:$dir/serial.log" \
		-daemonize -pidfile "$dir/qemu.pid"
	;;
stop)
	if [ -f "$dir/qemu.pid" ]; then
		pid=$(cat "$dir/qemu.pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
		rm -f "$dir/qemu.pid" "$dir/overlay.qcow2"
	fi
	;;
*)
	echo "usage: $0 start|stop IMAGE_DIR STATE_DIR PORT" >&2
	exit 2
	;;
esac
