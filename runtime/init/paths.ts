// Path resolution inside the container's root, by the kernel: openat2(RESOLVE_IN_ROOT) from a
// pre-opened root fd, so a symlink planted in the image (or swapped in by a racing process on a
// shared volume) can never lead outside it (CVE-2021-30465, 2024-45310, 2025-52565), and
// RESOLVE_NO_MAGICLINKS so /proc/self/fd/N links cannot either.
import {
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_WRONLY,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
} from "../sys/constants.ts";
import { hasCode } from "../sys/errors.ts";
import type { Sys } from "../sys/sys.ts";

export const IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

export function parts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** O_PATH fd of path inside root, or null when it does not exist. */
export function openIn(sys: Sys, root: number, path: string, flags = 0): number | null {
  try {
    return sys.openat2(root, path, O_PATH | O_CLOEXEC | flags, IN_ROOT);
  } catch (e) {
    if (hasCode(e, "ENOENT")) return null;
    throw e;
  }
}

/** mkdir -p inside root; returns an O_PATH fd of the directory. */
export function mkdirAllIn(sys: Sys, root: number, path: string, mode = 0o755): number {
  const comps = parts(path);
  for (let i = comps.length; i >= 0; i--) {
    // Find the deepest existing prefix, then create the rest one level at a time; each level is
    // looked up again from the root, so a swapped component still resolves inside it.
    const fd = openIn(sys, root, "/" + comps.slice(0, i).join("/"), O_DIRECTORY);
    if (fd === null) continue;
    let dir = fd;
    for (let j = i; j < comps.length; j++) {
      try {
        sys.mkdirat(dir, comps[j]!, mode);
      } catch (e) {
        if (!hasCode(e, "EEXIST")) {
          sys.close(dir);
          throw e;
        }
      }
      sys.close(dir);
      dir = sys.openat2(root, "/" + comps.slice(0, j + 1).join("/"), O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
    }
    return dir;
  }
  throw new Error(`resolve "${path}": the root itself is gone`);
}

export function dirname(path: string): string {
  const c = parts(path);
  return "/" + c.slice(0, -1).join("/");
}

export function basename(path: string): string {
  return parts(path).at(-1) ?? "";
}

/**
 * O_PATH fd of path inside root, created (with its parents) as a directory or an empty file when
 * missing. `existed` tells whether it was there before.
 */
export function ensureIn(sys: Sys, root: number, path: string, kind: "dir" | "file", flags = 0): { fd: number; existed: boolean } {
  const fd = openIn(sys, root, path, flags);
  if (fd !== null) return { fd, existed: true };
  const parent = mkdirAllIn(sys, root, dirname(path));
  try {
    const name = basename(path);
    if (kind === "dir") {
      try {
        sys.mkdirat(parent, name, 0o755);
      } catch (e) {
        if (!hasCode(e, "EEXIST")) throw e;
      }
    } else {
      try {
        sys.close(sys.openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0o755));
      } catch (e) {
        if (!hasCode(e, "EEXIST")) throw e;
      }
    }
  } finally {
    sys.close(parent);
  }
  return { fd: sys.openat2(root, path, O_PATH | O_CLOEXEC | flags, IN_ROOT), existed: false };
}
