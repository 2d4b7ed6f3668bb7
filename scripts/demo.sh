#!/bin/sh
# make demo: one busybox container, run by tsrun in the foreground, showing what it is isolated
# from. Everything it makes lives in one temp directory, removed at the end.
set -eu
cd "$(dirname "$0")/.."
tsrun=$PWD/bin/tsrun
dir=$(mktemp -d /tmp/tsrun-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
scripts/busybox-rootfs.sh "$dir/rootfs"
"$tsrun" spec --bundle "$dir"
script='
echo "hostname:     $(hostname)"
echo "whoami:       $(id)"
echo "processes:    $(ps -o pid,comm | tail -n +2 | tr -s " " | tr "\n" ";")"
echo "interfaces:   $(ls /sys/class/net | tr "\n" " ")"
echo "capabilities: $(grep CapEff /proc/self/status)"
echo "no_new_privs: $(grep NoNewPrivs /proc/self/status | cut -f2)"
echo "cgroup:       $(grep memory /proc/self/cgroup)"
echo "memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
echo "root fs:      $(touch /x 2>&1 || true)"
echo "/proc/keys:   $(wc -c </proc/keys) bytes (masked)"
'
"$PWD/node_modules/.bin/bun" -e '
const [path, script] = process.argv.slice(1);
const c = await Bun.file(path).json();
c.process.args = ["sh", "-c", script];
c.process.terminal = false;
c.hostname = "tsrun-demo";
c.linux.resources = { memory: { limit: 64 * 1024 * 1024 } };
await Bun.write(path, JSON.stringify(c, null, 2));
' "$dir/config.json" "$script"
echo "host:         $(hostname), pid $$, $(ls /sys/class/net | wc -w) interfaces"
echo "--- inside the container (tsrun run) ---"
"$tsrun" --root "$dir/state" run --bundle "$dir" "demo-$$"
