// The real kernel behind the Sys seam: raw syscalls through libc's syscall(3) via bun:ffi.
import { CString, dlopen, FFIType, ptr, read } from "bun:ffi";
import { AF_UNIX, AT_EMPTY_PATH, SOCK_CLOEXEC, SOCK_STREAM } from "./constants.ts";
import { SyscallError } from "./errors.ts";
import { SYS, type SyscallName } from "./syscalls.ts";
import type { MountAttr, PollFd, Stat, Sys } from "./sys.ts";

// Two symbols only: bun:ffi compiles a trampoline for each at dlopen, ~0.15 ms apiece of every
// command's start (measured). poll goes through syscall(2) as ppoll; strerror is looked up when
// an error needs a message nobody has asked for before.
const libc = dlopen("libc.so.6", {
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: FFIType.i64_fast },
  __errno_location: { args: [], returns: "ptr" },
});
const errnoPtr = libc.symbols.__errno_location()!;

type Arg = number | bigint;

/** syscall(2) as is, for the kernel seams outside this file: negative on failure, see lastErrno. */
export function rawSyscall(nr: number, a: Arg = 0, b: Arg = 0, c: Arg = 0, d: Arg = 0, e: Arg = 0, f: Arg = 0): number {
  return libc.symbols.syscall(nr, a, b, c, d, e, f) as number;
}

export const lastErrno = (): number => read.i32(errnoPtr, 0);

// The messages glibc's strerror gives for the errors tsrun meets every day (ENOENT while asking
// whether a file exists, EEXIST, EBUSY from a cgroup still in use, ...): no dlopen for those.
const COMMON_ERRORS: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  9: "Bad file descriptor",
  11: "Resource temporarily unavailable",
  13: "Permission denied",
  16: "Device or resource busy",
  17: "File exists",
  20: "Not a directory",
  21: "Is a directory",
  22: "Invalid argument",
  39: "Directory not empty",
  40: "Too many levels of symbolic links",
};
let strerrorFn: ((errno: number) => number | null) | undefined;

