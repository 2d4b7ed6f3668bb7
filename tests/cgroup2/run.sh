#!/bin/bash
# The cgroup v2 lane: this host's cgroups are hybrid, so boot Debian's kernel under qemu (TCG, no
# KVM needed) with an initramfs built here — busybox, bun and its libraries, the repo's sources —
# mount a pure cgroup2 hierarchy with every controller, run `bun test` there, and exit with its
# status. `make test-cgroup2` calls this (with WITH_TSRUN=1 BUSYBOX_ROOTFS=1, for the container
# tests).
#
#   tests/cgroup2/run.sh [TEST_PATH...]     default: runtime/cgroups tests/cgroup2
#
# TEST_PATHs are relative to the repo, as `bun test` takes them. Environment:
#   KERNEL         kernel image (default: the newest /boot/vmlinuz-*-cloud-amd64)
#   WITH_TSRUN=1   also put bin/tsrun in the image (at /work/bin/tsrun; build it first)
#   ROOTFS=DIR     also put DIR in the image at /work/rootfs (a busybox rootfs for container tests)
#   BUSYBOX_ROOTFS=1  the same with a rootfs made by scripts/busybox-rootfs.sh (when ROOTFS is unset)
#   EXTRA_DIR=DIR  copy DIR's contents over the image's root (DIR/usr/sbin/x lands at /usr/sbin/x);
#                  the shared libraries of the dynamic executables in it come along
#   GUEST_CMD=CMD  run `sh -c CMD` in /work instead of `bun test` (its status is the result)
#   MEM            the VM's memory in MiB (default 1536: the initramfs itself lives in RAM)
#   TIMEOUT        seconds before the VM is killed (default 600)
#   BOOT_TIMEOUT   seconds for the guest to reach /init before the boot is tried again (default 120; 3 tries)
#   KEEP=1         keep the work directory (initramfs, console log) and print its path
# The guest's console goes to stdout; its last line is "TSRUN-CGROUP2-RESULT <status>".
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(runtime/cgroups tests/cgroup2)

kernel=${KERNEL:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)}
[ -r "$kernel" ] || { echo "cgroup2 lane: no kernel image (install linux-image-cloud-amd64 or set KERNEL)" >&2; exit 2; }
kver=${kernel#*/vmlinuz-}
for tool in qemu-system-x86_64 cpio; do
	command -v $tool >/dev/null || { echo "cgroup2 lane: $tool is not installed" >&2; exit 2; }
done
busybox=$(command -v busybox) || { echo "cgroup2 lane: busybox is not installed (busybox-static)" >&2; exit 2; }
if ldd "$busybox" >/dev/null 2>&1; then echo "cgroup2 lane: $busybox is dynamic; install busybox-static" >&2; exit 2; fi
bun=$(readlink -f "$repo/node_modules/.bin/bun") # node_modules/.bin/bun → ../bun/bin/bun.exe, the real ELF
[ -x "$bun" ] || { echo "cgroup2 lane: no bun in node_modules (npm ci)" >&2; exit 2; }

work=$(mktemp -d /tmp/tsrun-cgroup2.XXXXXX)
if [ "${KEEP:-}" = 1 ]; then echo "cgroup2 lane: work directory $work"; else trap 'rm -rf "$work"' EXIT; fi
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,etc,lib/modules,work}

