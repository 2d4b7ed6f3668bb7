// The two programs the pipeline executes: the native helper (embedded in tsrun, run from a sealed
// memfd) and tsrun itself (for `tsrun init`).
import helperPath from "../../native/build/tsrun-helper" with { type: "file" };
import { readFileSync } from "node:fs";
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
  O_CLOEXEC,
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

/** An fd of the tsrun executable and the argv that runs `tsrun <args>` through it. */
export function selfExec(sys: Sys, args: string[]): { fd: number; argv: string[] } {
  const fd = sys.openat(AT_FDCWD, process.execPath, O_RDONLY | O_CLOEXEC);
  return { fd, argv: compiled ? ["tsrun", ...args] : [process.execPath, Bun.main, ...args] };
}
