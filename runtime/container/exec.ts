// `exec`: another process in a running container. The same native stages as create, without
// init: the enter stage joins every namespace of the container (user first, the pid namespace
// through its fork) from inside the container's cgroup, and its child becomes the exec stage,
// which drops privileges as the process spec says and executes it. Nothing of the host reaches
// the process: no fds beyond stdio and the preserved ones, no host cwd, no host binary.
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import type { Process } from "../../spec/schema.ts";
import { parseProcess } from "../../spec/validate.ts";
import { Channel } from "../sys/channel.ts";
import { AT_FDCWD, MFD_CLOEXEC, O_CLOEXEC, O_DIRECTORY, O_PATH, O_RDONLY, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS } from "../sys/constants.ts";
import { wrap } from "../sys/errors.ts";
import { encodeExecPlan } from "../sys/exec_plan.ts";
import { openProc } from "../sys/proc.ts";
import { hookState } from "../sys/hooks.ts";
import type { ProcessPlan } from "../sys/init_plan.ts";
import { Enter, Msg, PlanWriter } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { helperMemfd } from "./binaries.ts";
import { reopenCgroup } from "./cgroup_setup.ts";
import { compileFilter, grantable } from "./create.ts";
import { SignalForwarder } from "./forward.ts";
import { CLONE_FLAG, cgroupJoinRecords } from "./namespaces.ts";
import { capMask, planRlimits, processEnv } from "./plan.ts";
import { bitmask, planAttrs } from "./process_attrs.ts";
import { awaitChild, awaitReady, ChildFds, killQuietly, openCgroupJoin, sendPidfd, sendToListener, spawnEnter, Undo } from "./stages.ts";
import { canExec, closeQuietly, ContainerError, type ContainerState, StateStore, statusOf, writePidFile } from "./state.ts";

export interface ExecOptions {
  root: string;
  id: string;
  /** --process FILE; otherwise the container's process with the overrides below. */
  processFile?: string;
  args: string[];
  tty?: boolean;
  consoleSocket?: string;
  pidfdSocket?: string;
  cwd?: string;
  env: string[];
  /** "uid[:gid]" */
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  apparmor?: string;
  processLabel?: string;
  preserveFds: number;
  /** A sub-cgroup of the container's to put the process in. */
  cgroup?: string;
  ignorePaused: boolean;
  detach: boolean;
  pidFile?: string;
  warn(message: string): void;
  debug?(message: string): void;
}

// runc's order: the user namespace first; then the others; the mount namespace late (a joined
// mount namespace changes what paths mean), pid last but one (it takes effect at the fork).
const JOIN = ["user", "ipc", "uts", "network", "cgroup", "time", "pid", "mount"] as const;
const PROC_NS: Record<string, string> = { network: "net", mount: "mnt", user: "user", ipc: "ipc", uts: "uts", pid: "pid", cgroup: "cgroup", time: "time" };

