// `create` on the host: validate, decide, make the cgroup and state, and drive the native enter
// stage and `tsrun init` through the protocol (runtime/sys/protocol.ts) until the container's
// pid 1 waits on the exec fifo. All or nothing: any failure undoes what was made.
import type { Subprocess } from "bun";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { Spec } from "../../spec/schema.ts";
import { SPEC_VERSION } from "../../spec/version.ts";
import type { Cgroup, Layout } from "../cgroups/index.ts";
import { Channel, ChannelClosed, decodeError, frameJSON } from "../sys/channel.ts";
import { AT_FDCWD, MNT_DETACH, O_CLOEXEC, O_PATH, S_IFIFO, SIGNALS } from "../sys/constants.ts";
import { describe, errnoName, hasCode, wrap } from "../sys/errors.ts";
import type { InitPlan, ProcessPlan } from "../sys/init_plan.ts";
import { strerror } from "../sys/linux.ts";
import { openProc, procStat, writeProc } from "../sys/proc.ts";
import { Msg, NativeOp } from "../sys/protocol.ts";
import { trace } from "../sys/trace.ts";
import type { Sys } from "../sys/sys.ts";
import { helperMemfd, selfExec } from "./binaries.ts";
import { cgroupMountOps, containerCgroupPaths, createContainerCgroup, hostLayout } from "./cgroup_setup.ts";
import { loadBundle } from "./config.ts";
import { idMapText, planEnter } from "./namespaces.ts";
import { type Grantable, planInit } from "./plan.ts";
import { checkId, closeQuietly, type ContainerState, ContainerError, StateStore, writePidFile } from "./state.ts";

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** Receives a pidfd of the container's process (SCM_RIGHTS), as runc's --pidfd-socket. */
  pidfdSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** `run` without --detach: no exec fifo, and the enter stage stays to report the exit status. */
  foreground: boolean;
  systemdCgroup: boolean;
  rootless: boolean;
  warn(message: string): void;
}

export interface Created {
  state: ContainerState;
  /** The enter stage; in the foreground it exits with the container's status. */
  enter: Subprocess;
  cgroup: Cgroup;
}

