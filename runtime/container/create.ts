// `create` on the host: validate, decide, make the cgroup and state, and drive the native enter
// stage and `tsrun init` through the protocol (runtime/sys/protocol.ts) until the container's
// pid 1 waits on the exec fifo. All or nothing: any failure undoes what was made.
import type { Subprocess } from "bun";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { LinuxIDMapping, Spec } from "../../spec/schema.ts";
import { SPEC_VERSION } from "../../spec/version.ts";
import type { Cgroup, Layout } from "../cgroups/index.ts";
import { Channel } from "../sys/channel.ts";
import { AT_FDCWD, MNT_DETACH, O_CLOEXEC, O_PATH, O_RDONLY, S_IFIFO } from "../sys/constants.ts";
import { Netlink } from "../sys/netlink.ts";
import { hasCode, wrap } from "../sys/errors.ts";
import { hookState, runHooks, runPoststop } from "../sys/hooks.ts";
import type { InitPlan, ProcessPlan } from "../sys/init_plan.ts";
import { openProc, procStat, writeProc } from "../sys/proc.ts";
import { Msg, SeccompWhen } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { trace } from "../sys/trace.ts";
import { applyIntelRdt, type RdtPlacement, removeIntelRdt, resctrlRoot } from "../intelrdt/resctrl.ts";
import { helperMemfd, selfExec } from "./binaries.ts";
import { cgroupMountOps, containerCgroupPaths, createContainerCgroup, hostLayout, ownCgroupPaths, tryRootlessCgroup } from "./cgroup_setup.ts";
import { loadBundle } from "./config.ts";
import { idmapKey, idmapNamespaces, idmapOf, isBindMount, prepareIdmappedBind } from "./idmap.ts";
import { idMapText, planEnter } from "./namespaces.ts";
import { type Grantable, planInit } from "./plan.ts";
import {
  awaitChild,
  openCgroupJoin,
  awaitReady,
  ChildFds,
  killQuietly,
  listenFds,
  reportStageFirst,
  sendOrReport,
  sendPidfd,
  sendToListener,
  spawnEnter,
  Undo,
  waitGone,
} from "./stages.ts";
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
  /** Details only --debug shows (in the --log file). */
  debug?(message: string): void;
}

export interface Created {
  state: ContainerState;
  /** The enter stage; in the foreground it exits with the container's status. */
  enter: Subprocess;
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
  if (o.systemdCgroup) throw new ContainerError("--systemd-cgroup: not supported (tsrun has no systemd cgroup driver)");

