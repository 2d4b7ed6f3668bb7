import { join } from "node:path";
import { setDevicesV1 } from "./devices_v1.ts";
import { type CgroupFs, errorCode, readFile, writeFile } from "./files.ts";
import type { LinuxCPU, LinuxMemory, LinuxResources } from "./types.ts";
import { cpuWanted, given, memoryWanted, pidsMax } from "./values.ts";

const LIMIT = "memory.limit_in_bytes";
const MEMSW = "memory.memsw.limit_in_bytes";

function setMemoryLimit(fsys: CgroupFs, dir: string, limit: number): void {
  try {
    writeFile(fsys, dir, LIMIT, String(limit), "linux.resources.memory.limit");
  } catch (err) {
    // EBUSY: the limit is below what the cgroup already uses; say so instead of a bare errno.
    if (errorCode(err) !== "EBUSY") throw err;
    const usage = fsys.read(join(dir, "memory.usage_in_bytes")).trim();
    const peak = fsys.read(join(dir, "memory.max_usage_in_bytes")).trim();
    throw new Error(
      `linux.resources.memory.limit: ${limit} is below the current usage ${usage} (peak ${peak}): write "${LIMIT}": EBUSY`,
      { cause: err },
    );
  }
}

function setMemory(fsys: CgroupFs, dir: string, m: LinuxMemory): void {
  const limit = given(m.limit);
  let swap = given(m.swap);
  // Unlimited memory must lift memsw too, or memsw would stay the effective (lower) limit.
  if (limit === -1 && swap === undefined && fsys.exists(join(dir, MEMSW))) swap = -1;

  const writeLimit = () => limit !== undefined && setMemoryLimit(fsys, dir, limit);
  const writeSwap = () =>
    swap !== undefined && writeFile(fsys, dir, MEMSW, String(swap), "linux.resources.memory.swap");
  // The kernel insists limit <= memsw after every single write (EINVAL otherwise): when memsw grows
  // past the current limit write it first, when it shrinks lower the limit first.
  if (limit !== undefined && swap !== undefined) {
    const current = Number(readFile(fsys, dir, LIMIT, "linux.resources.memory.limit"));
    if (swap === -1 || current < swap) {
      writeSwap();
      writeLimit();
    } else {
      writeLimit();
      writeSwap();
    }
  } else {
    writeLimit();
    writeSwap();
  }

  const reservation = given(m.reservation);
  if (reservation !== undefined) {
    writeFile(fsys, dir, "memory.soft_limit_in_bytes", String(reservation), "linux.resources.memory.reservation");
  }
}

function setCpu(fsys: CgroupFs, dir: string, c: LinuxCPU): void {
  const shares = given(c.shares);
  if (shares !== undefined) {
    writeFile(fsys, dir, "cpu.shares", String(shares), "linux.resources.cpu.shares");
    // The kernel clamps out-of-range shares silently; a config asking for 1 should hear it got 2.
    const got = Number(readFile(fsys, dir, "cpu.shares", "linux.resources.cpu.shares"));
    if (got !== shares) {
      throw new Error(
        `linux.resources.cpu.shares: the kernel set ${got} instead of ${shares} (its ${got > shares ? "minimum" : "maximum"})`,
      );
    }
  }

  const period = given(c.period);
  const quota = given(c.quota);
  // Period before quota: the kernel checks quota/period against the parent's bandwidth using the
  // period in force, so a new quota must meet its own period. But a shorter period with the old
  // quota can itself exceed the parent (EINVAL): then set the quota and retry the period after.
  let periodPending = false;
  if (period !== undefined) {
    try {
      writeFile(fsys, dir, "cpu.cfs_period_us", String(period), "linux.resources.cpu.period");
    } catch (err) {
      if (errorCode(err) !== "EINVAL" || quota === undefined) throw err;
      periodPending = true;
    }
  }
  if (quota !== undefined) {
    writeFile(fsys, dir, "cpu.cfs_quota_us", String(quota), "linux.resources.cpu.quota");
    if (periodPending) writeFile(fsys, dir, "cpu.cfs_period_us", String(period), "linux.resources.cpu.period");
  }
}

function setPids(fsys: CgroupFs, dir: string, limit: number | undefined): void {
  const value = pidsMax(limit);
  if (value !== undefined) writeFile(fsys, dir, "pids.max", value, "linux.resources.pids.limit");
}

interface Writer {
  controller: string;
  field: string;
  wanted(r: LinuxResources): boolean;
  apply(fsys: CgroupFs, dir: string, r: LinuxResources): void;
}

// One row per controller. Devices first: if anything later fails, the container never ran with
// more device access than asked. (Next issue: cpuset, blkio, hugetlb, net_cls/prio, rdma, freezer.)
const WRITERS: Writer[] = [
  {
    controller: "devices",
    field: "linux.resources.devices",
    wanted: (r) => r.devices !== undefined,
    apply: (fsys, dir, r) => setDevicesV1(fsys, dir, r.devices ?? []),
  },
  {
    controller: "memory",
    field: "linux.resources.memory",
    wanted: (r) => memoryWanted(r.memory),
    apply: (fsys, dir, r) => setMemory(fsys, dir, r.memory ?? {}),
  },
  {
    controller: "cpu",
    field: "linux.resources.cpu",
    wanted: (r) => cpuWanted(r.cpu),
    apply: (fsys, dir, r) => setCpu(fsys, dir, r.cpu ?? {}),
  },
  {
    controller: "pids",
    field: "linux.resources.pids",
    wanted: (r) => r.pids?.limit !== undefined,
    apply: (fsys, dir, r) => setPids(fsys, dir, r.pids?.limit),
  },
];

/** Write the resources into the v1 hierarchies of `paths`. */
export function applyV1(fsys: CgroupFs, paths: Record<string, string>, resources: LinuxResources): void {
  for (const w of WRITERS) {
    if (!w.wanted(resources)) continue;
    const dir = paths[w.controller];
    if (dir === undefined) throw new Error(`${w.field}: no "${w.controller}" cgroup hierarchy is mounted`);
    w.apply(fsys, dir, resources);
  }
}
