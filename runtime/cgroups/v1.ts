// cgroup v1 writers, one per resource group. File names and write orders follow the kernel's
// cgroup-v1 documentation and runc (libcontainer/cgroups/fs): where the kernel checks one file
// against another on every write, the order is chosen so each single write is valid.
import { join } from "../sys/path.ts";
import { ruleString, stateFromList, targetState, transition } from "./devices.ts";
import { type CgroupFs, errorCode, readFile, writeFile } from "./files.ts";
import {
  checkBeforeUpdate,
  checkCpuRanges,
  checkReservation,
  hugepageFiles,
  need,
  rdmaLines,
  throttles,
  validateHugepages,
  validatePriorities,
} from "./shared.ts";
import { decimal, given, pidsMax, swappiness } from "./values.ts";
import type { Ctx, Writer } from "./writer.ts";

const MEM = "linux.resources.memory";
const LIMIT = "memory.limit_in_bytes";
const MEMSW = "memory.memsw.limit_in_bytes";
const KMEM_TCP = "memory.kmem.tcp.limit_in_bytes";

function setMemoryLimit(fsys: CgroupFs, dir: string, limit: number): void {
  try {
    writeFile(fsys, dir, LIMIT, String(limit), `${MEM}.limit`);
  } catch (err) {
    // EBUSY: the kernel could not reclaim down to the new limit; say so instead of a bare errno.
    if (errorCode(err) !== "EBUSY") throw err;
    const usage = fsys.read(join(dir, "memory.usage_in_bytes")).trim();
    const peak = fsys.read(join(dir, "memory.max_usage_in_bytes")).trim();
    throw new Error(
      `${MEM}.limit: ${limit} is below the current usage ${usage} (peak ${peak}): write "${LIMIT}": EBUSY`,
      { cause: err },
    );
  }
}

// The kernel's "unlimited" reads back as a huge number; -1 in the config.
const bytes = (v: number) => (v === -1 ? Infinity : v);

const memory: Writer = {
  controller: "memory",
  validate(r) {
    const s = swappiness(r.memory);
    if (s !== undefined && s > 100) throw new Error(`${MEM}.swappiness: must be between 0 and 100, found ${s}`);
  },
  prepare({ fsys, dir, r }) {
    const m = r.memory ?? {};
    const limit = given(m.limit);
    let swap = given(m.swap);
    const reservation = given(m.reservation);
    const hasMemsw = fsys.exists(join(dir, MEMSW));
    // Unlimited memory must lift memsw too, or memsw would stay the effective (lower) limit.
    if (limit === -1 && swap === undefined && hasMemsw) swap = -1;
    if (swap !== undefined && !hasMemsw) {
      if (swap !== -1) throw new Error(`${MEM}.swap: this host has no swap accounting (no "${MEMSW}"), so only -1 is possible, found ${swap}`);
      swap = undefined; // unlimited is already the case
    }

    const current = Number(readFile(fsys, dir, LIMIT, `${MEM}.limit`));
    const effLimit = limit === undefined ? current : bytes(limit);
    if (hasMemsw && (limit !== undefined || swap !== undefined)) {
      // memsw counts memory+swap, and the kernel refuses limit > memsw after every write.
      const effSwap = swap === undefined ? Number(readFile(fsys, dir, MEMSW, `${MEM}.swap`)) : bytes(swap);
      if (effLimit > effSwap) {
        throw new Error(
          swap === undefined
            ? `${MEM}.limit: ${limit} is above the memory+swap limit ${effSwap} in force; raise ${MEM}.swap too`
            : `${MEM}.swap: must be at least the memory limit ${effLimit === current ? `${current} in force` : effLimit} (it counts memory+swap), found ${swap}`,
        );
      }
    }
    checkReservation(reservation, effLimit);
    if (m.checkBeforeUpdate === true) {
      checkBeforeUpdate(limit, () => Number(readFile(fsys, dir, "memory.usage_in_bytes", `${MEM}.limit`)), "limit");
      if (hasMemsw) checkBeforeUpdate(swap, () => Number(readFile(fsys, dir, "memory.memsw.usage_in_bytes", `${MEM}.swap`)), "swap");
    }
    const swappy = swappiness(m);
    if (swappy !== undefined) need(fsys, dir, "memory.swappiness", `${MEM}.swappiness`);
    // kernelTCP still works on v1 where the kernel has TCP buffer accounting (runc 1.1 ignores it;
    // crun writes it); without the file it is accepted and ignored, as runc does.
    const tcp = given(m.kernelTCP);
    const writeTcp = tcp !== undefined && fsys.exists(join(dir, KMEM_TCP));
    if (m.disableOOMKiller === true) need(fsys, dir, "memory.oom_control", `${MEM}.disableOOMKiller`);

    return () => {
      const writeLimit = () => limit !== undefined && setMemoryLimit(fsys, dir, limit);
      const writeSwap = () => swap !== undefined && writeFile(fsys, dir, MEMSW, String(swap), `${MEM}.swap`);
      // When memsw grows past the current limit write it first, when it shrinks lower the limit first.
      if (limit !== undefined && swap !== undefined && (swap === -1 || current < swap)) {
        writeSwap();
        writeLimit();
      } else {
        writeLimit();
        writeSwap();
      }
      if (reservation !== undefined) writeFile(fsys, dir, "memory.soft_limit_in_bytes", String(reservation), `${MEM}.reservation`);
      // Only ever switched off, as runc does: false leaves the kernel's default (and an earlier true).
      if (m.disableOOMKiller === true) writeFile(fsys, dir, "memory.oom_control", "1", `${MEM}.disableOOMKiller`);
      if (swappy !== undefined) writeFile(fsys, dir, "memory.swappiness", String(swappy), `${MEM}.swappiness`);
      if (writeTcp) writeFile(fsys, dir, KMEM_TCP, String(tcp), `${MEM}.kernelTCP`);
      // kernel and useHierarchy are never written (runc 1.1.5 neither): current kernels accept
      // memory.kmem.limit_in_bytes but ignore it, and use_hierarchy is always 1.
    };
  },
};

