// The one protocol between the host (`tsrun create|run|exec`), the native helper stages and
// `tsrun init`. Every byte that crosses a process boundary during create is declared here;
// scripts/gen-protocol-h.ts turns the constants into native/build/protocol.h so C and TS cannot
// drift apart.
//
//   host (Bun)                 enter (C)                 init (Bun)             exec (C)
//   ──────────                 ─────────                 ──────────             ────────
//   mkdir cgroup, limits
//   spawn enter ─────────────▶ (waits for its plan)
//   ENTER_PLAN ──────────────▶ setns joins (user first)
//                              unshare(USER)?
//              ◀────────────── USERNS_READY
//   write uid_map/gid_map
//   USERNS_MAPPED ───────────▶ unshare(rest), timens offsets, fork ─┐
//                              (clone3 into the cgroup2 dir; child  │
//                              writes "0" to each v1 tasks file)    │
//              ◀────────────── CHILD_PID (host pid, joined flags)   │
//                              releases the child ─────────────────▶│ (it execs only then, so
//   oom_score_adj ← value      exits (create) / waits (run, exec)   ▼  its frames come after)
//                                                        execveat(tsrun) init
//   INIT_PLAN (JSON) ──────────────────────────────────▶ rootfs, mounts, …
//   cgroup.procs ← child pid (only where the child could not join itself)
//   JOINED ────────────────────────────────────────────▶ (awaited before a cgroup namespace
//                                                         or anything of the container runs)
//                                                        pivot_root, …
//              ◀────────────────────────────────────── HOOK (createRuntime, …)
//   runs the hook, HOOK_DONE ──────────────────────────▶
//                                                        execveat(helper) ─────▶ reads EXEC plan
//                                                                                (memfd), drops
//                                                                                privileges
//              ◀─────────────────────────────────────────────────────────────── READY
//   state.json written, create returns                                           waits on the exec
//                                                                                fifo (`start`),
//                                                                                seccomp, execve
//
// Any stage may send ERROR instead and exit; every read fails with EOF when the other side is
// gone, so nothing waits forever. Frames: u32 type, u32 payload length, payload (host byte order).
// Plans are sequences of records: u16 tag, u16 zero, u32 length, payload.

export const Msg = {
  ENTER_PLAN: 1,
  USERNS_READY: 2,
  USERNS_MAPPED: 3,
  CHILD_PID: 4,
  INIT_PLAN: 5,
  READY: 6,
  ERROR: 7,
  HOOK: 8,
  HOOK_DONE: 9,
  JOINED: 10,
  /** exec stage → host: the seccomp notify fd (SCM_RIGHTS), for linux.seccomp.listenerPath. */
  SECCOMP_FD: 11,
  /** enter → host: could not fork into the cgroup2 directory; move me (my pid) there first. */
  MOVE_ME: 12,
  /** host → enter: moved; fork now. */
  MOVED: 13,
} as const;

/** Records of the enter plan (host → enter stage). */
export const Enter = {
  /** u32 CLONE_NEW* type, then the namespace path; joined in the order given. */
  SETNS: 1,
  /** unshare(CLONE_NEWUSER), then wait for the host to write the id maps. */
  NEWUSER: 2,
  /** u32 clone flags for the other new namespaces, unshared after the user namespace. */
  UNSHARE: 3,
  /** text written to /proc/self/timens_offsets before the fork. */
  TIMENS_OFFSETS: 4,
  /** u32 fd the child execveat()s. */
  EXEC_FD: 5,
  ARG: 6,
  ENV: 7,
  /** stay as the child's parent and exit with its status (run and exec in the foreground). */
  STAY: 8,
  /** the child becomes uid/gid 0 of its user namespace; u32 1 = also setgroups(0, NULL). */
  BECOME_ROOT: 9,
  /** u32 fd of our end of the console socketpair: receive the pty master the exec stage makes
   * and relay it to our stdio (a terminal in the foreground); u32 fd of the child's end, which
   * the enter stage closes after the fork. */
  RELAY: 10,
  /** u32 fd of a cgroup v1 `tasks` file (opened for writing by the host): the child writes "0"
   * to it before it executes anything. */
  CGROUP_TASKS: 11,
  /** u32 fd of a cgroup2 directory: the child is forked straight into it (clone3
   * CLONE_INTO_CGROUP); u32 1 = if the kernel refuses, ask the host to move the enter stage
   * first (MOVE_ME, MOVED: exec, where nothing waits later), 0 = fork anyway and let CHILD_PID
   * say so (create: the host moves the child while init starts, before JOINED). */
  CGROUP2: 12,
} as const;

/** CHILD_PID flags (u32 after the pid). */
export const ChildJoined = {
  /** The child was forked into the CGROUP2 directory. */
  CGROUP2: 1,
} as const;

