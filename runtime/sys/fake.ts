// A recording fake of the Sys seam for unit tests: every call is recorded in order, fds are
// handed out from 100 up, and a tiny in-memory tree answers lookups so that code which creates
// what is missing can be driven without root.
import { AT_FDCWD, S_IFCHR, S_IFDIR, S_IFMT, S_IFREG } from "./constants.ts";
import { SyscallError } from "./errors.ts";
import type { MountAttr, PollFd, Stat, Sys } from "./sys.ts";

export type Call = [string, ...unknown[]];

const ERRNO: Record<string, number> = { ENOENT: 2, EEXIST: 17, EPERM: 1, EINVAL: 22 };

export function fakeError(code: keyof typeof ERRNO, syscall: string, path?: string): SyscallError {
  return new SyscallError(syscall, ERRNO[code]!, code.toLowerCase(), path);
}

interface Node {
  mode: number;
  rdev?: [number, number];
}

export class FakeSys implements Sys {
  readonly calls: Call[] = [];
  /** Paths (absolute, within the fake tree) that exist, with their mode. */
  readonly tree = new Map<string, Node>([["/", { mode: S_IFDIR | 0o755 }]]);
  /** Throw from a named call: return an error to throw, or undefined to let it run. */
  failOn: (name: string, args: unknown[]) => Error | undefined = () => undefined;
  private nextFd = 100;
  private readonly fdPath = new Map<number, string>();

  constructor(paths: Record<string, number | Node> = {}) {
    for (const [p, v] of Object.entries(paths)) this.tree.set(p, typeof v === "number" ? { mode: v } : v);
  }

  private rec(name: string, ...args: unknown[]): void {
    this.calls.push([name, ...args]);
    const e = this.failOn(name, args);
    if (e) throw e;
  }

  /** Calls by name, without their arguments: for order assertions. */
  names(): string[] {
    return this.calls.map((c) => c[0]);
  }

  private fd(path: string): number {
    const fd = this.nextFd++;
    this.fdPath.set(fd, path);
    return fd;
  }

  pathOf(fd: number): string {
    return this.fdPath.get(fd) ?? `<fd ${fd}>`;
  }

  private resolve(dirfd: number, path: string): string {
    if (path.startsWith("/")) return normalize(path);
    const base = dirfd === AT_FDCWD ? "/" : this.pathOf(dirfd);
    return normalize(`${base}/${path}`);
  }

  openat(dirfd: number, path: string, flags: number, mode?: number): number {
    this.rec("openat", this.pathOf(dirfd), path, flags, mode);
    const p = this.resolve(dirfd, path);
    if (!this.tree.has(p)) {
      if (flags & 0o100 /* O_CREAT */) this.tree.set(p, { mode: S_IFREG | (mode ?? 0) });
      else throw fakeError("ENOENT", "openat", p);
    }
    return this.fd(p);
  }

  openat2(dirfd: number, path: string, flags: number, resolve: number, mode?: number): number {
    this.rec("openat2", this.pathOf(dirfd), path, flags, resolve, mode);
    // RESOLVE_IN_ROOT: dirfd is "/" of the lookup, so absolute paths start at dirfd too.
    const p = normalize(`${dirfd === AT_FDCWD ? "" : this.pathOf(dirfd)}/${path}`);
    if (!this.tree.has(p)) throw fakeError("ENOENT", "openat2", p);
    return this.fd(p);
  }

  close(fd: number): void {
    this.rec("close", fd);
  }

  read(fd: number, buf: Uint8Array): number {
    this.rec("read", fd, buf.byteLength);
    return 0;
  }

  write(fd: number, buf: Uint8Array): number {
    this.rec("write", fd, new TextDecoder().decode(buf));
    return buf.byteLength;
  }

