// `tsrun init`: runs inside the container's namespaces (as its future pid 1), sets up the root
// filesystem and the rest of the container from the host's plan, then becomes the native exec
// stage, which waits for `start` and executes the container's process.
import { Channel, frameJSON } from "../sys/channel.ts";
import { asSeenInside, runHooks } from "../sys/hooks.ts";
import {
  AT_FDCWD,
  CLONE_NEWCGROUP,
  FD_CLOEXEC,
  F_SETFD,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  O_CLOEXEC,
  O_RDONLY,
  PR_SET_DUMPABLE,
  PROC_SUPER_MAGIC,
} from "../sys/constants.ts";
import { describe, hasCode, wrap } from "../sys/errors.ts";
import type { InitPlan } from "../sys/init_plan.ts";
import { readText } from "../sys/files.ts";
import { LinuxSys } from "../sys/linux.ts";
import { Netlink } from "../sys/netlink.ts";
import { writeProc } from "../sys/proc.ts";
import { Msg } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { encodeExecPlan } from "../sys/exec_plan.ts";
import { IN_ROOT, mkdirAllIn } from "./paths.ts";
import { enterRoot, finishRootfs, maskPaths, prepareRootfs, readonlyPaths } from "./rootfs.ts";

export async function initMain(syncFd: number): Promise<never> {
  const sys = new LinuxSys();
  // First thing: nothing else in the container's pid namespace may reach this process's memory,
  // fds or /proc/<pid>/exe (the tsrun binary) through ptrace-checked /proc files.
  sys.prctl(PR_SET_DUMPABLE, 0);
  const chan = new Channel(sys, syncFd);
  let plan: InitPlan;
  try {
    plan = frameJSON<InitPlan>(chan.recv());
  } catch {
    // The host is gone: nobody to report to.
    process.exit(1);
  }
  try {
    return await runInit(sys, plan, chan);
  } catch (e) {
    try {
      chan.sendError(describe(e));
    } catch {
      // the host is gone
    }
    process.exit(1);
  }
}

async function runInit(sys: Sys, plan: InitPlan, chan: Channel): Promise<never> {
  // The host moves this process into the container's cgroup while this one sets up the rootfs;
  // JOINED says it is done. Awaited before the cgroup namespace is made (its root is the cgroup
  // at that moment) and before the exec stage.
  let joined = false;
  const join = () => {
    if (joined) return;
    const f = chan.recv();
    if (f.type !== Msg.JOINED) throw new Error(`protocol: expected JOINED, got message ${f.type}`);
    joined = true;
    // unshare(2) of a cgroup namespace is allowed with threads and affects the calling thread,
    // the one that mounts and later executes the exec stage.
    if (plan.newCgroupNs) sys.unshare(CLONE_NEWCGROUP);
  };
  // Device nodes and created files get exactly the modes the plan says.
  sys.umask(0);
  if (plan.sessionKeyring) joinKeyring(sys, plan.sessionKeyring, plan);

  // A procfs instance of the container's pid namespace that is attached nowhere: nothing in
  // the container can swap it. The exec stage keeps it until execve — while the container is
  // created, that is for as long as start takes — so it shows pid directories only (subset=pid):
  // a process of the container allowed to ptrace pid 1 finds no host sysctl behind its fds.
  const proc = detachedProc(sys, true);
  // The sysctls need the whole procfs; it is mounted now, while the host's /proc is still in
  // view (in a user namespace the kernel refuses a procfs where none is fully visible), and
  // closed once they are written.
  const sysctlProc = plan.sysctl.length ? detachedProc(sys, false) : -1;
  const readMountinfo = () => readText("/proc/self/mountinfo");
  const { root, deferred } = prepareRootfs(sys, plan, readMountinfo, join);
  if (plan.runtimeHooks || plan.createHooks.length) {
    // Hooks see the container in its cgroup; and JOINED must be read before HOOK_DONE.
    join();
    if (plan.runtimeHooks) {
      chan.send(Msg.HOOK, new TextEncoder().encode("createRuntime"));
      const f = chan.recv();
      if (f.type !== Msg.HOOK_DONE) throw new Error(`protocol: expected HOOK_DONE, got message ${f.type}`);
    }
    // createContainer: in the container's namespaces, before pivot_root, from the rootfs (runc).
    process.chdir(plan.rootfs);
    await runHooks("createContainer", plan.createHooks, asSeenInside(plan.createState, process.pid));
  }
  const newRoot = enterRoot(sys, root, plan, plan.noPivot ? readMountinfo() : "");
  sys.close(root);
  // A missing cwd is created (runc does), inside the root and before it may turn read-only.
  sys.close(mkdirAllIn(sys, newRoot, plan.process.cwd));
  finishRootfs(sys, newRoot, plan, deferred);

  if (plan.netDevices.length) restoreNetDevices(sys, plan.netDevices);
  if (plan.hostname !== null) sys.sethostname(plan.hostname);
  if (plan.domainname !== null) sys.setdomainname(plan.domainname);
  for (const [key, value] of plan.sysctl) {
    try {
      writeProc(sys, sysctlProc, `sys/${key.replaceAll(".", "/")}`, value);
    } catch (e) {
      throw wrap(`linux.sysctl "${key}"`, e);
    }
  }
  if (sysctlProc >= 0) sys.close(sysctlProc);
  readonlyPaths(sys, newRoot, plan.readonlyPaths);
  maskPaths(sys, newRoot, plan.maskedPaths);

  join();
  if (plan.process.startHooks.length) plan.process.hookState = asSeenInside(plan.process.hookState, process.pid);
  const env = plan.process.needHome ? [...plan.process.env, `HOME=${homeOf(sys, newRoot, plan.process.uid)}`] : plan.process.env;
  const bytes = encodeExecPlan({ ...plan.process, env }, { sync: plan.fds.sync, fifo: plan.fds.fifo, proc, console: plan.fds.console });
  const planFd = sys.memfdCreate("tsrun-exec-plan", 0);
  for (let at = 0; at < bytes.byteLength; ) at += sys.write(planFd, bytes.subarray(at));

  // Only what the exec stage uses crosses the execve; the rest (the tsrun binary, Bun's own
  // fds, the rootfs handles) closes. The exec stage closes what remains before the container's
  // process runs.
  sys.closeRange(3 + plan.process.preserveFds, 0xffffffff, 4 /* CLOSE_RANGE_CLOEXEC */);
  // Bun marks inherited fds close-on-exec when it starts, the passed ones (3..) among them.
  const passed = Array.from({ length: plan.process.preserveFds }, (_, i) => 3 + i);
  for (const fd of [...passed, plan.fds.sync, plan.fds.fifo, plan.fds.console, proc, planFd]) if (fd >= 0) sys.fcntl(fd, F_SETFD, 0);
  sys.execveat(plan.fds.helper, ["tsrun", "init", String(planFd)], []);
}