export function strerror(errno: number): string {
  let text = COMMON_ERRORS[errno];
  if (text === undefined) {
    strerrorFn ??= dlopen("libc.so.6", { strerror: { args: ["i32"], returns: "ptr" } }).symbols.strerror as never;
    const p = strerrorFn!(errno);
    text = p ? new CString(p as never).toString() : `errno ${errno}`;
  }
  // Node's style: "ENOENT: no such file or directory".
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function fail(name: string, path?: string): never {
  const errno = read.i32(errnoPtr, 0);
  throw new SyscallError(name, errno, strerror(errno), path);
}

function call(name: SyscallName, a = 0 as Arg, b = 0 as Arg, c = 0 as Arg, d = 0 as Arg, e = 0 as Arg, f = 0 as Arg, path?: string): number {
  const r = libc.symbols.syscall(SYS[name], a, b, c, d, e, f) as number;
  if (r < 0) fail(name, path);
  return r;
}

/** A NUL-terminated copy of s; a NUL inside s would silently cut the path short, so it is refused. */
function cstr(s: string): Uint8Array {
  if (s.includes("\0")) throw new SyscallError("cstr", 22, `string contains a NUL byte: ${JSON.stringify(s)}`);
  return Buffer.from(s + "\0");
}

function cptr(s: string | null): number {
  return s === null ? 0 : ptr(cstr(s));
}

export class LinuxSys implements Sys {
  openat(dirfd: number, path: string, flags: number, mode = 0): number {
    return call("openat", dirfd, ptr(cstr(path)), flags, mode, 0, 0, path);
  }

  openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
    const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
    return call("openat2", dirfd, ptr(cstr(path)), ptr(how), 24, 0, 0, path);
  }

  close(fd: number): void {
    call("close", fd);
  }

  read(fd: number, buf: Uint8Array): number {
    if (buf.byteLength === 0) return 0;
    for (;;) {
      const r = libc.symbols.syscall(SYS.read, fd, ptr(buf), buf.byteLength, 0, 0, 0) as number;
      if (r >= 0) return r;
      if (read.i32(errnoPtr, 0) !== 4 /* EINTR */) fail("read");
    }
  }

  write(fd: number, buf: Uint8Array): number {
    if (buf.byteLength === 0) return 0;
    for (;;) {
      const r = libc.symbols.syscall(SYS.write, fd, ptr(buf), buf.byteLength, 0, 0, 0) as number;
      if (r >= 0) return r;
      if (read.i32(errnoPtr, 0) !== 4 /* EINTR */) fail("write");
    }
  }

  statx(dirfd: number, path: string, flags: number): Stat {
    const buf = new Uint8Array(256);
    call("statx", dirfd, ptr(cstr(path)), flags, 0x7ff /* STATX_BASIC_STATS */, ptr(buf), 0, path || undefined);
    const v = new DataView(buf.buffer);
    return {
      mode: v.getUint16(28, true),
      uid: v.getUint32(20, true),
      gid: v.getUint32(24, true),
      ino: v.getBigUint64(32, true),
      size: Number(v.getBigUint64(40, true)),
      rdevMajor: v.getUint32(128, true),
      rdevMinor: v.getUint32(132, true),
      devMajor: v.getUint32(136, true),
      devMinor: v.getUint32(140, true),
    };
  }

  fstatfs(fd: number): number {
    const buf = new BigInt64Array(16);
    call("fstatfs", fd, ptr(buf));
    return Number(buf[0]);
  }

  mkdirat(dirfd: number, path: string, mode: number): void {
    call("mkdirat", dirfd, ptr(cstr(path)), mode, 0, 0, 0, path);
  }

  mknodat(dirfd: number, path: string, mode: number, major: number, minor: number): void {
    // glibc's makedev() encoding of dev_t.
    const dev =
      ((BigInt(major) & 0xfffff000n) << 32n) |
      ((BigInt(major) & 0xfffn) << 8n) |
      ((BigInt(minor) & 0xffffff00n) << 12n) |
      (BigInt(minor) & 0xffn);
    call("mknodat", dirfd, ptr(cstr(path)), mode, dev, 0, 0, path);
  }

  symlinkat(target: string, dirfd: number, path: string): void {
    call("symlinkat", ptr(cstr(target)), dirfd, ptr(cstr(path)), 0, 0, 0, path);
  }

  unlinkat(dirfd: number, path: string, flags: number): void {
    call("unlinkat", dirfd, ptr(cstr(path)), flags, 0, 0, 0, path);
  }

  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
    call("fchownat", dirfd, ptr(cstr(path)), uid, gid, flags, 0, path);
  }

  fchmod(fd: number, mode: number): void {
    call("fchmod", fd, mode);
  }

  fchmodat(dirfd: number, path: string, mode: number): void {
    call("fchmodat", dirfd, ptr(cstr(path)), mode, 0, 0, 0, path);
  }

  readlinkat(dirfd: number, path: string): string {
    const buf = new Uint8Array(4096);
    const n = call("readlinkat", dirfd, ptr(cstr(path)), ptr(buf), buf.byteLength, 0, 0, path);
    return new TextDecoder().decode(buf.subarray(0, n));
  }

  readdir(fd: number): { name: string; type: number }[] {
    const out: { name: string; type: number }[] = [];
    const buf = new Uint8Array(32768);
    const v = new DataView(buf.buffer);
    for (;;) {
      const n = call("getdents64", fd, ptr(buf), buf.byteLength);
      if (n === 0) return out;
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
      for (let at = 0; at < n; ) {
        const reclen = v.getUint16(at + 16, true);
        const type = buf[at + 18]!;
        const end = buf.indexOf(0, at + 19);
        const name = new TextDecoder().decode(buf.subarray(at + 19, end));
        if (name !== "." && name !== "..") out.push({ name, type });
        at += reclen;
      }
    }
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    call("mount", cptr(source), ptr(cstr(target)), cptr(fstype), flags, cptr(data), 0, target);
  }

  umount2(target: string, flags: number): void {
    call("umount2", ptr(cstr(target)), flags, 0, 0, 0, 0, target);
  }

  fsopen(fstype: string, flags: number): number {
    return call("fsopen", ptr(cstr(fstype)), flags);
  }

  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void {
    call("fsconfig", fd, cmd, cptr(key), cptr(value), 0);
  }

  fsmount(fd: number, flags: number, attrs: number): number {
    return call("fsmount", fd, flags, attrs);
  }

  moveMount(fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number): void {
    call("move_mount", fromDirfd, ptr(cstr(fromPath)), toDirfd, ptr(cstr(toPath)), flags);
  }

  openTree(dirfd: number, path: string, flags: number): number {
    return call("open_tree", dirfd, ptr(cstr(path)), flags, 0, 0, 0, path || undefined);
  }

  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void {
    const a = new BigUint64Array([BigInt(attr.set ?? 0), BigInt(attr.clr ?? 0), BigInt(attr.propagation ?? 0), BigInt(attr.usernsFd ?? 0)]);
    call("mount_setattr", dirfd, ptr(cstr(path)), flags, ptr(a), 32, 0, path || undefined);
  }

  pivotRoot(newRoot: string, putOld: string): void {
    call("pivot_root", ptr(cstr(newRoot)), ptr(cstr(putOld)));
  }

  chdir(path: string): void {
    call("chdir", ptr(cstr(path)), 0, 0, 0, 0, 0, path);
  }

  fchdir(fd: number): void {
    call("fchdir", fd);
  }

  chroot(path: string): void {
    call("chroot", ptr(cstr(path)), 0, 0, 0, 0, 0, path);
  }

  unshare(flags: number): void {
    call("unshare", flags);
  }

  sethostname(name: string): void {
    const b = Buffer.from(name);
    call("sethostname", b.byteLength ? ptr(b) : 0, b.byteLength);
  }

  setdomainname(name: string): void {
    const b = Buffer.from(name);
    call("setdomainname", b.byteLength ? ptr(b) : 0, b.byteLength);
  }

  prlimit(resource: number, soft: bigint, hard: bigint): void {
    const lim = new BigUint64Array([soft, hard]);
    call("prlimit64", 0, resource, ptr(lim), 0);
  }

  prctl(option: number, arg2 = 0, arg3 = 0): number {
    return call("prctl", option, arg2, arg3, 0, 0);
  }

  schedSetaffinity(pid: number, mask: Uint8Array): void {
    call("sched_setaffinity", pid, mask.byteLength, ptr(mask));
  }

  kill(pid: number, signal: number): void {
    call("kill", pid, signal);
  }

  getpid(): number {
    return call("getpid");
  }

  umask(mask: number): number {
    return call("umask", mask);
  }

  joinSessionKeyring(name: string): number {
    return call("keyctl", 1 /* KEYCTL_JOIN_SESSION_KEYRING */, ptr(cstr(name)));
  }

  describeKey(serial: number): string {
    const buf = new Uint8Array(512);
    const n = call("keyctl", 6 /* KEYCTL_DESCRIBE */, serial, ptr(buf), buf.byteLength);
    return new TextDecoder().decode(buf.subarray(0, Math.max(0, Math.min(n, buf.byteLength) - 1)));
  }

  setKeyPerm(serial: number, perm: number): void {
    call("keyctl", 5 /* KEYCTL_SETPERM */, serial, perm >>> 0);
  }

  socketpair(): [number, number] {
    const sv = new Int32Array(2);
    call("socketpair", AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptr(sv));
    return [sv[0]!, sv[1]!];
  }

  socket(domain: number, type: number, protocol: number): number {
    return call("socket", domain, type, protocol);
  }

  connectUnix(path: string): number {
    const fd = call("socket", AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const addr = new Uint8Array(110);
    new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
    const p = Buffer.from(path);
    if (p.byteLength >= 108) {
      this.close(fd);
      throw new SyscallError("connect", 36, "file name too long", path);
    }
    addr.set(p, 2);
    try {
      call("connect", fd, ptr(addr), 2 + p.byteLength + 1, 0, 0, 0, path);
    } catch (e) {
      this.close(fd);
      throw e;
    }
    return fd;
  }

  sendFd(sock: number, fd: number, payload: string): void {
    const data = Buffer.from(payload || "\0");
    // struct iovec, then a cmsghdr { len, SOL_SOCKET, SCM_RIGHTS } carrying one int, then msghdr.
    const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.byteLength)]);
    const cmsg = new Uint8Array(24);
    const cv = new DataView(cmsg.buffer);
    cv.setBigUint64(0, 20n, true);
    cv.setInt32(8, 1 /* SOL_SOCKET */, true);
    cv.setInt32(12, 1 /* SCM_RIGHTS */, true);
    cv.setInt32(16, fd, true);
    const msg = new BigUint64Array([0n, 0n, BigInt(ptr(iov)), 1n, BigInt(ptr(cmsg)), 24n, 0n]);
    call("sendmsg", sock, ptr(msg), 0x4000 /* MSG_NOSIGNAL */);
  }

  recvmsg(sock: number, buf: Uint8Array): { n: number; fds: number[] } {
    const iov = new BigUint64Array([BigInt(ptr(buf)), BigInt(buf.byteLength)]);
    const cmsg = new Uint8Array(64);
    const msg = new BigUint64Array([0n, 0n, BigInt(ptr(iov)), 1n, BigInt(ptr(cmsg)), BigInt(cmsg.byteLength), 0n]);
    let n: number;
    for (;;) {
      const r = libc.symbols.syscall(SYS.recvmsg, sock, ptr(msg), 0x40000000 /* MSG_CMSG_CLOEXEC */, 0, 0, 0) as number;
      if (r >= 0) {
        n = r;
        break;
      }
      if (read.i32(errnoPtr, 0) !== 4 /* EINTR */) fail("recvmsg");
    }
    const fds: number[] = [];
    const controllen = Number(msg[5]);
    const v = new DataView(cmsg.buffer);
    for (let at = 0; at + 16 <= controllen; ) {
      const len = Number(v.getBigUint64(at, true));
      if (len < 16) break;
      if (v.getInt32(at + 8, true) === 1 && v.getInt32(at + 12, true) === 1 /* SOL_SOCKET, SCM_RIGHTS */)
        for (let p = at + 16; p + 4 <= at + len; p += 4) fds.push(v.getInt32(p, true));
      at += (len + 7) & ~7;
    }
    return { n, fds };
  }

  memfdCreate(name: string, flags: number): number {
    return call("memfd_create", ptr(cstr(name)), flags);
  }

  fcntl(fd: number, cmd: number, arg = 0): number {
    return call("fcntl", fd, cmd, arg);
  }

  dup3(oldfd: number, newfd: number, flags: number): void {
    call("dup3", oldfd, newfd, flags);
  }

  closeRange(first: number, last: number, flags: number): void {
    call("close_range", first, last, flags);
  }

  pidfdOpen(pid: number): number {
    return call("pidfd_open", pid, 0);
  }

  poll(fds: PollFd[], timeoutMs: number): number[] | null {
    const buf = new Int32Array(fds.length * 2);
    fds.forEach((p, i) => {
      buf[2 * i] = p.fd;
      buf[2 * i + 1] = p.events;
    });
    // ppoll with a NULL timeout waits forever, as poll's -1 does.
    const ts = timeoutMs < 0 ? null : new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1_000_000)]);
    for (;;) {
      const n = libc.symbols.syscall(SYS.ppoll, ptr(buf), fds.length, ts ? ptr(ts) : 0, 0, 8, 0) as number;
      if (n > 0) return fds.map((_, i) => buf[2 * i + 1]! >>> 16);
      if (n === 0) return null;
      if (read.i32(errnoPtr, 0) !== 4 /* EINTR */) fail("poll");
    }
  }

  flock(fd: number, op: number): void {
    call("flock", fd, op);
  }

  execveat(fd: number, argv: string[], envp: string[]): never {
    const keep: Uint8Array[] = [];
    const vec = (list: string[]) => {
      const v = new BigUint64Array(list.length + 1);
      list.forEach((s, i) => {
        const b = cstr(s);
        keep.push(b);
        v[i] = BigInt(ptr(b));
      });
      keep.push(new Uint8Array(v.buffer));
      return v;
    };
    const a = vec(argv);
    const e = vec(envp);
    call("execveat", fd, ptr(cstr("")), ptr(a), ptr(e), AT_EMPTY_PATH);
    throw new Error("execveat returned");
  }
}
