// What create and exec share: the fds the native stages get, spawning the enter stage, the
// handshake up to CHILD_PID, and turning a stage's ERROR frame into the message users see.
import type { Subprocess } from "bun";
import { Channel, ChannelClosed, decodeError } from "../sys/channel.ts";
import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_PATH, O_WRONLY, SIGNALS } from "../sys/constants.ts";
import type { Cgroup } from "../cgroups/index.ts";
import type { CgroupJoinFds } from "./namespaces.ts";
import { describe, errnoName, hasCode } from "../sys/errors.ts";
import { exists } from "../sys/files.ts";
import { strerror } from "../sys/linux.ts";
import { ChildJoined, Msg, NativeOp } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { SPEC_VERSION } from "../../spec/version.ts";
import { ContainerError } from "./state.ts";

/**
 * The fds a child stage starts with, by number: stdio, then the fds passed into the container
 * (3..), then whatever `add` places. Bun.spawn puts stdio[i] at fd i and clears FD_CLOEXEC on each.
 */
export class ChildFds {
  readonly stdio: (number | "inherit")[] = ["inherit", "inherit", "inherit"];

  constructor(readonly passed: number) {
    for (let fd = 3; fd < 3 + passed; fd++) {
      if (!exists(`/proc/self/fd/${fd}`)) throw new ContainerError(`--preserve-fds: fd ${fd} is not open`);
      this.stdio.push(fd);
    }
  }

  /** Places fd in the child; returns its number there. */
  add(fd: number): number {
    return this.stdio.push(fd) - 1;
  }
}

/** systemd socket activation (sd_listen_fds): fds 3.. are for us when LISTEN_PID is our pid. */
export function listenFds(): number {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  return n > 0 && Number(process.env.LISTEN_PID) === process.pid ? n : 0;
}

/** Runs the native enter stage from the helper memfd (at `helper` in the child). */
export function spawnEnter(fds: ChildFds, helper: number, sync: number): Subprocess {
  return Bun.spawn([`/proc/self/fd/${helper}`, "enter", String(sync)], {
    stdio: fds.stdio as never,
    env: {},
    argv0: "tsrun",
  });
}

/**
 * The cgroup files through which the enter stage's child joins the container's cgroup by
 * itself, opened here and placed in the child's fds.
 */
export function openCgroupJoin(sys: Sys, cg: Cgroup, child: ChildFds, keep: (fd: number) => number): CgroupJoinFds {
  const t = cg.joinTargets();
  const tasks = t.tasks.map((file) => child.add(keep(sys.openat(AT_FDCWD, file, O_WRONLY | O_CLOEXEC))));
  if (t.cgroup2 === undefined) return { tasks };
  return { tasks, cgroup2: child.add(keep(sys.openat(AT_FDCWD, t.cgroup2, O_PATH | O_DIRECTORY | O_CLOEXEC))) };
}

export interface Child {
  /** Host pid. */
  pid: number;
  /** Forked straight into the cgroup2 directory (else the host still moves it there). */
  inCgroup2: boolean;
  /** A pidfd of it, taken by the enter stage before the child could exit (the caller closes it). */
  pidfd?: number;
}

/** Frames up to CHILD_PID: the id-map handshake when a user namespace is made. */
export async function awaitChild(chan: Channel, enter: Subprocess, onUserns: () => void, onMoveMe?: () => void): Promise<Child> {
  try {
    for (;;) {
      const f = recv(chan);
      if (f.type === Msg.USERNS_READY) {
        onUserns();
        chan.send(Msg.USERNS_MAPPED);
      } else if (f.type === Msg.MOVE_ME && onMoveMe) {
        onMoveMe();
        chan.send(Msg.MOVED);
      } else if (f.type === Msg.CHILD_PID) {
        const view = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
        return { pid: view.getInt32(0, true), inCgroup2: (view.getUint32(4, true) & ChildJoined.CGROUP2) !== 0, pidfd: chan.fds.shift() };
      } else {
        throw new ContainerError(`unexpected message ${f.type} from the enter stage`);
      }
    }
  } catch (e) {
    if (e instanceof ContainerError && e.message === CLOSED) {
      const code = await enter.exited;
      throw new ContainerError(`the enter stage exited with status ${code} before the container started`);
    }
    throw e;
  }
}

const CLOSED = "the container process exited before it was ready";

/** The next frame; an ERROR frame or a closed channel becomes the error the stage reported. */
export function recv(chan: Channel) {
  let f;
  try {
    f = chan.recv();
  } catch (e) {
    if (e instanceof ChannelClosed) throw new ContainerError(CLOSED);
    throw e;
  }
  if (f.type !== Msg.ERROR) return f;
  const { errno, op } = decodeError(f.payload);
  throw new ContainerError(nativeMessage(errno, op));
}

export interface ReadyHandlers {
  /** HOOK: run the host's hooks of that moment; HOOK_DONE follows. */
  hook?(name: string): Promise<void>;
  /** SECCOMP_FD: the seccomp notify fd, for the listener. */
  seccompFd?(fd: number): void;
}

