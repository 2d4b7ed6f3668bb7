#!/bin/sh
# Builds tsrun at HEAD with one defence removed, to prove that a security test fails without it:
#   tests/security/weak.sh NAME...           → /tmp/tsrun-weak-NAME/bin/tsrun (a git worktree)
#   TSRUN=/tmp/tsrun-weak-NAME/bin/tsrun ./node_modules/.bin/bun test tests/security/<file>
#   tests/security/weak.sh --remove NAME...  removes the worktrees again
# NAME is a patch in tests/security/weak/ (what each removes: README.md), or "baseline" (none).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ "${1:-}" = --remove ]; then
  shift
  for n; do git -C "$repo" worktree remove --force "/tmp/tsrun-weak-$n"; done
  exit 0
fi
[ $# -gt 0 ] || { echo "usage: $0 NAME... | --remove NAME..." >&2; exit 2; }
for n; do
  wt=/tmp/tsrun-weak-$n
  [ "$n" = baseline ] || [ -f "$here/weak/$n.patch" ] || { echo "no patch $here/weak/$n.patch" >&2; exit 2; }
  [ -d "$wt" ] || git -C "$repo" worktree add --detach "$wt" HEAD >/dev/null
  # node_modules as hard links to the repo's, never a symlink (make's `npm ci` rule would then
  # reinstall the repo's own); -o keeps make from remaking it at all.
  [ -d "$wt/node_modules" ] || cp -al "$repo/node_modules" "$wt/node_modules"
  if [ "$n" != baseline ] && git -C "$wt" diff --quiet; then git -C "$wt" apply "$here/weak/$n.patch"; fi
  make -C "$wt" -o node_modules/.bin/bun bin/tsrun >"$wt/make.log" 2>&1 || { cat "$wt/make.log" >&2; exit 1; }
  echo "$wt/bin/tsrun"
done
