// The real CgroupKernel: raw syscalls through libc's syscall(3), bound once in runtime/sys/linux.ts.
import { ptr } from "bun:ffi";
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { SyscallError } from "../sys/errors.ts";
import { lastErrno, rawSyscall, strerror } from "../sys/linux.ts";
import { SYS } from "../sys/syscalls.ts";
import type { CgroupKernel } from "./kernel.ts";

// Not (yet) in runtime/sys/syscalls.ts. x86_64: asm/unistd_64.h; arm64: asm-generic/unistd.h.
const EXTRA = process.arch === "arm64"
  ? { eventfd2: 19, inotify_init1: 26, inotify_add_watch: 27 }
  : { eventfd2: 290, inotify_init1: 294, inotify_add_watch: 254 };

const AT_FDCWD = -100;
const EFD_NONBLOCK = 0o4000;
const IN_NONBLOCK = 0o4000;
const EAGAIN = 11;
const EINTR = 4;

type Arg = number | bigint;

// libc's syscall(3) through runtime/sys/linux.ts's binding: one dlopen per process.
const errno = lastErrno;

/** The raw result: negative on failure, with errno() telling why. */
function raw(nr: number, a: Arg = 0, b: Arg = 0, c: Arg = 0, d: Arg = 0): number {
  return rawSyscall(nr, a, b, c, d);
}

function call(name: string, nr: number, a: Arg = 0, b: Arg = 0, c: Arg = 0, d: Arg = 0, path?: string): number {
  for (;;) {
    const r = raw(nr, a, b, c, d);
    if (r >= 0) return r;
    const e = errno();
    if (e !== EINTR) throw new SyscallError(name, e, strerror(e), path);
  }
}

function cstr(s: string): Uint8Array {
  if (s.includes("\0")) throw new SyscallError("open", 22, `path contains a NUL byte: ${JSON.stringify(s)}`);
  return Buffer.from(s + "\0");
}

export const linuxKernel: CgroupKernel = {
  bpf(cmd, attr, pointers) {
    const view = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
    for (const [offset, buf] of pointers ?? []) view.setBigUint64(offset, BigInt(ptr(buf)), true);
    return call("bpf", SYS.bpf, cmd, ptr(attr), attr.byteLength);
  },
  openDir: (path) => call("open", SYS.openat, AT_FDCWD, ptr(cstr(path)), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, path),
  openFile: (path) => call("open", SYS.openat, AT_FDCWD, ptr(cstr(path)), O_RDONLY | O_CLOEXEC, 0, path),
  close(fd) {
    call("close", SYS.close, fd);
  },
  eventfd: () => call("eventfd2", EXTRA.eventfd2, 0, O_CLOEXEC | EFD_NONBLOCK),
  inotifyInit: () => call("inotify_init1", EXTRA.inotify_init1, O_CLOEXEC | IN_NONBLOCK),
  inotifyAddWatch: (fd, path, mask) => call("inotify_add_watch", EXTRA.inotify_add_watch, fd, ptr(cstr(path)), mask, 0, path),
  read(fd, buf) {
    for (;;) {
      const r = raw(SYS.read, fd, ptr(buf), buf.byteLength);
      if (r >= 0) return r;
      const e = errno();
      if (e === EAGAIN) return 0;
      if (e !== EINTR) throw new SyscallError("read", e, strerror(e));
    }
  },
};