  const store = new StateStore(o.root);
  const lock = store.reserve(sys, id);
  const undo = new Undo();
  undo.push("remove state directory", () => store.remove(id));
  const fds: number[] = [lock];
  const keep = <T extends number>(fd: T) => (fds.push(fd), fd);
  let enter: Subprocess | undefined;
  let pid = 0;
  try {
    trace("config loaded");
    const layout = hostLayout();
    let cgroupPaths = containerCgroupPaths(layout, id, config);
    // Rootless, whether there will be a cgroup is found out first (the mounts depend on it).
    let early: Cgroup | null | undefined;
    if (o.rootless) {
      early = tryRootlessCgroup(layout, cgroupPaths, config, o.warn);
      if (early) undo.push("remove cgroup", () => early!.destroy());
      else cgroupPaths = ownCgroupPaths(layout);
    }

    const listen = listenFds();
    const child = new ChildFds(listen + o.preserveFds);
    const [hostEnd, childEnd] = sys.socketpair();
    keep(hostEnd);
    keep(childEnd);
    const helper = keep(helperMemfd(sys));
    const self = selfExec(sys, ["init"]);
    keep(self.fd);
    let fifo = -1;
    if (!o.foreground) {
      sys.mknodat(AT_FDCWD, store.fifo(id), S_IFIFO | 0o622, 0, 0);
      // The container's root opens it for writing: it owns it, whatever the umask made the mode.
      const [owner, group] = [hostId(config.linux?.uidMappings), hostId(config.linux?.gidMappings)];
      if (owner !== process.geteuid?.() || group !== process.getegid?.()) sys.fchownat(AT_FDCWD, store.fifo(id), owner, group, 0);
      sys.fchmodat(AT_FDCWD, store.fifo(id), 0o622);
      fifo = keep(sys.openat(AT_FDCWD, store.fifo(id), O_PATH | O_CLOEXEC));
    }
    // The pty master goes to the caller's console socket, or in the foreground to the enter
    // stage, which relays it to our stdio.
    let consoleSock = -1;
    let relay: [number, number] | undefined;
    if (o.consoleSocket) consoleSock = keep(sys.connectUnix(o.consoleSocket));
    else if (terminal) {
      relay = sys.socketpair();
      keep(relay[0]);
      consoleSock = keep(relay[1]);
    }
    const at = {
      sync: child.add(childEnd),
      helper: child.add(helper),
      self: child.add(self.fd),
      fifo: fifo >= 0 ? child.add(fifo) : -1,
      console: consoleSock >= 0 ? child.add(consoleSock) : -1,
      relay: relay ? child.add(relay[0]) : -1,
    };

    // Rootless with only its own gid mapped, setgroups(2) is denied in the user namespace.
    const setgroupsDenied = o.rootless && ownOnly(config.linux?.gidMappings ?? [], process.getegid?.() ?? 0);
    if (setgroupsDenied && config.process?.user.additionalGids?.length)
      throw new ContainerError("process.user.additionalGids: not possible rootless with only your own gid mapped (setgroups is denied)");
    const seccomp = await compileFilter(config, o.debug);
    const procfd = keep(openProc(sys));
    // Idmapped mounts: a user namespace fd per distinct mapping, passed to init.
    const idmaps = (config.mounts ?? []).map((m, i) => idmapOf(m, config, `mounts[${i}]`));
    const usernsFds = await idmapNamespaces(
      sys,
      idmaps.filter((r) => r !== null),
      (sync) => Bun.spawn([`/proc/self/fd/4`, "userns", "3"], { stdio: ["ignore", "ignore", "inherit", sync, helper] as never, env: {} }),
      (p, uid, gid) => writeIdMaps(sys, procfd, p, { ...config, linux: { ...config.linux, uidMappings: [...uid], gidMappings: [...gid] } }, o.rootless),
    );
    const usernsAt = new Map([...usernsFds].map(([k, fd]) => [k, child.add(keep(fd))]));
    // Idmapped bind mounts are made here: idmapping a mount needs CAP_SYS_ADMIN over the
    // source's filesystem, which init inside a user namespace does not have (runc 1.2 too).
    const trees = (config.mounts ?? []).map((m, i) => {
      const r = idmaps[i];
      if (!r || !isBindMount(m)) return null;
      const tree = keep(prepareIdmappedBind(sys, m, bundle.dir, r, usernsFds.get(idmapKey(r))!, `mounts[${i}]`));
      return child.add(tree);
    });
    const plan = planInit({
      id,
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      config,
      noPivot: o.noPivot,
      noNewKeyring: o.noNewKeyring,
      preserveFds: child.passed,
      extraEnv: listen ? [`LISTEN_FDS=${listen}`, "LISTEN_PID=1"] : [],
      console: consoleSock >= 0,
      fds: { sync: at.sync, helper: at.helper, fifo: at.fifo, console: at.console },
      cgroupMounts: (m) => cgroupMountOps(layout, cgroupPaths, m, namespaceNew(config, "cgroup")),
      preparedTree: (i) => trees[i] ?? null,
      idmap: (_m, i) => {
        const r = idmaps[i];
        return r ? { fd: usernsAt.get(idmapKey(r))!, recursive: r.recursive } : null;
      },
      sourceKind,
      grantable: grantable(),
      hasKcore: existsSync("/proc/kcore"),
      seccomp,
      setgroupsDenied,
      warn: o.warn,
      debug: o.debug,
    });
    // The cgroup exists before the enter stage forks: the child joins it by itself (fork into
    // the cgroup2 directory, "0" to each v1 `tasks`), which is ~10 ms faster than moving it
    // from here (see native/helper.c).
    const cgroup = early !== undefined ? early : createContainerCgroup(layout, cgroupPaths, config);
    if (early === undefined) undo.push("remove cgroup", () => cgroup!.destroy());
    trace("cgroup made");
    const joinFds = cgroup ? openCgroupJoin(sys, cgroup, child, keep) : undefined;
    const enterPlan = planEnter(config, {
      cgroup: joinFds,
      execFd: at.self,
      argv: [...self.argv, String(at.sync)],
      env: [],
      stay: o.foreground,
      setgroupsDenied,
      relay: relay ? [at.relay, at.console] : undefined,
    });

    trace("planned");
    enter = spawnEnter(child, at.helper, at.sync);
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
    // Only the children hold these now: their closing is how we learn they died.
    for (const fd of [childEnd, ...(relay ?? [])]) {
      sys.close(fd);
      fds.splice(fds.indexOf(fd), 1);
    }

    const chan = new Channel(sys, hostEnd);
    chan.send(Msg.ENTER_PLAN, enterPlan.bytes);
    trace("enter stage spawned");
    const forked = await awaitChild(chan, enter, () => writeIdMaps(sys, procfd, spawned.pid, config, o.rootless));
    pid = forked.pid;
    if (forked.pidfd !== undefined) keep(forked.pidfd);
    const containerPid = pid;
    undo.push("kill the container process", () => killQuietly(sys, containerPid));
    // Taken while the process surely lives: it waits for INIT_PLAN. (In the foreground it may
    // have run and exited by the time READY arrives.)
    const st = procStat(pid);
    if (!st) throw new ContainerError("the container process exited during create");
    // linux.netDevices: moved (and renamed) into the container's network namespace now; init
    // gives them back their addresses and brings them up in there.
    plan.netDevices = moveNetDevices(sys, config, pid);
    const rdt = config.linux?.intelRdt;
    let rdtPlacement: RdtPlacement | undefined;
    if (rdt) {
      const root = resctrlRoot(readFileSync("/proc/self/mountinfo", "utf8"));
      if (!root) throw new ContainerError("linux.intelRdt: resctrl is not mounted on this host (mount -t resctrl resctrl /sys/fs/resctrl)");
      rdtPlacement = applyIntelRdt(root, id, rdt, pid);
      const placed = rdtPlacement;
      undo.push("remove the Intel RDT group", () => removeIntelRdt(placed));
    }
    const oom = config.process?.oomScoreAdj;
    if (oom !== undefined) writeProc(sys, procfd, `${pid}/oom_score_adj`, String(oom));
    const state = (status: "creating" | "created") => hookState(id, status, pid, bundle.given, config);
    // The hooks of create (prestart, createRuntime, createContainer: lifecycle steps 3-5) and
    // startContainer get "created": runtime.md defines it as "after step 2 in the lifecycle, and
    // the container process has neither exited nor executed the user-specified program", which
    // is where they run ("creating" is step 2 itself). crun says the same; runc says "creating".
    plan.process.hookState = JSON.stringify(state("created"));
    sendOrReport(chan, () => chan.sendJSON(Msg.INIT_PLAN, { ...plan, createState: plan.process.hookState } satisfies InitPlan));
    trace("init plan sent");
    // Where the child could not fork into the cgroup2 directory (inside a user namespace it may
    // lack the permission), it is moved now, while init starts and builds the rootfs: this
    // waits for an RCU grace period. Init waits for JOINED before it makes a cgroup namespace
    // (whose root must be this cgroup) and before anything of the container runs.
    if (cgroup && joinFds?.cgroup2 !== undefined && !forked.inCgroup2) reportStageFirst(sys, chan, () => cgroup.addProcess(pid, "v2"));
    trace("cgroup joined");
    sendOrReport(chan, () => chan.send(Msg.JOINED));
    await awaitReady(chan, {
      hook: async () => {
        // prestart (deprecated) and createRuntime: in our namespaces, once the container's exist
        // and its mounts are made, before pivot_root (init waits for HOOK_DONE).
        // In the bundle directory, as runc's are (it changes into the bundle for create).
        await runHooks("prestart", config.hooks?.prestart, state("created"), bundle.dir);
        await runHooks("createRuntime", config.hooks?.createRuntime, state("created"), bundle.dir);
      },
      seccompFd: (fd) => sendToListener(sys, config.linux!.seccomp!.listenerPath!, fd, pid, config.linux?.seccomp?.listenerMetadata, state("creating")),
    });

    trace("ready");
    const saved: ContainerState = {
      ociVersion: SPEC_VERSION,
      id,
      pid,
      pidStart: st.startTime,
      bundle: bundle.given,
      rootfs: bundle.rootfs,
      created: new Date().toISOString(),
      owner: "",
      annotations: config.annotations,
      config,
      cgroup: cgroup ? { paths: cgroup.paths as never, created: [...cgroup.created], layout: layout as Layout } : { paths: { v1: {} }, created: [], layout },
      systemdCgroup: o.systemdCgroup,
      rootless: o.rootless,
      ...(rdtPlacement ? { intelRdt: rdtPlacement } : {}),
    };
    store.write(saved);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    if (o.pidfdSocket) sendPidfd(sys, o.pidfdSocket, forked.pidfd);
    for (const fd of fds) closeQuietly(sys, fd);
    return { state: saved, enter };
  } catch (err) {
    const failures = undo.run();
    for (const fd of fds) closeQuietly(sys, fd);
    if (enter) await enter.exited;
    if (pid) {
      await waitGone(sys, pid);
      // The container existed: the lifecycle continues at destroy (done above) and poststop
      // (runtime.md, Lifecycle 4-6 and 12-13; runc's destroy runs them too).
      await runPoststop(config.hooks?.poststop, hookState(id, "stopped", pid, bundle.given, config), o.warn);
    }
    const e = wrap(`create container "${id}"`, err);
    if (failures.length) (e as Error).message += ` (cleanup failed: ${failures.join("; ")})`;
    throw e;
  }
}

