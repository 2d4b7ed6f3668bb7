// linux.namespaces → what the native enter stage does, in the order that works.
import type { LinuxIDMapping, Spec } from "../../spec/schema.ts";
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
} from "../sys/constants.ts";
import { Enter, PlanWriter } from "../sys/protocol.ts";

export const CLONE_FLAG: Record<string, number> = {
  user: CLONE_NEWUSER,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  network: CLONE_NEWNET,
  pid: CLONE_NEWPID,
  mount: CLONE_NEWNS,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

// Joins: the user namespace first (it decides what the others may do), the mount namespace late
// (joining it changes what later paths mean; the enter stage opens every path before joining).
const JOIN_ORDER = ["user", "ipc", "uts", "network", "pid", "mount", "cgroup", "time"];

export interface EnterOptions {
  /** fd (in the enter stage) of the program the child execs, with its argv and env. */
  execFd: number;
  argv: string[];
  env: string[];
  /** run/exec in the foreground: the enter stage waits for the child and exits with its status. */
  stay: boolean;
  /** setgroups is denied in the user namespace (unprivileged mapping). */
  setgroupsDenied: boolean;
  /** [our end, the child's end] of the console socketpair: relay the pty in the foreground. */
  relay?: [number, number];
  /** fds (in the enter stage) through which the child joins the container's cgroup itself. */
  cgroup?: CgroupJoinFds;
}

export interface CgroupJoinFds {
  tasks: number[];
  cgroup2?: number;
  /** When the child cannot be forked into cgroup2, the host moves the enter stage first. */
  ask?: boolean;
}

/** The enter plan's cgroup records (create and exec). */
export function cgroupJoinRecords(w: PlanWriter, fds: CgroupJoinFds | undefined): void {
  for (const fd of fds?.tasks ?? []) w.u32(Enter.CGROUP_TASKS, fd);
  if (fds?.cgroup2 !== undefined) w.u32(Enter.CGROUP2, fds.cgroup2, fds.ask ? 1 : 0);
}

export interface EnterPlan {
  bytes: Uint8Array;
  newUser: boolean;
}

export function planEnter(config: Spec, o: EnterOptions): EnterPlan {
  const namespaces = config.linux?.namespaces ?? [];
  const w = new PlanWriter();
  const joined = namespaces.filter((n) => n.path).sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
  for (const n of joined) w.bytes(Enter.SETNS, u32(CLONE_FLAG[n.type]!), new TextEncoder().encode(n.path + "\0"));
  const fresh = namespaces.filter((n) => !n.path).map((n) => n.type);
  const newUser = fresh.includes("user");
  if (newUser) w.flag(Enter.NEWUSER);
  // A new cgroup namespace is made by init, once the host has moved it into its cgroup.
  const flags = fresh.filter((t) => t !== "user" && t !== "cgroup").reduce((acc, t) => acc | CLONE_FLAG[t]!, 0);
  if (flags) w.u32(Enter.UNSHARE, flags);
  const offsets = config.linux?.timeOffsets;
  if (offsets && fresh.includes("time")) {
    // timens_offsets(7) names the clocks "monotonic" and "boottime".
    const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`);
    if (lines.length) w.str(Enter.TIMENS_OFFSETS, lines.join(""));
  }
  if (namespaces.some((n) => n.type === "user")) w.u32(Enter.BECOME_ROOT, o.setgroupsDenied ? 0 : 1);
  w.u32(Enter.EXEC_FD, o.execFd);
  for (const a of o.argv) w.str(Enter.ARG, a);
  for (const e of o.env) w.str(Enter.ENV, e);
  if (o.stay) w.flag(Enter.STAY);
  if (o.relay) w.u32(Enter.RELAY, ...o.relay);
  cgroupJoinRecords(w, o.cgroup);
  return { bytes: w.finish(), newUser };
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/** uid_map/gid_map file content. */
export function idMapText(maps: readonly LinuxIDMapping[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}