/** Waits for READY, serving what the stage asks for first. */
export async function awaitReady(chan: Channel, on: ReadyHandlers): Promise<void> {
  for (;;) {
    const f = recv(chan);
    if (f.type === Msg.READY) return;
    if (f.type === Msg.HOOK && on.hook) {
      await on.hook(new TextDecoder().decode(f.payload));
      chan.send(Msg.HOOK_DONE);
      continue;
    }
    if (f.type === Msg.SECCOMP_FD && on.seccompFd && chan.fds.length) {
      on.seccompFd(chan.fds.shift()!);
      continue;
    }
    throw new ContainerError(`unexpected message ${f.type} from the container`);
  }
}

/**
 * linux.seccomp.listenerPath: one connection per notify fd, carrying the container process
 * state (JSON) and the fd as SCM_RIGHTS (runtime-spec, "The Container Process State").
 */
export function sendToListener(sys: Sys, path: string, fd: number, pid: number, metadata: string | undefined, state: object): void {
  try {
    const sock = sys.connectUnix(path);
    try {
      const body = { ociVersion: SPEC_VERSION, fds: ["seccompFd"], pid, ...(metadata ? { metadata } : {}), state };
      sys.sendFd(sock, fd, JSON.stringify(body));
    } finally {
      sys.close(sock);
    }
  } catch (e) {
    throw new ContainerError(`linux.seccomp.listenerPath "${path}": ${describe(e)}`);
  } finally {
    sys.close(fd);
  }
}

/**
 * Work on the stage's process (moving it into its cgroup, say) that fails because the stage has
 * died meanwhile reports why it died, if it said so: its ERROR frame is already waiting then.
 */
export function reportStageFirst(sys: Sys, chan: Channel, work: () => void): void {
  try {
    work();
  } catch (e) {
    if (sys.poll([{ fd: chan.fd, events: 1 /* POLLIN */ }], 0) !== null) recv(chan);
    throw e;
  }
}

/** A send to a stage that has died (EPIPE) reports why it died, from its ERROR frame. */
export function sendOrReport(chan: Channel, send: () => void): void {
  try {
    send();
  } catch (e) {
    if (hasCode(e, "EPIPE", "ECONNRESET")) recv(chan);
    throw e;
  }
}

/** Turns a native stage's (errno, operation) into the message users see. */
export function nativeMessage(errno: number, op: string): string {
  if (errno === 0) return op;
  const arg = (prefix: string) => (op.startsWith(`${prefix} `) ? op.slice(prefix.length + 1) : null);
  const lookup = arg(NativeOp.LOOKUP);
  // Worded as runc words them: podman maps "executable file not found in" and "no such file or
  // directory" to exit status 127, "permission denied" to 126.
  if (lookup !== null && errno === 2 && !lookup.includes("/")) return `exec: "${lookup}": executable file not found in $PATH`;
  if (lookup !== null) return `exec: "${lookup}": ${strerror(errno)}`;
  const cwd = arg(NativeOp.CWD_UNREACHABLE);
  if (cwd !== null) return `process.cwd "${cwd}" is outside the container's root`;
  const rlimit = arg("rlimit");
  if (rlimit !== null) {
    const hint = errno === 1 ? " (raising a hard limit above the current one needs CAP_SYS_RESOURCE)" : "";
    return `process.rlimits ${rlimit}: ${errnoName(errno)}: ${strerror(errno)}${hint}`;
  }
  return `${op}: ${errnoName(errno)}: ${strerror(errno)}`;
}

export function killQuietly(sys: Sys, pid: number): void {
  try {
    sys.kill(pid, SIGNALS.SIGKILL!);
  } catch (e) {
    if (!hasCode(e, "ESRCH")) throw e;
  }
}

/** Waits (bounded) until pid is gone; it need not be our child. */
export async function waitGone(sys: Sys, pid: number, timeoutMs = 10_000): Promise<boolean> {
  let pidfd: number;
  try {
    pidfd = sys.pidfdOpen(pid);
  } catch {
    return true;
  }
  try {
    return sys.poll([{ fd: pidfd, events: 1 }], timeoutMs) !== null;
  } finally {
    sys.close(pidfd);
  }
}

/** Runs `undo` steps in reverse; a failing step does not stop the others. */
export class Undo {
  private steps: [string, () => void][] = [];
  push(what: string, step: () => void): void {
    this.steps.push([what, step]);
  }
  run(): string[] {
    const failures: string[] = [];
    for (const [what, step] of this.steps.reverse()) {
      try {
        step();
      } catch (e) {
        failures.push(`${what}: ${describe(e)}`);
      }
    }
    this.steps = [];
    return failures;
  }
}

/** Sends a pidfd of pid over a unix socket (runc's --pidfd-socket). */
/** --pidfd-socket: the enter stage's pidfd of the process (see Child.pidfd), over SCM_RIGHTS. */
export function sendPidfd(sys: Sys, socket: string, pidfd: number | undefined): void {
  try {
    if (pidfd === undefined) throw new Error("no pidfd of the process (the kernel refused pidfd_open)");
    const sock = sys.connectUnix(socket);
    try {
      sys.sendFd(sock, pidfd, "pidfd");
    } finally {
      sys.close(sock);
    }
  } catch (e) {
    throw new ContainerError(`--pidfd-socket "${socket}": ${describe(e)}`);
  }
}
