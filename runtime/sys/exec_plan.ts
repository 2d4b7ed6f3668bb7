// ProcessPlan → the exec stage's plan records (protocol.ts Exec), for create (written by init)
// and exec (written by the host).
import type { ProcessPlan } from "./init_plan.ts";
import { Exec, PlanWriter } from "./protocol.ts";

export interface ExecFds {
  sync: number;
  /** -1: no exec fifo (run and exec go straight on). */
  fifo: number;
  /** procfs fd the fifo is reopened through. */
  proc: number;
  /** -1: no terminal. */
  console: number;
}

export function encodeExecPlan(p: ProcessPlan, fds: ExecFds): Uint8Array {
  const w = new PlanWriter();
  for (const a of p.args) w.str(Exec.ARG, a);
  for (const e of p.env) w.str(Exec.ENV, e);
  w.str(Exec.CWD, p.cwd);
  w.u32(Exec.UID, p.uid);
  w.u32(Exec.GID, p.gid);
  if (p.groups !== null) w.u32(Exec.GROUPS, ...p.groups);
  w.u32(Exec.UMASK, p.umask);
  if (p.caps) w.u64(Exec.CAPS, ...p.caps.map(BigInt));
  if (p.noNewPrivileges) w.flag(Exec.NO_NEW_PRIVS);
  if (p.seccomp) {
    const head = new DataView(new ArrayBuffer(8));
    head.setUint32(0, p.seccomp.flags, true);
    head.setUint32(4, p.seccomp.when, true);
    w.bytes(Exec.SECCOMP, new Uint8Array(head.buffer), Buffer.from(p.seccomp.program, "base64"));
  }
  for (const r of p.rlimits) {
    const head = new DataView(new ArrayBuffer(24));
    head.setUint32(0, r.resource, true);
    head.setBigUint64(8, BigInt(r.soft), true);
    head.setBigUint64(16, BigInt(r.hard), true);
    w.bytes(Exec.RLIMIT, new Uint8Array(head.buffer), new TextEncoder().encode(r.type + "\0"));
  }
  for (const h of p.startHooks) {
    const head = new DataView(new ArrayBuffer(12));
    head.setUint32(0, h.timeout, true);
    head.setUint32(4, h.args.length, true);
    head.setUint32(8, h.env.length, true);
    w.bytes(Exec.HOOK, new Uint8Array(head.buffer), new TextEncoder().encode([h.path, ...h.args, ...h.env].map((x) => x + "\0").join("")));
  }
  if (p.startHooks.length) w.str(Exec.HOOK_STATE, p.hookState);
  const a = p.attrs;
  if (a.personality !== undefined) w.u32(Exec.PERSONALITY, a.personality);
  if (a.ioprio !== undefined) w.u32(Exec.IOPRIO, a.ioprio);
  if (a.sched) w.bytes(Exec.SCHED, new Uint8Array(0), Buffer.from(a.sched, "base64"));
  if (a.mempolicy) {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, a.mempolicy.mode, true);
    w.bytes(Exec.MEMPOLICY, head, Buffer.from(a.mempolicy.nodes, "base64"));
  }
  if (a.affinity) w.bytes(Exec.AFFINITY, new Uint8Array(0), Buffer.from(a.affinity, "base64"));
  for (const [lsm, value] of [["apparmor", a.apparmor], ["selinux", a.selinux]] as const) {
    if (value === undefined) continue;
    if (fds.proc < 0) throw new Error(`${lsm} label: no procfs handle for the exec stage`);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, fds.proc, true);
    w.bytes(Exec.LSM, head, new TextEncoder().encode(`${lsm}\0${value}\0`));
  }
  if (fds.fifo >= 0) w.u32(Exec.FIFO, fds.fifo, fds.proc);
  w.u32(Exec.PRESERVE_FDS, p.preserveFds);
  if (p.console && fds.console >= 0) w.u32(Exec.CONSOLE, fds.console, (p.console.rows << 16) | p.console.cols, p.console.bindConsole ? 1 : 0);
  w.u32(Exec.SYNC, fds.sync);
  return w.finish();
}