const CPU = "linux.resources.cpu";

type Write = [file: string, value: string | undefined, field: string];

/**
 * Write `before`, then `pivot`; a `before` write the kernel refuses with EINVAL is retried after
 * the pivot, when there is one. The kernel checks cfs period and burst (and rt period) against the
 * quota (runtime) in force, so a value that only fits with the new quota must wait for it.
 */
function writeAround(fsys: CgroupFs, dir: string, before: Write[], pivot: Write): void {
  const retry: Write[] = [];
  for (const w of before) {
    if (w[1] === undefined) continue;
    try {
      writeFile(fsys, dir, w[0], w[1], w[2]);
    } catch (err) {
      if (errorCode(err) !== "EINVAL" || pivot[1] === undefined) throw err;
      retry.push(w);
    }
  }
  if (pivot[1] !== undefined) writeFile(fsys, dir, pivot[0], pivot[1], pivot[2]);
  for (const w of retry) writeFile(fsys, dir, w[0], w[1] as string, w[2]);
}

const cpu: Writer = {
  controller: "cpu",
  validate: (r) => checkCpuRanges(r.cpu ?? {}),
  prepare({ fsys, dir, r }) {
    const c = r.cpu ?? {};
    const shares = given(c.shares);
    const period = given(c.period);
    const quota = given(c.quota);
    const rtPeriod = given(c.realtimePeriod);
    const rtRuntime = given(c.realtimeRuntime);
    if (c.burst !== undefined) need(fsys, dir, "cpu.cfs_burst_us", `${CPU}.burst`);
    if (c.idle !== undefined) need(fsys, dir, "cpu.idle", `${CPU}.idle`);
    // Only with CONFIG_RT_GROUP_SCHED.
    if (rtPeriod !== undefined) need(fsys, dir, "cpu.rt_period_us", `${CPU}.realtimePeriod`);
    if (rtRuntime !== undefined) need(fsys, dir, "cpu.rt_runtime_us", `${CPU}.realtimeRuntime`);
    const str = (v: number | undefined) => (v === undefined ? undefined : String(v));
    return () => {
      if (shares !== undefined) writeFile(fsys, dir, "cpu.shares", String(shares), `${CPU}.shares`);
      writeAround(
        fsys,
        dir,
        [["cpu.cfs_period_us", str(period), `${CPU}.period`], ["cpu.cfs_burst_us", str(c.burst), `${CPU}.burst`]],
        ["cpu.cfs_quota_us", str(quota), `${CPU}.quota`],
      );
      if (c.idle !== undefined) writeFile(fsys, dir, "cpu.idle", String(c.idle), `${CPU}.idle`);
      writeAround(fsys, dir, [["cpu.rt_period_us", str(rtPeriod), `${CPU}.realtimePeriod`]], ["cpu.rt_runtime_us", str(rtRuntime), `${CPU}.realtimeRuntime`]);
    };
  },
};

const cpuset: Writer = {
  controller: "cpuset",
  prepare({ fsys, dir, r }) {
    const { cpus, mems } = r.cpu ?? {};
    return () => {
      if (cpus) writeFile(fsys, dir, "cpuset.cpus", cpus, `${CPU}.cpus`);
      if (mems) writeFile(fsys, dir, "cpuset.mems", mems, `${CPU}.mems`);
    };
  },
};

