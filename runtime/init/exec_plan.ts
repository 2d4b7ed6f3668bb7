// ProcessPlan → the exec stage's plan records (protocol.ts Exec).
import type { InitPlan, ProcessPlan } from "../sys/init_plan.ts";
import { Exec, PlanWriter } from "../sys/protocol.ts";

export function encodeExecPlan(p: ProcessPlan, fds: InitPlan["fds"], procFd: number): Uint8Array {
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
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, p.seccomp.flags, true);
    w.bytes(Exec.SECCOMP, head, Buffer.from(p.seccomp.program, "base64"));
    if (p.seccomp.early) w.flag(Exec.SECCOMP_EARLY);
  }
  if (fds.fifo >= 0) w.u32(Exec.FIFO, fds.fifo, procFd);
  w.u32(Exec.PRESERVE_FDS, p.preserveFds);
  if (p.console && fds.console >= 0) w.u32(Exec.CONSOLE, fds.console, (p.console.rows << 16) | p.console.cols, 1);
  w.u32(Exec.SYNC, fds.sync);
  return w.finish();
}