export async function execProcess(sys: Sys, o: ExecOptions): Promise<number> {
  const store = new StateStore(o.root);
  const state = store.read(o.id);
  const status = statusOf(store, state);
  if (!canExec(status, o.ignorePaused))
    throw new ContainerError(`cannot exec in container "${o.id}": it is ${status}${status === "paused" ? " (use --ignore-paused)" : ""}`);
  const proc = processSpec(o, state);
  if (proc.terminal && o.detach && !o.consoleSocket) throw new ContainerError("cannot allocate a tty when tsrun detaches without --console-socket");
  if (o.consoleSocket && !proc.terminal) throw new ContainerError("cannot use --console-socket without a terminal (--tty)");

  const undo = new Undo();
  const fds: number[] = [];
  const keep = <T extends number>(fd: T) => (fds.push(fd), fd);
  let enter: Subprocess | undefined;
  const signals = o.detach ? undefined : new SignalForwarder();
  try {
    const child = new ChildFds(o.preserveFds);
    const [hostEnd, childEnd] = sys.socketpair();
    keep(hostEnd);
    keep(childEnd);
    const helper = keep(helperMemfd(sys));
    let consoleSock = -1;
    let relay: [number, number] | undefined;
    if (o.consoleSocket) consoleSock = keep(sys.connectUnix(o.consoleSocket));
    else if (proc.terminal) {
      relay = sys.socketpair();
      keep(relay[0]);
      consoleSock = keep(relay[1]);
    }
    // A procfs handle for the exec stage's LSM label writes: the host's, checked (the
    // container's own /proc could be anything, CVE-2019-16884).
    const procfd = keep(openProc(sys));
    const at = {
      sync: child.add(childEnd),
      helper: child.add(helper),
      console: consoleSock >= 0 ? child.add(consoleSock) : -1,
      relay: relay ? child.add(relay[0]) : -1,
      proc: child.add(procfd),
      plan: -1,
    };
    const plan = await processPlan(sys, state, proc, child.passed, at.console >= 0, o);
    if (setgroupsDenied(state.pid)) {
      if (proc.user.additionalGids?.length) throw new ContainerError("additional gids: setgroups is denied in this container's user namespace");
      plan.groups = null;
    }
    const planFd = keep(sys.memfdCreate("tsrun-exec-plan", MFD_CLOEXEC));
    const bytes = encodeExecPlan(plan, { sync: at.sync, fifo: -1, proc: at.proc, console: at.console });
    for (let w = 0; w < bytes.byteLength; ) w += sys.write(planFd, bytes.subarray(w));
    at.plan = child.add(planFd);

    // The child joins the container's cgroup by itself (see native/helper.c); where the kernel
    // will not fork it into the cgroup2 directory, the enter stage is moved first (MOVE_ME).
    const cg = reopenCgroup(state.cgroup.layout as never, subCgroup(state.cgroup.paths as never, o.cgroup), []);
    const joinFds = { ...openCgroupJoin(sys, cg, child, keep), ask: true };
    const enterPlan = new PlanWriter();
    const joined = (state.config.linux?.namespaces ?? []).map((n) => n.type);
    for (const t of JOIN) {
      if (!joined.includes(t)) continue;
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, CLONE_FLAG[t]!, true);
      enterPlan.bytes(Enter.SETNS, head, new TextEncoder().encode(`/proc/${state.pid}/ns/${PROC_NS[t]}\0`));
    }
    if (joined.includes("user")) enterPlan.u32(Enter.BECOME_ROOT, setgroupsDenied(state.pid) ? 0 : 1);
    enterPlan.u32(Enter.EXEC_FD, at.helper);
    for (const a of ["tsrun", "init", String(at.plan)]) enterPlan.str(Enter.ARG, a);
    if (!o.detach) enterPlan.flag(Enter.STAY);
    if (relay) enterPlan.u32(Enter.RELAY, at.relay, at.console);
    cgroupJoinRecords(enterPlan, joinFds);

    enter = spawnEnter(child, at.helper, at.sync);
    const spawned = enter;
    undo.push("kill the enter stage", () => killQuietly(sys, spawned.pid));
    for (const fd of [childEnd, ...(relay ?? [])]) {
      sys.close(fd);
      fds.splice(fds.indexOf(fd), 1);
    }
    // execCPUAffinity.initial: the CPUs to run on until the container's cgroup (cpuset) applies.
    const initial = proc.execCPUAffinity?.initial;
    if (initial) sys.schedSetaffinity(enter.pid, bitmask(initial, "process.execCPUAffinity.initial"));
    const chan = new Channel(sys, hostEnd);
    chan.send(Msg.ENTER_PLAN, enterPlan.finish());
    const { pid, pidfd } = await awaitChild(
      chan,
      enter,
      () => {
        throw new ContainerError("exec: the enter stage asked for id maps, but it only joins namespaces");
      },
      () => cg.addProcess(spawned.pid, "v2"),
    );
    if (pidfd !== undefined) keep(pidfd);
    undo.push("kill the process", () => killQuietly(sys, pid));
    const seccomp = state.config.linux?.seccomp;
    await awaitReady(chan, {
      seccompFd: (fd) =>
        sendToListener(sys, seccomp!.listenerPath!, fd, pid, seccomp?.listenerMetadata, hookState(state.id, "running", state.pid, state.bundle, state.config)),
    });
    if (o.pidFile) writePidFile(o.pidFile, pid);
    if (o.pidfdSocket) sendPidfd(sys, o.pidfdSocket, pidfd);
    for (const fd of fds) closeQuietly(sys, fd);
    fds.length = 0;
    if (!signals) return 0;
    signals.target(pid);
    return await enter.exited;
  } catch (err) {
    undo.run();
    for (const fd of fds) closeQuietly(sys, fd);
    if (enter) await enter.exited;
    throw wrap(`exec in container "${o.id}"`, err);
  } finally {
    signals?.close();
  }
}

