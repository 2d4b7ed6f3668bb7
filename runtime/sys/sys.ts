// THE kernel seam. Everything in tsrun that changes kernel state (mounts, namespaces, devices,
// processes, fds) goes through a Sys object passed in as a parameter; linux.ts is the real one,
// fake.ts records calls for unit tests. Methods are named after the syscalls they make and throw
// SyscallError on failure.

export interface Stat {
  mode: number;
  uid: number;
  gid: number;
  ino: bigint;
  size: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
}

export interface MountAttr {
  set?: number;
  clr?: number;
  propagation?: number;
  usernsFd?: number;
}

export interface PollFd {
  fd: number;
  events: number;
}

export interface Sys {
  openat(dirfd: number, path: string, flags: number, mode?: number): number;
  /** openat2(2): `resolve` is RESOLVE_* (RESOLVE_IN_ROOT keeps the lookup inside dirfd). */
  openat2(dirfd: number, path: string, flags: number, resolve: number, mode?: number): number;
  close(fd: number): void;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
  /** statx of dirfd/path; an empty path with AT_EMPTY_PATH stats the fd itself. */
  statx(dirfd: number, path: string, flags: number): Stat;
  /** f_type of the filesystem holding fd. */
  fstatfs(fd: number): number;
  mkdirat(dirfd: number, path: string, mode: number): void;
  mknodat(dirfd: number, path: string, mode: number, major: number, minor: number): void;
  symlinkat(target: string, dirfd: number, path: string): void;
  unlinkat(dirfd: number, path: string, flags: number): void;
  fchownat(dirfd: number, path: string, uid: number, gid: number, flags: number): void;
  fchmod(fd: number, mode: number): void;
  fchmodat(dirfd: number, path: string, mode: number): void;
  readlinkat(dirfd: number, path: string): string;
  /** getdents64(2) until the end: the entries of an open directory (without "." and ".."). */
  readdir(fd: number): { name: string; type: number }[];


  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  fsopen(fstype: string, flags: number): number;
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null): void;
  fsmount(fd: number, flags: number, attrs: number): number;
  moveMount(fromDirfd: number, fromPath: string, toDirfd: number, toPath: string, flags: number): void;
  openTree(dirfd: number, path: string, flags: number): number;
  mountSetattr(dirfd: number, path: string, flags: number, attr: MountAttr): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  chroot(path: string): void;

  unshare(flags: number): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  prlimit(resource: number, soft: bigint, hard: bigint): void;
  prctl(option: number, arg2?: number, arg3?: number): number;
  kill(pid: number, signal: number): void;
  schedSetaffinity(pid: number, mask: Uint8Array): void;
  getpid(): number;
  umask(mask: number): number;
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING): a new session keyring named `name`; its serial. */
  joinSessionKeyring(name: string): number;
  /** keyctl(KEYCTL_DESCRIBE): "type;uid;gid;perm;description". */
  describeKey(serial: number): string;
  setKeyPerm(serial: number, perm: number): void;

  socketpair(): [number, number];
  socket(domain: number, type: number, protocol: number): number;
  connectUnix(path: string): number;
  /** sendmsg(2) of `payload` with `fd` attached as SCM_RIGHTS. */
  sendFd(sock: number, fd: number, payload: string): void;
  /** recvmsg(2) into buf; fds that came with the bytes (SCM_RIGHTS), made close-on-exec. */
  recvmsg(sock: number, buf: Uint8Array): { n: number; fds: number[] };
  memfdCreate(name: string, flags: number): number;
  fcntl(fd: number, cmd: number, arg?: number): number;
  dup3(oldfd: number, newfd: number, flags: number): void;
  closeRange(first: number, last: number, flags: number): void;
  pidfdOpen(pid: number): number;
  /** poll(2); returns revents per entry, or null on timeout. */
  poll(fds: PollFd[], timeoutMs: number): number[] | null;
  flock(fd: number, op: number): void;
  execveat(fd: number, argv: string[], envp: string[]): never;
}
