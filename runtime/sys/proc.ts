// /proc access for the host and for init. Writes go only through a procfs handle whose
// filesystem type has been checked, so a fake /proc (a bind mount or symlink planted by an
// image or a volume) cannot redirect them (CVE-2019-16884, 2019-19921, 2025-52881).
import {
  AT_FDCWD,
  O_CLOEXEC,
  O_DIRECTORY,
  O_PATH,
  O_WRONLY,
  PROC_SUPER_MAGIC,
  RESOLVE_BENEATH,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
} from "./constants.ts";
import { SyscallError } from "./errors.ts";
import { readText } from "./files.ts";
import type { Sys } from "./sys.ts";

/** An O_PATH handle on /proc, refused unless it really is procfs. */
export function openProc(sys: Sys, path = "/proc"): number {
  const fd = sys.openat(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  checkProc(sys, fd, path);
  return fd;
}

function checkProc(sys: Sys, fd: number, path: string): void {
  if (sys.fstatfs(fd) !== PROC_SUPER_MAGIC) {
    sys.close(fd);
    throw new SyscallError("fstatfs", 18 /* EXDEV */, `${path} is not on procfs`, path);
  }
}

/** Writes `data` to procfd/rel without following any link, and checks the file is procfs. */
export function writeProc(sys: Sys, procfd: number, rel: string, data: string): void {
  const fd = sys.openat2(procfd, rel, O_WRONLY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
  try {
    if (sys.fstatfs(fd) !== PROC_SUPER_MAGIC) throw new SyscallError("fstatfs", 18 /* EXDEV */, `${rel} is not on procfs`, rel);
    sys.write(fd, Buffer.from(data));
  } finally {
    sys.close(fd);
  }
}

export interface ProcStat {
  state: string;
  startTime: string;
}

/** State letter and start time (field 22, clock ticks since boot) of pid, or null if gone. */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readText(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", startTime: rest[19] ?? "" };
}
