#!/bin/sh
# Run the driver scenarios: podman (conmon) and containerd (runc v2 shim) driving each runtime.
#   tests/drivers/run.sh                                   # tsrun and runc
#   DRIVER_RUNTIMES=runc,crun tests/drivers/run.sh         # names or paths
#   DRIVER_STRICT=1 tests/drivers/run.sh                   # known gaps count as failures
#   tests/drivers/run.sh -t 'pause'                        # extra args go to `bun test`
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bun=${BUN:-$repo/node_modules/.bin/bun}

fail() { echo "drivers: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "needs root (podman and containerd run real containers)"
[ -x "$bun" ] || fail "no bun at $bun (npm ci, or set BUN)"
for tool in podman conmon containerd ctr containerd-shim-runc-v2 python3 tar busybox; do
  command -v "$tool" >/dev/null || fail "needs $tool (make test-deps)"
done
case ",${DRIVER_RUNTIMES:-tsrun,runc}," in
  *,tsrun,*) [ -x "${TSRUN:-$repo/bin/tsrun}" ] || fail "no ${TSRUN:-$repo/bin/tsrun} (run make)" ;;
esac

cd "$repo"
echo "drivers: DRIVER_RUNTIMES=${DRIVER_RUNTIMES:-tsrun,runc}${DRIVER_STRICT:+ DRIVER_STRICT=$DRIVER_STRICT}" >&2
exec "$bun" test tests/drivers/ "$@"