/** The process to run: --process FILE, or the container's own with runc's exec overrides. */
function processSpec(o: ExecOptions, state: ContainerState): Process {
  if (o.processFile) {
    let text: string;
    try {
      text = readFileSync(o.processFile, "utf8");
    } catch (e) {
      throw new ContainerError(`read --process "${o.processFile}": ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const parsed = parseProcess(text, o.processFile);
    if (!parsed.ok) throw new ContainerError(parsed.errors.join("\n"));
    return parsed.process;
  }
  const base = state.config.process;
  if (!base) throw new ContainerError("the container has no process to base exec on; use --process");
  if (o.args.length === 0) throw new ContainerError("exec: no command given (and no --process)");
  const p: Process = structuredClone(base);
  p.args = o.args;
  p.terminal = o.tty === true;
  p.env = [...(p.env ?? []), ...o.env];
  if (o.cwd) p.cwd = o.cwd;
  if (o.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new ContainerError(`--user "${o.user}": want uid[:gid] as numbers`);
    p.user = { ...p.user, uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : p.user.gid };
  }
  if (o.additionalGids.length) p.user = { ...p.user, additionalGids: o.additionalGids };
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  if (o.caps.length) {
    const c = (p.capabilities ??= {});
    for (const cap of o.caps) {
      for (const set of ["bounding", "effective", "permitted"] as const) c[set] = [...(c[set] ?? []), cap];
      // Ambient needs inheritable, which --cap does not give (runc).
      if (c.inheritable) c.ambient = [...(c.ambient ?? []), cap];
    }
  }
  return p;
}

async function processPlan(sys: Sys, state: ContainerState, p: Process, passed: number, console: boolean, log: Pick<ExecOptions, "warn" | "debug">): Promise<ProcessPlan> {
  const g = grantable();
  const c = p.capabilities;
  const mask = (set: "bounding" | "effective" | "permitted" | "inheritable" | "ambient") =>
    capMask(c?.[set], `process.capabilities.${set}`, g, log.warn).toString();
  const env = processEnv(p.env ?? [], "process.env");
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${homeOf(sys, state.pid, p.user.uid)}`);
  const seccomp = await compileFilter({ ...state.config, process: p }, log.debug);
  return {
    args: p.args ?? [],
    env,
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    groups: p.user.additionalGids ?? [],
    umask: p.user.umask ?? 0o022,
    caps: c ? [mask("bounding"), mask("effective"), mask("permitted"), mask("inheritable"), mask("ambient")] : null,
    noNewPrivileges: p.noNewPrivileges === true,
    seccomp,
    preserveFds: passed,
    console: console ? { rows: p.consoleSize?.height ?? 0, cols: p.consoleSize?.width ?? 0, bindConsole: false } : null,
    needHome: false,
    rlimits: planRlimits(p.rlimits),
    startHooks: [],
    hookState: "{}",
    attrs: planAttrs({ ...p, memoryPolicy: state.config.linux?.memoryPolicy, personality: state.config.linux?.personality }),
  };
}

/** Whether setgroups(2) is denied in pid's user namespace (rootless with only its own gid). */
function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

/** HOME for uid from the container's /etc/passwd, read through its root ("/" when absent). */
function homeOf(sys: Sys, pid: number, uid: number): string {
  let root = -1;
  let fd = -1;
  try {
    root = sys.openat(AT_FDCWD, `/proc/${pid}/root`, O_PATH | O_DIRECTORY | O_CLOEXEC);
    fd = sys.openat2(root, "/etc/passwd", O_RDONLY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    const buf = new Uint8Array(1 << 20);
    let n = 0;
    for (let r; n < buf.byteLength && (r = sys.read(fd, buf.subarray(n))) > 0; ) n += r;
    for (const line of new TextDecoder().decode(buf.subarray(0, n)).split("\n")) {
      const f = line.split(":");
      if (f.length >= 6 && f[2] !== "" && Number(f[2]) === uid) return f[5] || "/";
    }
  } catch {
    // no passwd file: "/"
  } finally {
    if (fd >= 0) sys.close(fd);
    if (root >= 0) sys.close(root);
  }
  return "/";
}

function subCgroup(paths: { v1: Record<string, string>; unified?: string }, sub: string | undefined) {
  if (!sub) return paths;
  if (sub.includes("..")) throw new ContainerError(`--cgroup "${sub}": must stay inside the container's cgroup`);
  const join = (d: string) => `${d}/${sub.replace(/^\/+/, "")}`;
  return { v1: Object.fromEntries(Object.entries(paths.v1).map(([k, v]) => [k, join(v)])), ...(paths.unified ? { unified: join(paths.unified) } : {}) };
}