const devices: Writer = {
  controller: "devices",
  validate: (r) => void targetState(r.devices ?? []),
  prepare({ fsys, dir, r }) {
    // From what the cgroup allows now to what the config asks, in the fewest writes: a fresh cgroup
    // inherits allow-all, so that is "a" to devices.deny (default deny, as runc and crun start),
    // then one devices.allow per device.
    const rules = transition(stateFromList(readFile(fsys, dir, "devices.list", "linux.resources.devices")), targetState(r.devices ?? []));
    return () => {
      for (const rule of rules) {
        writeFile(fsys, dir, rule.allow ? "devices.allow" : "devices.deny", ruleString(rule), "linux.resources.devices");
      }
    };
  },
};

const pids: Writer = {
  controller: "pids",
  prepare: ({ fsys, dir, r }) => () => writeFile(fsys, dir, "pids.max", pidsMax(r.pids?.limit) as string, "linux.resources.pids.limit"),
};

const BIO = "linux.resources.blockIO";

const blkio: Writer = {
  controller: "blkio",
  prepare({ fsys, dir, r }) {
    const b = r.blockIO ?? {};
    const indexed = (b.weightDevice ?? []).map((d, i) => ({ ...d, field: `${BIO}.weightDevice[${i}]` }));
    const weights = indexed.filter((d) => given(d.weight) !== undefined);
    const leafs = indexed.filter((d) => given(d.leafWeight) !== undefined);
    // CFQ's files, or BFQ's when that is the scheduler (CFQ is gone since Linux 5.0).
    const bfq = !fsys.exists(join(dir, "blkio.weight"));
    const weightFile = bfq ? "blkio.bfq.weight" : "blkio.weight";
    if (given(b.weight) !== undefined) need(fsys, dir, weightFile, `${BIO}.weight`, "no proportional-weight I/O scheduler");
    if (weights.length > 0) need(fsys, dir, `${weightFile}_device`, `${BIO}.weightDevice`, "no proportional-weight I/O scheduler");
    if (given(b.leafWeight) !== undefined) need(fsys, dir, "blkio.leaf_weight", `${BIO}.leafWeight`, "leaf weights went with CFQ");
    if (leafs.length > 0) need(fsys, dir, "blkio.leaf_weight_device", `${BIO}.weightDevice`, "leaf weights went with CFQ");
    const limits = throttles(b).map((t) => ({ ...t, file: `blkio.throttle.${t.op.startsWith("r") ? "read" : "write"}_${t.op.endsWith("bps") ? "bps" : "iops"}_device` }));
    for (const t of limits) need(fsys, dir, t.file, t.field, "no I/O throttling");
    return () => {
      if (given(b.weight) !== undefined) writeFile(fsys, dir, weightFile, String(b.weight), `${BIO}.weight`);
      if (given(b.leafWeight) !== undefined) writeFile(fsys, dir, "blkio.leaf_weight", String(b.leafWeight), `${BIO}.leafWeight`);
      for (const d of weights) writeFile(fsys, dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`, d.field);
      for (const d of leafs) writeFile(fsys, dir, "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`, d.field);
      for (const t of limits) writeFile(fsys, dir, t.file, `${t.major}:${t.minor} ${decimal(t.rate)}`, t.field);
    };
  },
};

const hugetlb: Writer = {
  controller: "hugetlb",
  validate: (r) => validateHugepages(r.hugepageLimits ?? []),
  prepare(ctx) {
    const files = hugepageFiles(ctx, ".limit_in_bytes");
    return () => {
      for (const f of files) for (const file of f.files) writeFile(ctx.fsys, ctx.dir, file, decimal(f.limit), f.field);
    };
  },
};

const netCls: Writer = {
  controller: "net_cls",
  prepare: ({ fsys, dir, r }) => () =>
    writeFile(fsys, dir, "net_cls.classid", String(r.network?.classID), "linux.resources.network.classID"),
};

const netPrio: Writer = {
  controller: "net_prio",
  validate: (r) => validatePriorities(r.network?.priorities ?? []),
  prepare: ({ fsys, dir, r }) => () => {
    (r.network?.priorities ?? []).forEach((p, i) =>
      writeFile(fsys, dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`, `linux.resources.network.priorities[${i}]`),
    );
  },
};

const rdma: Writer = {
  controller: "rdma",
  prepare(ctx: Ctx) {
    const lines = rdmaLines(ctx);
    return () => {
      for (const [line, field] of lines) writeFile(ctx.fsys, ctx.dir, "rdma.max", line, field);
    };
  },
};

/** The v1 writers, by resource group (see resources.ts). */
export const V1 = { devices, memory, cpu, cpuset, pids, blkio, hugetlb, netCls, netPrio, rdma };