/** Records of the exec plan (init or host → exec stage). */
export const Exec = {
  ARG: 1,
  ENV: 2,
  CWD: 3,
  UID: 4,
  GID: 5,
  /** u32 array; absent means setgroups() is not called (it is denied in the user namespace). */
  GROUPS: 6,
  UMASK: 7,
  /** u64 × 5: bounding, effective, permitted, inheritable, ambient. */
  CAPS: 8,
  NO_NEW_PRIVS: 9,
  /** u32 seccomp flags, u32 when (Seccomp.*), then struct sock_filter[]. With
   * SECCOMP_FILTER_FLAG_NEW_LISTENER the notify fd goes to the host in a SECCOMP_FD frame. */
  SECCOMP: 10,
  /** u32 O_PATH fd of the exec fifo, u32 procfs fd used to reopen it for writing. */
  FIFO: 12,
  /** u32 number of fds above stdio that pass into the container (LISTEN_FDS + --preserve-fds). */
  PRESERVE_FDS: 13,
  /** u32 socket fd, u32 rows << 16 | cols, u32 bind onto /dev/console: make a pty, send its
   * master over the socket, use it as stdio and controlling terminal. */
  CONSOLE: 14,
  /** setsid() without a terminal. */
  SETSID: 15,
  /** u32 fd of the sync socket for READY and ERROR. */
  SYNC: 16,
  /** u32 resource, u32 zero, u64 soft, u64 hard, then the rlimit's name: setrlimit while root. */
  RLIMIT: 17,
  /** A startContainer hook: u32 timeout (s, 0 = none), u32 argc, u32 envc, then NUL-terminated
   * path, args, env. Run after `start` released the process, before execve. */
  HOOK: 18,
  /** The state JSON the hooks get on stdin. */
  HOOK_STATE: 19,
  /** u32 persona for personality(2). */
  PERSONALITY: 20,
  /** u32 ioprio value for ioprio_set(IOPRIO_WHO_PROCESS, 0, value). */
  IOPRIO: 21,
  /** struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes) for sched_setattr(0, attr, 0). */
  SCHED: 22,
  /** u32 mode|flags, then the node mask (unsigned longs) for set_mempolicy(2). */
  MEMPOLICY: 23,
  /** CPU mask for sched_setaffinity(0, …) right before execve (execCPUAffinity.final). */
  AFFINITY: 24,
  /** u32 procfs fd, then "apparmor" or "selinux", NUL, then the value written to the process's
   * attr/exec file (the label the execve takes on). */
  LSM: 25,
} as const;

/** First byte the exec stage writes to the exec fifo: the process will run, or the start failed
 * (followed by an ERROR payload: i32 errno, text). */
export const FIFO_OK = 0x30; // "0", as runc writes it
export const FIFO_FAILED = 0x31;

/** When the exec stage installs the seccomp filter. */
export const SeccompWhen = {
  /** right before execve: the fewest syscalls after it (needs no_new_privs). */
  LATE: 0,
  /** before privileges are dropped: without no_new_privs the filter needs CAP_SYS_ADMIN. */
  EARLY: 1,
  /** right before READY, so the notify fd still reaches the host. */
  BEFORE_READY: 2,
} as const;

/** Error "ops" the native stages report that the host turns into specific messages. */
export const NativeOp = {
  LOOKUP: "lookup",
  CWD_UNREACHABLE: "cwd-unreachable",
} as const;

export const FRAME_HEADER = 8;
export const RECORD_HEADER = 8;

/** Builds a plan: a flat sequence of records the native stages parse with one loop. */
export class PlanWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(tag: number, payload: Uint8Array): this {
    const head = new DataView(new ArrayBuffer(RECORD_HEADER));
    head.setUint16(0, tag, true);
    head.setUint32(4, payload.byteLength, true);
    this.chunks.push(new Uint8Array(head.buffer), payload);
    this.size += RECORD_HEADER + payload.byteLength;
    return this;
  }

  flag(tag: number): this {
    return this.push(tag, new Uint8Array(0));
  }

  /** Strings travel NUL-terminated so C can use them in place. */
  str(tag: number, value: string): this {
    const bytes = new TextEncoder().encode(value + "\0");
    if (bytes.indexOf(0) !== bytes.byteLength - 1) throw new Error(`string contains a NUL byte: ${JSON.stringify(value)}`);
    return this.push(tag, bytes);
  }

  u32(tag: number, ...values: number[]): this {
    const view = new DataView(new ArrayBuffer(4 * values.length));
    values.forEach((v, i) => view.setUint32(4 * i, v, true));
    return this.push(tag, new Uint8Array(view.buffer));
  }

  u64(tag: number, ...values: bigint[]): this {
    const view = new DataView(new ArrayBuffer(8 * values.length));
    values.forEach((v, i) => view.setBigUint64(8 * i, v, true));
    return this.push(tag, new Uint8Array(view.buffer));
  }

  bytes(tag: number, head: Uint8Array, body: Uint8Array): this {
    const all = new Uint8Array(head.byteLength + body.byteLength);
    all.set(head, 0);
    all.set(body, head.byteLength);
    return this.push(tag, all);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, payload.byteLength, true);
  out.set(payload, FRAME_HEADER);
  return out;
}

export interface Frame {
  type: number;
  payload: Uint8Array;
}

/** ERROR payload: i32 errno, then the failed operation as text. */
export function decodeError(payload: Uint8Array): { errno: number; op: string } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const errno = payload.byteLength >= 4 ? view.getInt32(0, true) : 0;
  const op = new TextDecoder().decode(payload.subarray(4)).replace(/\0+$/, "");
  return { errno, op };
}

export function encodeError(errno: number, op: string): Uint8Array {
  const text = new TextEncoder().encode(op);
  const out = new Uint8Array(4 + text.byteLength);
  new DataView(out.buffer).setInt32(0, errno, true);
  out.set(text, 4);
  return out;
}