/** In the container's network namespace: the moved devices get their addresses back, then up. */
function restoreNetDevices(sys: Sys, devices: InitPlan["netDevices"]): void {
  const nl = new Netlink(sys);
  try {
    for (const d of devices) {
      try {
        const index = d.mac ? nl.linkByMac(d.mac) : nl.link(d.name).index;
        for (const a of d.addresses) nl.addAddress(index, a);
        nl.setUp(index);
      } catch (e) {
        throw wrap(`linux.netDevices: device "${d.name}" in the container`, e);
      }
    }
  } finally {
    nl.close();
  }
}

function detachedProc(sys: Sys, pidsOnly: boolean): number {
  const fs = sys.fsopen("proc", FSOPEN_CLOEXEC);
  try {
    if (pidsOnly) {
      try {
        sys.fsconfig(fs, FSCONFIG_SET_STRING, "subset", "pid");
      } catch (e) {
        // Before Linux 5.8 there is no subset: the whole procfs, as runc always has it.
        if (!hasCode(e, "EINVAL")) throw e;
      }
    }
    sys.fsconfig(fs, FSCONFIG_CMD_CREATE, null, null);
    const mnt = sys.fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (sys.fstatfs(mnt) !== PROC_SUPER_MAGIC) throw new Error("detached procfs is not procfs");
    return mnt;
  } catch (e) {
    throw wrap("mount a private procfs", e);
  } finally {
    sys.close(fs);
  }
}

/** runc's session keyring: a fresh one per container, searchable by the container's user. */
function joinKeyring(sys: Sys, name: string, plan: InitPlan): void {
  let serial: number;
  try {
    serial = sys.joinSessionKeyring(name);
  } catch (e) {
    // Without keyring support (ENOSYS) there is nothing to isolate.
    if (hasCode(e, "ENOSYS")) return;
    throw wrap("join a new session keyring", e);
  }
  const perm = parseInt(sys.describeKey(serial).split(";")[3] ?? "0", 16);
  // KEY_OTH_SEARCH inside a user namespace, KEY_USR_SEARCH otherwise (runc).
  sys.setKeyPerm(serial, perm | (plan.bindDevices ? 0x8 : 0x80000));
}

/** HOME for uid from the container's /etc/passwd, "/" when it has no entry (runc). */
function homeOf(sys: Sys, root: number, uid: number): string {
  let text = "";
  try {
    const fd = sys.openat2(root, "/etc/passwd", O_RDONLY | O_CLOEXEC, IN_ROOT);
    try {
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(65536);
      for (let n; (n = sys.read(fd, buf)) > 0 && chunks.length < 64; ) chunks.push(buf.slice(0, n));
      text = Buffer.concat(chunks).toString("utf8");
    } finally {
      sys.close(fd);
    }
  } catch {
    return "/";
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 6 && Number(f[2]) === uid && f[2] !== "") return f[5] || "/";
  }
  return "/";
}

void AT_FDCWD;
void FD_CLOEXEC;