  statx(dirfd: number, path: string, flags: number): Stat {
    this.rec("statx", this.pathOf(dirfd), path, flags);
    const p = path ? this.resolve(dirfd, path) : this.pathOf(dirfd);
    const n = this.tree.get(p);
    if (!n) throw fakeError("ENOENT", "statx", p);
    return { mode: n.mode, uid: 0, gid: 0, ino: 1n, size: 0, devMajor: 0, devMinor: 0, rdevMajor: n.rdev?.[0] ?? 0, rdevMinor: n.rdev?.[1] ?? 0 };
  }

  fstatfs(fd: number): number {
    this.rec("fstatfs", fd);
    return 0x9fa0;
  }

  mkdirat(dirfd: number, path: string, mode: number): void {
    this.rec("mkdirat", this.pathOf(dirfd), path, mode);
    const p = this.resolve(dirfd, path);
    if (this.tree.has(p)) throw fakeError("EEXIST", "mkdirat", p);
    this.tree.set(p, { mode: S_IFDIR | mode });
  }

  mknodat(dirfd: number, path: string, mode: number, major: number, minor: number): void {
    this.rec("mknodat", this.pathOf(dirfd), path, mode, major, minor);
    const p = this.resolve(dirfd, path);
    if (this.tree.has(p)) throw fakeError("EEXIST", "mknodat", p);
    this.tree.set(p, { mode, rdev: [major, minor] });
  }

  symlinkat(target: string, dirfd: number, path: string): void {
    this.rec("symlinkat", target, this.pathOf(dirfd), path);
    const p = this.resolve(dirfd, path);
    if (this.tree.has(p)) throw fakeError("EEXIST", "symlinkat", p);
    this.tree.set(p, { mode: 0o120777 });
  }

  unlinkat(dirfd: number, path: string, flags: number): void {
    this.rec("unlinkat", this.pathOf(dirfd), path, flags);
    const p = this.resolve(dirfd, path);
    if (!this.tree.delete(p)) throw fakeError("ENOENT", "unlinkat", p);
  }

  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void {
    this.rec("fchownat", this.pathOf(dirfd), path, uid, gid, flags);
  }

  fchmod(fd: number, mode: number): void {
    this.rec("fchmod", fd, mode);
  }

  fchmodat(dirfd: number, path: string, mode: number): void {
    this.rec("fchmodat", this.pathOf(dirfd), path, mode);
  }

  readdir(fd: number): { name: string; type: number }[] {
    this.rec("readdir", this.pathOf(fd));
    const dir = this.pathOf(fd);
    return [...this.tree.keys()]
      .filter((p) => p !== dir && p.startsWith(dir === "/" ? "/" : dir + "/") && !p.slice(dir.length + 1).includes("/"))
      .map((p) => ({ name: p.slice(p.lastIndexOf("/") + 1), type: ((this.tree.get(p)!.mode & S_IFMT) >> 12) }));
  }

  readlinkat(dirfd: number, path: string): string {
    this.rec("readlinkat", this.pathOf(dirfd), path);
    const m = /^\/proc\/self\/fd\/(\d+)$/.exec(path);
    return m ? this.pathOf(Number(m[1])) : "";
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    this.rec("mount", source, target, fstype, flags, data);
  }

  umount2(target: string, flags: number): void {
    this.rec("umount2", target, flags);
  }

  fsopen(fstype: string, flags: number): number {
    this.rec("fsopen", fstype, flags);
    return this.fd(`<fs ${fstype}>`);
  }

  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void {
    this.rec("fsconfig", fd, cmd, key, value);
  }

  fsmount(fd: number, flags: number, attrs: number): number {
    this.rec("fsmount", fd, flags, attrs);
    return this.fd(`<mount of ${this.pathOf(fd)}>`);
  }

  moveMount(fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number): void {
    this.rec("moveMount", this.pathOf(fromDirfd), fromPath, this.pathOf(toDirfd), toPath, flags);
  }

