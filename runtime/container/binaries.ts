// The two programs the pipeline executes: the native helper (embedded in tsrun, run from a sealed
// memfd) and tsrun itself (for `tsrun init`).
import helperPath from "../../native/build/tsrun-helper" with { type: "file" };
import { readFileSync, realpathSync } from "node:fs";
import { basename, dirname } from "../sys/path.ts";
import {
  AT_FDCWD,
  F_ADD_SEALS,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_EXEC,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  O_CLOEXEC,
  O_NOFOLLOW,
  O_RDONLY,
} from "../sys/constants.ts";
import { hasCode } from "../sys/errors.ts";
import type { Sys } from "../sys/sys.ts";

/**
 * A sealed, executable memfd holding the native helper. Sealed so that nothing (including a
 * process in the container that reaches it through /proc/<pid>/exe) can change it
 * (CVE-2019-5736); a memfd so that installing tsrun stays copying one file.
 */
export function helperMemfd(sys: Sys): number {
  const bytes = readFileSync(helperPath);
  let fd: number;
  try {
    fd = sys.memfdCreate("tsrun-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  } catch (e) {
    // Kernels before 6.3 do not know MFD_EXEC (and make every memfd executable).
    if (!hasCode(e, "EINVAL")) throw e;
    fd = sys.memfdCreate("tsrun-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  }
  for (let at = 0; at < bytes.byteLength; ) at += sys.write(fd, bytes.subarray(at));
  sys.fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  return fd;
}

/** Whether this is the single-file build (bun build --compile) rather than `bun cmd/main.ts`. */
export const compiled = Bun.main.startsWith("/$bunfs/");

/**
 * An fd of the tsrun executable and the argv that runs `tsrun <args>` through it, for `tsrun
 * init`, which runs inside the container's namespaces. The fd is opened through a private,
 * read-only overlay mount that is attached nowhere: /proc/<pid>/exe of init then leads to a file
 * that nothing can write, so a process sharing the container's pid namespace cannot overwrite
 * the host's tsrun through it (CVE-2019-5736; runc 1.2 does the same).
 */
export function selfExec(sys: Sys, args: string[]): { fd: number; argv: string[] } {
  const argv = compiled ? ["tsrun", ...args] : [process.execPath, Bun.main, ...args];
  const path = realpathSync(process.execPath);
  try {
    return { fd: sealedOverlayOpen(sys, path), argv };
  } catch (e) {
    // No overlayfs (or no right to mount it): the file itself, which a container can still
    // not write while tsrun runs from it (ETXTBSY), and init makes itself non-dumpable at once.
    if (!hasCode(e, "ENODEV", "EPERM", "EINVAL", "ENOENT")) throw e;
    return { fd: sys.openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC), argv };
  }
}

/**
 * overlayfs wants a second layer when it has no upper one, and refuses layers that overlap
 * (ELOOP): an empty tmpfs attached nowhere is the one layer that can never overlap the
 * directory tsrun is installed in, wherever --root is.
 */
function sealedOverlayOpen(sys: Sys, path: string): number {
  const escape = (p: string) => p.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
  const empty = detachedTmpfs(sys);
  const fs = sys.fsopen("overlay", FSOPEN_CLOEXEC);
  let mnt = -1;
  try {
    sys.fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", `${escape(dirname(path))}:/proc/self/fd/${empty}`);
    try {
      sys.fsconfig(fs, FSCONFIG_SET_STRING, "xino", "off");
    } catch {
      // older kernels: the default is fine
    }
    sys.fsconfig(fs, FSCONFIG_CMD_CREATE, null, null);
    mnt = sys.fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
    return sys.openat(mnt, basename(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  } finally {
    if (mnt >= 0) sys.close(mnt);
    sys.close(fs);
    sys.close(empty);
  }
}

function detachedTmpfs(sys: Sys): number {
  const fs = sys.fsopen("tmpfs", FSOPEN_CLOEXEC);
  try {
    sys.fsconfig(fs, FSCONFIG_SET_STRING, "size", "4k");
    sys.fsconfig(fs, FSCONFIG_CMD_CREATE, null, null);
    return sys.fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  } finally {
    sys.close(fs);
  }
}