cp "$busybox" "$root/bin/busybox"
cp "$bun" "$root/bin/bun"
# bun's shared libraries (and the loader) at the paths it was linked against. The kernel needs no
# modules for this (serial console and initramfs are built in; virtio is not, so nothing uses it),
# except brd for a block device.
copy_libs() { # the shared libraries of executable $1 (and the loader), at the paths it was linked against
	local lib
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
copy_libs "$bun"
brd=/lib/modules/$kver/kernel/drivers/block/brd.ko
[ -f "$brd" ] && cp "$brd" "$root/lib/modules/brd.ko"
printf 'root:x:0:0:root:/tmp:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# The sources, without what the guest never runs (the bun package is the binary already copied,
# the type checkers are not used by `bun test`) or what the lane adds only on request.
tar -C "$repo" -cf - --exclude=./.git --exclude=./bin --exclude=./node_modules/bun \
	--exclude=./node_modules/typescript --exclude=./node_modules/@typescript --exclude=./node_modules/bun-types \
	--exclude=./node_modules/@types . | tar -C "$root/work" -xf -
if [ "${WITH_TSRUN:-}" = 1 ]; then
	[ -x "$repo/bin/tsrun" ] || { echo "cgroup2 lane: WITH_TSRUN=1 but bin/tsrun is not built" >&2; exit 2; }
	mkdir -p "$root/work/bin" && cp "$repo/bin/tsrun" "$root/work/bin/tsrun"
fi
if [ -n "${ROOTFS:-}" ]; then
	cp -a "$ROOTFS" "$root/work/rootfs"
elif [ "${BUSYBOX_ROOTFS:-}" = 1 ]; then
	"$repo/scripts/busybox-rootfs.sh" "$root/work/rootfs"
fi
if [ -n "${EXTRA_DIR:-}" ]; then
	[ -d "$EXTRA_DIR" ] || { echo "cgroup2 lane: EXTRA_DIR=$EXTRA_DIR is not a directory" >&2; exit 2; }
	cp -a "$EXTRA_DIR/." "$root/"
	while IFS= read -r -d '' file; do copy_libs "$file"; done < <(find "$EXTRA_DIR" -type f -perm -u+x -print0)
fi
printf '%s\n' "${tests[@]}" >"$root/work/.cgroup2-tests"
if [ -n "${GUEST_CMD:-}" ]; then printf '%s\n' "$GUEST_CMD" >"$root/work/.cgroup2-cmd"; fi
cp "$repo/tests/cgroup2/init.sh" "$root/init"

# Uncompressed: the kernel unpacks it with plain copies, far faster under TCG than any decompressor.
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"

log=$work/console.log
# One boot: the console goes to $log and, as it comes, to stdout. The guest's /init says
# "tsrun-cgroup2:" within seconds; a boot that has not got there in BOOT_TIMEOUT seconds is stuck
# before init (seen once in about a dozen TCG boots here, spinning at 200 % CPU with nothing on
# the console) and is killed with status 125, so that it can be tried again.
boot() {
	: >"$log"
	timeout "${TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${MEM:-1536}" -nographic -nic none -no-reboot \
		-kernel "$kernel" -initrd "$work/initramfs.cpio" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 init=/init" </dev/null >"$log" 2>&1 &
	local vm=$! waited=0 status
	tail -n +1 -f --pid=$vm "$log" &
	local tailer=$!
	until grep -q "tsrun-cgroup2:" "$log"; do
		kill -0 $vm 2>/dev/null || break
		if [ $waited -ge "${BOOT_TIMEOUT:-120}" ]; then
			kill $vm
			wait $vm
			wait $tailer
			echo "cgroup2 lane: the guest did not reach /init in ${BOOT_TIMEOUT:-120} s" >&2
			return 125
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait $vm && status=0 || status=$?
	wait $tailer
	return $status
}
start=$(date +%s)
set +e
for attempt in 1 2 3; do
	boot
	qemu=$?
	[ $qemu = 125 ] && [ $attempt -lt 3 ] || break
	echo "cgroup2 lane: booting again (attempt $((attempt + 1)))" >&2
done
set -e
result=$(tr -d '\r' <"$log" | sed -n 's/^TSRUN-CGROUP2-RESULT \([0-9]*\)$/\1/p' | tail -n 1)
echo "cgroup2 lane: $(($(date +%s) - start)) s in the VM, kernel $kver"
if [ -z "$result" ]; then
	echo "cgroup2 lane: no result from the guest (qemu exit status $qemu; 124 means the timeout, 125 no boot)" >&2
	exit 1
fi
exit "$result"
