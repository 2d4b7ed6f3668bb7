// The few syscalls cgroup code needs beyond file reads and writes: bpf(2) for cgroup v2 device
// programs, and eventfd/inotify for OOM notifications. Passed in explicitly, so tests use a
// recording fake; kernel_linux.ts is the real one.

/** bpf(2) and the directory fd it attaches to. */
export interface BpfSys {
  /**
   * bpf(cmd, attr, attr.length). Pointer fields of `attr` are given separately, as byte offset →
   * buffer: the implementation stores each buffer's address there (the kernel may write into both
   * `attr` and the buffers). Returns the result (an fd for PROG_LOAD); throws SyscallError.
   */
  bpf(cmd: number, attr: Uint8Array, pointers?: ReadonlyMap<number, Uint8Array>): number;
  /** open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC). */
  openDir(path: string): number;
  close(fd: number): void;
}

export interface CgroupKernel extends BpfSys {
  /** eventfd2(0, EFD_CLOEXEC | EFD_NONBLOCK). */
  eventfd(): number;
  /** inotify_init1(IN_CLOEXEC | IN_NONBLOCK). */
  inotifyInit(): number;
  inotifyAddWatch(fd: number, path: string, mask: number): number;
  /** open(path, O_RDONLY | O_CLOEXEC). */
  openFile(path: string): number;
  /** read(2); 0 when nothing is ready (EAGAIN), which for eventfd and inotify is the only way to get 0. */
  read(fd: number, buf: Uint8Array): number;
}

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_DETACH = 9;
export const BPF_PROG_GET_FD_BY_ID = 13;
export const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;

export const IN_MODIFY = 0x2;
