#!/bin/sh
# Installs what building and testing tsrun needs on Debian (bookworm), when it is missing.
# `deps.sh build` is enough for `make` and `make demo`; `deps.sh test` adds what the tests
# drive (runc, crun, podman, containerd, …).
set -eu
want=${1:-build}
pkgs="gcc libc6-dev musl-tools make busybox-static"
if [ "$want" = test ]; then
  pkgs="$pkgs runc crun podman conmon containerd catatonit jq uidmap iproute2 procps util-linux libcap2-bin passwd python3 strace qemu-system-x86 linux-image-cloud-amd64 cpio"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from elsewhere (nodesource ships npm inside its nodejs package).
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