  openTree(dirfd: number, path: string, flags: number): number {
    this.rec("openTree", this.pathOf(dirfd), path, flags);
    return this.fd(`<tree ${path || this.pathOf(dirfd)}>`);
  }

  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void {
    this.rec("mountSetattr", this.pathOf(dirfd), path, flags, attr);
  }

  pivotRoot(newRoot: string, putOld: string): void {
    this.rec("pivotRoot", newRoot, putOld);
  }

  chdir(path: string): void {
    this.rec("chdir", path);
  }

  fchdir(fd: number): void {
    this.rec("fchdir", this.pathOf(fd));
  }

  chroot(path: string): void {
    this.rec("chroot", path);
  }

  unshare(flags: number): void {
    this.rec("unshare", flags);
  }

  sethostname(name: string): void {
    this.rec("sethostname", name);
  }

  setdomainname(name: string): void {
    this.rec("setdomainname", name);
  }

  prlimit(resource: number, soft: bigint, hard: bigint): void {
    this.rec("prlimit", resource, soft, hard);
  }

  prctl(option: number, arg2?: number, arg3?: number): number {
    this.rec("prctl", option, arg2, arg3);
    return 0;
  }

  schedSetaffinity(pid: number, mask: Uint8Array): void {
    this.rec("schedSetaffinity", pid, [...mask]);
  }

  kill(pid: number, signal: number): void {
    this.rec("kill", pid, signal);
  }

  getpid(): number {
    return 1;
  }

  umask(mask: number): number {
    this.rec("umask", mask);
    return 0o022;
  }

  joinSessionKeyring(name: string): number {
    this.rec("joinSessionKeyring", name);
    return 1;
  }

  describeKey(serial: number): string {
    this.rec("describeKey", serial);
    return "keyring;0;0;3f010000;_ses";
  }

  setKeyPerm(serial: number, perm: number): void {
    this.rec("setKeyPerm", serial, perm);
  }

  socketpair(): [number, number] {
    this.rec("socketpair");
    return [this.fd("<sock>"), this.fd("<sock>")];
  }

  socket(domain: number, type: number, protocol: number): number {
    this.rec("socket", domain, type, protocol);
    return this.fd(`<socket ${domain}>`);
  }

  connectUnix(path: string): number {
    this.rec("connectUnix", path);
    return this.fd(`<unix ${path}>`);
  }

  sendFd(sock: number, fd: number, payload: string): void {
    this.rec("sendFd", sock, fd, payload);
  }

  recvmsg(sock: number, buf: Uint8Array): { n: number; fds: number[] } {
    this.rec("recvmsg", sock, buf.byteLength);
    return { n: 0, fds: [] };
  }

  memfdCreate(name: string, flags: number): number {
    this.rec("memfdCreate", name, flags);
    return this.fd(`<memfd ${name}>`);
  }

  fcntl(fd: number, cmd: number, arg?: number): number {
    this.rec("fcntl", fd, cmd, arg);
    return 0;
  }

  dup3(oldfd: number, newfd: number, flags: number): void {
    this.rec("dup3", oldfd, newfd, flags);
  }

  closeRange(first: number, last: number, flags: number): void {
    this.rec("closeRange", first, last, flags);
  }

  pidfdOpen(pid: number): number {
    this.rec("pidfdOpen", pid);
    return this.fd(`<pidfd ${pid}>`);
  }

  poll(fds: PollFd[], timeoutMs: number): number[] | null {
    this.rec("poll", fds, timeoutMs);
    return fds.map(() => 1);
  }

  flock(fd: number, op: number): void {
    this.rec("flock", fd, op);
  }

  execveat(fd: number, argv: string[], envp: string[]): never {
    this.rec("execveat", fd, argv, envp);
    throw new Error("execveat (fake)");
  }
}

function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

export const DIR = S_IFDIR | 0o755;
export const FILE = S_IFREG | 0o644;
export const NULL_DEVICE: Node = { mode: S_IFCHR | 0o666, rdev: [1, 3] };
export { S_IFMT };