function moveNetDevices(sys: Sys, config: Spec, pid: number): InitPlan["netDevices"] {
  const devices = Object.entries(config.linux?.netDevices ?? {});
  if (!devices.length) return [];
  const nl = new Netlink(sys);
  const ns = sys.openat(AT_FDCWD, `/proc/${pid}/ns/net`, O_RDONLY | O_CLOEXEC);
  try {
    return devices.map(([host, d]) => {
      const name = d.name ?? host;
      try {
        const link = nl.link(host);
        const addresses = nl.addresses(link.index);
        nl.moveLink(link.index, ns, name);
        return { name, ...(name.includes("%d") && link.mac ? { mac: link.mac } : {}), addresses };
      } catch (e) {
        throw wrap(`linux.netDevices["${host}"]`, e);
      }
    });
  } finally {
    sys.close(ns);
    nl.close();
  }
}

/** linux.seccomp → the BPF program for the exec stage (compiled here, before anything exists). */
export async function compileFilter(config: Spec, debug: (m: string) => void = () => {}): Promise<ProcessPlan["seccomp"]> {
  const s = config.linux?.seccomp;
  if (!s) return null;
  const { compileSeccomp } = await import("../seccomp/seccomp.ts");
  const { program, flags, needsListener } = compileSeccomp(s, {
    nativeArch: process.arch === "arm64" ? "aarch64" : "x86_64",
    debug,
  });
  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: it goes in before the
  // capabilities are dropped. With it, as late as possible (right before execve) — unless its
  // notify fd must still reach the host, which listens until READY.
  const when = config.process?.noNewPrivileges !== true ? SeccompWhen.EARLY : needsListener ? SeccompWhen.BEFORE_READY : SeccompWhen.LATE;
  return { flags, program: Buffer.from(program).toString("base64"), when };
}