/** Runs `undo` steps in reverse; a failing step does not stop the others. */
class Undo {
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

export async function createContainer(sys: Sys, o: CreateOptions): Promise<Created> {
  const id = checkId(o.id);
  const bundle = loadBundle(o.bundle);
  const { config } = bundle;
  const terminal = config.process?.terminal === true;
  if (terminal && !o.foreground && !o.consoleSocket)
    throw new ContainerError("cannot allocate a tty when tsrun detaches without --console-socket");
  if (o.consoleSocket && (!terminal || o.foreground))
    throw new ContainerError("cannot use --console-socket when process.terminal is false or tsrun does not detach");
  if (terminal && o.foreground) throw new ContainerError("process.terminal in the foreground: not supported by tsrun yet");
  if (o.systemdCgroup) throw new ContainerError("--systemd-cgroup: not supported (tsrun has no systemd cgroup driver)");

  const store = new StateStore(o.root);
  const lock = store.reserve(sys, id);
  const undo = new Undo();
  undo.push("remove state directory", () => store.remove(id));
  const fds: number[] = [lock];
  let enter: Subprocess | undefined;
  let pid = 0;
  try {
    trace("config loaded");
    const layout = hostLayout();
    const cgroupPaths = containerCgroupPaths(layout, id, config);

    // Fds the child stages get, at these numbers: stdio, then the fds passed to the container,
    // then ours. Bun.spawn puts stdio[i] at fd i and clears FD_CLOEXEC on each.
    const listen = listenFds();
    const passed = listen + o.preserveFds;
    for (let fd = 3; fd < 3 + passed; fd++) {
      if (!existsSync(`/proc/self/fd/${fd}`)) throw new ContainerError(`--preserve-fds: fd ${fd} is not open`);
    }
    const childFds: (number | "inherit")[] = ["inherit", "inherit", "inherit"];
    for (let fd = 3; fd < 3 + passed; fd++) childFds.push(fd);
    const at = (fd: number) => childFds.push(fd) - 1;

    const [hostEnd, childEnd] = sys.socketpair();
    fds.push(hostEnd, childEnd);
    const helper = helperMemfd(sys);
    fds.push(helper);
    const self = selfExec(sys, ["init"]);
    fds.push(self.fd);
    let fifo = -1;
    if (!o.foreground) {
      sys.mknodat(AT_FDCWD, store.fifo(id), S_IFIFO | 0o622, 0, 0);
      // The container's root opens it for writing: it owns it, whatever the umask made the mode.
      sys.fchownat(AT_FDCWD, store.fifo(id), hostId(config.linux?.uidMappings), hostId(config.linux?.gidMappings), 0);
      sys.fchmodat(AT_FDCWD, store.fifo(id), 0o622);
      fifo = sys.openat(AT_FDCWD, store.fifo(id), O_PATH | O_CLOEXEC);
      fds.push(fifo);
    }
    let consoleSock = -1;
    if (o.consoleSocket) {
      consoleSock = sys.connectUnix(o.consoleSocket);
      fds.push(consoleSock);
    }
    const child = {
      sync: at(childEnd),
      helper: at(helper),
      self: at(self.fd),
      fifo: fifo >= 0 ? at(fifo) : -1,
      console: consoleSock >= 0 ? at(consoleSock) : -1,
    };

    const seccomp = await compileFilter(config, o.warn);
    const procfd = openProc(sys);
    fds.push(procfd);
    const plan = planInit({
      id,
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      config,
      noPivot: o.noPivot,
      noNewKeyring: o.noNewKeyring,
      preserveFds: passed,
      extraEnv: listen ? [`LISTEN_FDS=${listen}`, "LISTEN_PID=1"] : [],
      console: consoleSock >= 0,
      fds: { sync: child.sync, helper: child.helper, fifo: child.fifo, console: child.console },
      cgroupMounts: (m) => cgroupMountOps(layout, cgroupPaths, m, namespaceNew(config, "cgroup")),
      sourceKind,
      grantable: grantable(),
      hasKcore: existsSync("/proc/kcore"),
      seccomp,
      warn: o.warn,
    });
    const enterPlan = planEnter(config, {
      execFd: child.self,
      argv: [...self.argv, String(child.sync)],
      env: [],
      stay: o.foreground,
      setgroupsDenied: false,
    });

    trace("planned");
    enter = Bun.spawn([`/proc/self/fd/${child.helper}`, "enter", String(child.sync)], {
      stdio: childFds as never,
      env: {},
      argv0: "tsrun",
    });
    const spawned = enter;
    if (!plan.newMountNs) {
      // init mounts straight into the host's namespace then, all below the rootfs bind.
      undo.push("detach the rootfs mounts", () => {
        try {
          sys.umount2(bundle.rootfs, MNT_DETACH);
        } catch (e) {
          if (!hasCode(e, "EINVAL", "ENOENT")) throw e;
        }
      });
    }
    undo.push("kill the enter stage", () => killQuietly(sys, spawned.pid));
    sys.close(childEnd);
    fds.splice(fds.indexOf(childEnd), 1);

    const chan = new Channel(sys, hostEnd);
    chan.send(Msg.ENTER_PLAN, enterPlan.bytes);
    // The cgroup is made, and the container's process moved into it, while the enter stage
    // works and init starts and builds the rootfs: on cgroup v1 the first move into a cgroup
    // waits for an RCU grace period (~10 ms here), which this overlaps with that work. Init
    // waits for JOINED before it makes a cgroup namespace (whose root must be this cgroup) and
    // before anything of the container runs.
    trace("enter stage spawned");
    const cgroup = createContainerCgroup(layout, cgroupPaths, config);
    trace("cgroup made");
    undo.push("remove cgroup", () => cgroup.destroy());
    pid = await handshake(sys, chan, procfd, config, enter);
    const containerPid = pid;
    undo.push("kill the container process", () => killQuietly(sys, containerPid));
    // Taken while the process surely lives: it waits for INIT_PLAN. (In the foreground it may
    // have run and exited by the time READY arrives.)
    const st = procStat(pid);
    if (!st) throw new ContainerError("the container process exited during create");
    const oom = config.process?.oomScoreAdj;
    if (oom !== undefined) writeProc(sys, procfd, `${pid}/oom_score_adj`, String(oom));
    sendOrReport(chan, () => chan.sendJSON(Msg.INIT_PLAN, plan satisfies InitPlan));
    trace("init plan sent");
    cgroup.addProcess(pid);
    trace("cgroup joined");
    sendOrReport(chan, () => chan.send(Msg.JOINED));
    for (;;) {
      const f = recv(chan);
      if (f.type === Msg.READY) break;
      throw new ContainerError(`unexpected message ${f.type} from the container`);
    }

    trace("ready");
    const state: ContainerState = {
      ociVersion: SPEC_VERSION,
      id,
      pid,
      pidStart: st.startTime,
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: config.annotations,
      config,
      cgroup: { paths: cgroup.paths as never, created: [...cgroup.created], layout: layout as Layout },
      systemdCgroup: o.systemdCgroup,
      rootless: o.rootless,
    };
    store.write(state);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    if (o.pidfdSocket) sendPidfd(sys, o.pidfdSocket, pid);
    for (const fd of fds) closeQuietly(sys, fd);
    return { state, enter, cgroup };
  } catch (err) {
    const failures = undo.run();
    for (const fd of fds) closeQuietly(sys, fd);
    if (enter) await enter.exited;
    if (pid) await waitGone(sys, pid);
    const e = wrap(`create container "${id}"`, err);
    if (failures.length) (e as Error).message += ` (cleanup failed: ${failures.join("; ")})`;
    throw e;
  }
}

/** linux.seccomp → the BPF program for the exec stage (compiled here, before anything exists). */
async function compileFilter(config: Spec, warn: (m: string) => void): Promise<ProcessPlan["seccomp"]> {
  const s = config.linux?.seccomp;
  if (!s) return null;
  const { compileSeccomp } = await import("../seccomp/seccomp.ts");
  const { program, flags, needsListener } = compileSeccomp(s, {
    nativeArch: process.arch === "arm64" ? "aarch64" : "x86_64",
    debug: (m) => warn(m),
  });
  if (needsListener) throw new ContainerError("linux.seccomp: SCMP_ACT_NOTIFY (listenerPath) is not supported by tsrun yet");
  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: it goes in before the
  // capabilities are dropped. With it, as late as possible (right before execve).
  return { flags, program: Buffer.from(program).toString("base64"), early: config.process?.noNewPrivileges !== true };
}

function sendPidfd(sys: Sys, socket: string, pid: number): void {
  const pidfd = sys.pidfdOpen(pid);
  try {
    const sock = sys.connectUnix(socket);
    try {
      sys.sendFd(sock, pidfd, "pidfd");
    } finally {
      sys.close(sock);
    }
  } catch (e) {
    throw wrap(`--pidfd-socket "${socket}"`, e);
  } finally {
    sys.close(pidfd);
  }
}

function grantable(): Grantable {
  const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return { capLast: Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8")), bounding: BigInt(`0x${bounding}`) };
}

/** The host id that id 0 of the container maps to (0 without a user namespace). */
function hostId(maps: readonly { containerID: number; hostID: number; size: number }[] | undefined): number {
  const m = (maps ?? []).find((r) => r.containerID === 0 && r.size > 0);
  return m ? m.hostID : 0;
}

function namespaceNew(config: Spec, type: string): boolean {
  return (config.linux?.namespaces ?? []).some((n) => n.type === type && !n.path);
}

function sourceKind(path: string): "dir" | "file" | null {
  try {
    return statSync(path).isDirectory() ? "dir" : "file";
  } catch {
    return null;
  }
}

/** systemd socket activation (sd_listen_fds): fds 3.. are for us when LISTEN_PID is our pid. */
function listenFds(): number {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  return n > 0 && Number(process.env.LISTEN_PID) === process.pid ? n : 0;
}

async function handshake(sys: Sys, chan: Channel, procfd: number, config: Spec, enter: Subprocess): Promise<number> {
  try {
    for (;;) {
      const f = recv(chan);
      if (f.type === Msg.USERNS_READY) {
        writeIdMaps(sys, procfd, enter.pid, config);
        chan.send(Msg.USERNS_MAPPED);
      } else if (f.type === Msg.CHILD_PID) {
        return new DataView(f.payload.buffer, f.payload.byteOffset).getInt32(0, true);
      } else {
        throw new ContainerError(`unexpected message ${f.type} from the enter stage`);
      }
    }
  } catch (e) {
    if (e instanceof ChannelClosed) {
      const code = await enter.exited;
      throw new ContainerError(`the enter stage exited with status ${code} before the container started`);
    }
    throw e;
  }
}

function writeIdMaps(sys: Sys, procfd: number, pid: number, config: Spec): void {
  // The host writes the maps (it holds CAP_SETUID/CAP_SETGID over the parent namespace), through
  // the checked procfs handle. A privileged writer needs no setgroups=deny.
  writeProc(sys, procfd, `${pid}/uid_map`, idMapText(config.linux?.uidMappings));
  writeProc(sys, procfd, `${pid}/gid_map`, idMapText(config.linux?.gidMappings));
}

/** A send to a stage that has died (EPIPE) reports why it died, from its ERROR frame. */
function sendOrReport(chan: Channel, send: () => void): void {
  try {
    send();
  } catch (e) {
    if (hasCode(e, "EPIPE", "ECONNRESET")) recv(chan);
    throw e;
  }
}

/** The next frame; an ERROR frame or a closed channel becomes the error the stage reported. */
export function recv(chan: Channel) {
  let f;
  try {
    f = chan.recv();
  } catch (e) {
    if (e instanceof ChannelClosed) throw new ContainerError("the container process exited before it was ready");
    throw e;
  }
  if (f.type !== Msg.ERROR) return f;
  const { errno, op } = decodeError(f.payload);
  throw new ContainerError(nativeMessage(errno, op));
}

/** Turns a native stage's (errno, operation) into the message users see. */
export function nativeMessage(errno: number, op: string): string {
  if (errno === 0) return op;
  const lookup = op.startsWith(`${NativeOp.LOOKUP} `) ? op.slice(NativeOp.LOOKUP.length + 1) : null;
  // Worded as runc words them: podman maps "executable file not found in" and "no such file or
  // directory" to exit status 127, "permission denied" to 126.
  if (lookup !== null && errno === 2 && !lookup.includes("/")) return `exec: "${lookup}": executable file not found in $PATH`;
  if (lookup !== null) return `exec: "${lookup}": ${strerror(errno)}`;
  if (op.startsWith(`${NativeOp.CWD_UNREACHABLE} `))
    return `process.cwd "${op.slice(NativeOp.CWD_UNREACHABLE.length + 1)}" is outside the container's root`;
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
