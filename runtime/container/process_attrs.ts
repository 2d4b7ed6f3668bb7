// The process attributes the exec stage sets before execve, turned from the spec's names into
// the kernel's values: personality, I/O priority, scheduler, memory policy, CPU affinity, LSM
// labels. Pure, apart from the LSM checks (whether the host has them enabled).
import { existsSync, readFileSync } from "node:fs";
import type { CPUAffinity, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality, Scheduler } from "../../spec/schema.ts";
import type { ProcessAttrs } from "../sys/init_plan.ts";
import { ContainerError } from "./state.ts";

const PERSONA = { LINUX: 0x0000, LINUX32: 0x0008 } as const;
const IOPRIO_CLASS = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
const SCHED_POLICY = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 } as const;
const SCHED_FLAG = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
} as const;
const MPOL_MODE = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
} as const;
const MPOL_FLAG = { MPOL_F_STATIC_NODES: 1 << 15, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_NUMA_BALANCING: 1 << 13 } as const;

export interface AttrInput {
  personality?: LinuxPersonality;
  ioPriority?: LinuxIOPriority;
  scheduler?: Scheduler;
  memoryPolicy?: LinuxMemoryPolicy;
  /** Only for processes started by exec (the runtime-spec excludes the container's init). */
  execCPUAffinity?: CPUAffinity;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

export function planAttrs(a: AttrInput, lsm: LsmState = hostLsm()): ProcessAttrs {
  const out: ProcessAttrs = {};
  if (a.personality) out.personality = PERSONA[a.personality.domain];
  if (a.ioPriority) out.ioprio = (IOPRIO_CLASS[a.ioPriority.class] << 13) | a.ioPriority.priority;
  if (a.scheduler) out.sched = Buffer.from(schedAttr(a.scheduler)).toString("base64");
  if (a.memoryPolicy) {
    const p = a.memoryPolicy;
    const mode = MPOL_MODE[p.mode] | (p.flags ?? []).reduce((m, f) => m | MPOL_FLAG[f], 0);
    out.mempolicy = { mode, nodes: Buffer.from(bitmask(p.nodes ?? "", "linux.memoryPolicy.nodes")).toString("base64") };
  }
  if (a.execCPUAffinity?.final) out.affinity = Buffer.from(bitmask(a.execCPUAffinity.final, "process.execCPUAffinity.final")).toString("base64");
  if (a.apparmorProfile) {
    // runc fails the same way: the profile cannot be applied (/proc/self/attr/exec).
    if (!lsm.apparmor) throw new ContainerError(`process.apparmorProfile "${a.apparmorProfile}": AppArmor is not enabled on this host`);
    out.apparmor = `exec ${a.apparmorProfile}`;
  }
  if (a.selinuxLabel) {
    if (!lsm.selinux) throw new ContainerError(`process.selinuxLabel "${a.selinuxLabel}": SELinux is not enabled on this host`);
    out.selinux = a.selinuxLabel;
  }
  return out;
}

/** struct sched_attr, SCHED_ATTR_SIZE_VER1 (56 bytes), for sched_setattr(2). */
function schedAttr(s: Scheduler): Uint8Array {
  const v = new DataView(new ArrayBuffer(56));
  v.setUint32(0, 56, true);
  v.setUint32(4, SCHED_POLICY[s.policy], true);
  v.setBigUint64(8, BigInt((s.flags ?? []).reduce((m, f) => m | SCHED_FLAG[f], 0)), true);
  v.setInt32(16, s.nice ?? 0, true);
  v.setUint32(20, s.priority ?? 0, true);
  v.setBigUint64(24, BigInt(s.runtime ?? 0), true);
  v.setBigUint64(32, BigInt(s.deadline ?? 0), true);
  v.setBigUint64(40, BigInt(s.period ?? 0), true);
  return new Uint8Array(v.buffer);
}

/** "0-3,7" → a bit mask in unsigned longs (cpu_set_t, nodemask_t), little-endian. */
export function bitmask(list: string, field: string): Uint8Array {
  const bits: number[] = [];
  for (const part of list.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ContainerError(`${field}: "${list}" is not a list like "0-3,7"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 4095) throw new ContainerError(`${field}: bad range "${part}"`);
    for (let b = lo; b <= hi; b++) bits.push(b);
  }
  const words = bits.length ? Math.floor(Math.max(...bits) / 64) + 1 : 0;
  const out = new Uint8Array(words * 8);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

export interface LsmState {
  apparmor: boolean;
  selinux: boolean;
}

/** Which LSMs can take labels here (runc's tests: AppArmor's securityfs and module flag; selinuxfs). */
export function hostLsm(): LsmState {
  let apparmor = false;
  try {
    apparmor = existsSync("/sys/kernel/security/apparmor") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").startsWith("Y");
  } catch {
    apparmor = false;
  }
  return { apparmor, selinux: existsSync("/sys/fs/selinux/enforce") };
}