export function grantable(): Grantable {
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

function writeIdMaps(sys: Sys, procfd: number, pid: number, config: Spec, rootless: boolean): void {
  const uids = config.linux?.uidMappings ?? [];
  const gids = config.linux?.gidMappings ?? [];
  if (!rootless) {
    // The host writes the maps (it holds CAP_SETUID/CAP_SETGID over the parent namespace),
    // through the checked procfs handle. A privileged writer needs no setgroups=deny.
    writeProc(sys, procfd, `${pid}/uid_map`, idMapText(uids));
    writeProc(sys, procfd, `${pid}/gid_map`, idMapText(gids));
    return;
  }
  // Unprivileged, a process may map only its own id, and a gid_map only once setgroups is
  // denied (user_namespaces(7)); anything more goes through the setuid newuidmap/newgidmap,
  // which check /etc/subuid and /etc/subgid.
  if (ownOnly(uids, process.geteuid!())) writeProc(sys, procfd, `${pid}/uid_map`, idMapText(uids));
  else newIdMap("newuidmap", pid, uids);
  if (ownOnly(gids, process.getegid!())) {
    writeProc(sys, procfd, `${pid}/setgroups`, "deny");
    writeProc(sys, procfd, `${pid}/gid_map`, idMapText(gids));
  } else newIdMap("newgidmap", pid, gids);
}

/** A single mapping of the caller's own id: what an unprivileged process may write itself. */
export function ownOnly(maps: readonly LinuxIDMapping[], id: number): boolean {
  return maps.length === 1 && maps[0]!.hostID === id && maps[0]!.size === 1;
}

function newIdMap(tool: "newuidmap" | "newgidmap", pid: number, maps: readonly LinuxIDMapping[]): void {
  const args = maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String));
  let r;
  try {
    r = Bun.spawnSync([tool, String(pid), ...args], { stdout: "ignore", stderr: "pipe" });
  } catch {
    throw new ContainerError(`rootless: ${tool} is needed for these id mappings (Debian package uidmap)`);
  }
  if (r.exitCode !== 0) throw new ContainerError(`rootless: ${tool} ${pid} ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}
