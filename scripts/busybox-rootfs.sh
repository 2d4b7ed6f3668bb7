#!/bin/sh
# busybox-rootfs.sh DIR: a minimal root filesystem from Debian's busybox-static (no registry
# needed): /bin/busybox plus a link per applet, /etc/passwd and /etc/group with a user.
set -eu
dir=$1
bb=$(command -v busybox)
mkdir -p "$dir/bin" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" "$dir/home/user"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
chmod 1777 "$dir/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$dir/etc/group"
chown 1000:1000 "$dir/home/user"
