#!/bin/busybox sh
# /init of the cgroup v2 lane's initramfs (see run.sh): a pure cgroup2 host, then `bun test` (or
# the command run.sh was given in GUEST_CMD).
# Whatever happens, the last line is "TSRUN-CGROUP2-RESULT <exit status>" and the VM powers off.
# pivot_root(2) refuses a root mount without a parent, which the initramfs is: containers could not
# pivot. So first move everything onto a tmpfs and switch_root there (which frees the initramfs).
if [ "$1" != switched ]; then
	/bin/busybox mkdir /newroot
	/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
	for entry in /*; do [ "$entry" = /newroot ] || /bin/busybox cp -a "$entry" /newroot/; done
	exec /bin/busybox switch_root /newroot /init switched
fi
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/tmp TMPDIR=/tmp NO_COLOR=1
finish() {
	echo "TSRUN-CGROUP2-RESULT $1"
	sync
	poweroff -f
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# The unified hierarchy alone at /sys/fs/cgroup, as on systemd's v2 hosts (nsdelegate as systemd).
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || finish 90
# Every controller delegated from the root, and this shell in a leaf of its own ("no internal
# processes" binds every cgroup but the root): the runtime's own cgroup is /init.scope.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control; done
mkdir /sys/fs/cgroup/init.scope && echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs
# A RAM disk (/dev/ram0, 1:0) for io.max: the VM has no other block device.
[ -f /lib/modules/brd.ko ] && insmod /lib/modules/brd.ko rd_nr=1 rd_size=4096
echo "tsrun-cgroup2: $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
cd /work || finish 91
if [ -f /work/.cgroup2-cmd ]; then
	sh -c "$(cat /work/.cgroup2-cmd)"
	finish $?
fi
# shellcheck disable=SC2046
bun test --timeout 60000 $(cat /work/.cgroup2-tests)
finish $?
