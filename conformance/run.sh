#!/bin/sh
# Run the black-box conformance suite against $RUNTIME (default: runc from PATH).
#   RUNTIME=/usr/bin/runc conformance/run.sh            # all cases
#   RUNTIME=bin/tsrun conformance/run.sh -t 'kill'      # extra args go to `bun test`
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bun=${BUN:-$repo/node_modules/.bin/bun}

fail() { echo "conformance: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "needs root (it creates namespaces, mounts and cgroups)"
[ -x "${BUSYBOX:-/bin/busybox}" ] || fail "needs a static busybox at ${BUSYBOX:-/bin/busybox} (apt-get install busybox-static)"
command -v python3 >/dev/null || fail "needs python3 (console-socket receiver, non-blocking stdio wrapper)"
command -v unshare >/dev/null || fail "needs util-linux unshare"
[ -x "$bun" ] || fail "no bun at $bun (npm ci, or set BUN)"

cd "$repo"
echo "conformance: RUNTIME=${RUNTIME:-runc}" >&2
exec "$bun" test conformance/ "$@"
