// cgroup v2 writers, one per resource group, and controller delegation. The spec's values are
// cgroup v1's; convert.ts turns them into v2's.
import { dirname, join, relative } from "../sys/path.ts";
import { blkioWeightToIOWeight, cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
import { targetState } from "./devices.ts";
import { deviceProgram } from "./devices_bpf.ts";
import { installDeviceProgram } from "./devices_v2.ts";
import { type CgroupFs, errorCode, readFile, writeFile, writeLines, wrapError } from "./files.ts";
import {
  checkBeforeUpdate,
  checkCpuRanges,
  checkReservation,
  hugepageFiles,
  need,
  rdmaLines,
  throttles,
  validateHugepages,
} from "./shared.ts";
import { decimal, given, pidsMax, swappiness } from "./values.ts";
import type { Writer } from "./writer.ts";

const MEM = "linux.resources.memory";
const CPU = "linux.resources.cpu";
const BIO = "linux.resources.blockIO";

// "-1" in the spec, "max" in cgroup v2 files; and back.
const v2Value = (n: number) => (n === -1 ? "max" : decimal(n));
const fromV2 = (s: string) => (s === "max" ? -1 : Number(s));

const memory: Writer = {
  controller: "memory",
  validate(r) {
    const m = r.memory ?? {};
    if (swappiness(m) !== undefined) throw new Error(`${MEM}.swappiness: cgroup v2 has no per-cgroup swappiness`);
    if (m.disableOOMKiller === true) throw new Error(`${MEM}.disableOOMKiller: cgroup v2 cannot switch the OOM killer off`);
  },
  prepare({ fsys, dir, r }) {
    const m = r.memory ?? {};
    const limit = given(m.limit);
    const swap = given(m.swap);
    const reservation = given(m.reservation);
    let inForce: number | undefined;
    const current = () => (inForce ??= fromV2(readFile(fsys, dir, "memory.max", `${MEM}.limit`)));
    // swap is memory+swap; a swap-only update is measured against the limit in force.
    const swapMax = memorySwapToV2(swap, limit ?? (swap !== undefined && swap !== -1 ? current() : undefined));
    // Without swap accounting there is no file, and "unlimited" or "none" are already the case.
    const writeSwap = swapMax !== undefined && (fsys.exists(join(dir, "memory.swap.max")) || !(swapMax === -1 || swapMax === 0));
    if (writeSwap) need(fsys, dir, "memory.swap.max", `${MEM}.swap`, "no swap accounting");
    if (reservation !== undefined) {
      const l = limit ?? current();
      checkReservation(reservation, l === -1 ? Infinity : l);
    }
    if (m.checkBeforeUpdate === true) {
      const usage = () => Number(readFile(fsys, dir, "memory.current", `${MEM}.limit`));
      checkBeforeUpdate(limit, usage, "limit");
      checkBeforeUpdate(swap, usage, "swap");
    }
    return () => {
      if (writeSwap) writeFile(fsys, dir, "memory.swap.max", v2Value(swapMax as number), `${MEM}.swap`);
      if (limit !== undefined) writeFile(fsys, dir, "memory.max", v2Value(limit), `${MEM}.limit`);
      if (reservation !== undefined) writeFile(fsys, dir, "memory.low", v2Value(reservation), `${MEM}.reservation`);
    };
  },
};

const cpu: Writer = {
  controller: "cpu",
  validate(r) {
    const c = r.cpu ?? {};
    checkCpuRanges(c);
    for (const key of ["realtimeRuntime", "realtimePeriod"] as const) {
      if (given(c[key]) !== undefined) throw new Error(`${CPU}.${key}: cgroup v2 has no real-time group scheduling`);
    }
  },
  prepare({ fsys, dir, r }) {
    const c = r.cpu ?? {};
    const shares = given(c.shares);
    const quota = given(c.quota);
    const period = given(c.period);
    if (c.burst !== undefined) need(fsys, dir, "cpu.max.burst", `${CPU}.burst`);
    if (c.idle !== undefined) need(fsys, dir, "cpu.idle", `${CPU}.idle`);
    let max: string | undefined;
    if (quota !== undefined || period !== undefined) {
      // cpu.max holds "$QUOTA $PERIOD" in one write; "$QUOTA" alone keeps the period. A period
      // alone keeps the quota in force (runc 1.1.5 would reset it to "max"); a negative quota is
      // the spec's "no limit".
      const q = quota === undefined ? (readFile(fsys, dir, "cpu.max", `${CPU}.period`).split(" ")[0] ?? "max") : quota < 0 ? "max" : String(quota);
      max = period === undefined ? q : `${q} ${period}`;
    }
    const field = quota !== undefined ? `${CPU}.quota` : `${CPU}.period`;
    return () => {
      if (c.idle !== undefined) writeFile(fsys, dir, "cpu.idle", String(c.idle), `${CPU}.idle`);
      if (shares !== undefined) writeFile(fsys, dir, "cpu.weight", String(cpuSharesToWeight(shares)), `${CPU}.shares`);
      // burst must not exceed the quota in force: a burst that only fits the new quota waits for it.
      let burstLater = false;
      if (c.burst !== undefined) {
        try {
          writeFile(fsys, dir, "cpu.max.burst", String(c.burst), `${CPU}.burst`);
        } catch (err) {
          if (errorCode(err) !== "EINVAL" || max === undefined) throw err;
          burstLater = true;
        }
      }
      if (max !== undefined) writeFile(fsys, dir, "cpu.max", max, field);
      if (burstLater) writeFile(fsys, dir, "cpu.max.burst", String(c.burst), `${CPU}.burst`);
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

const pids: Writer = {
  controller: "pids",
  prepare: ({ fsys, dir, r }) => () => writeFile(fsys, dir, "pids.max", pidsMax(r.pids?.limit) as string, "linux.resources.pids.limit"),
};

const io: Writer = {
  controller: "io",
  validate(r) {
    const b = r.blockIO ?? {};
    if (given(b.leafWeight) !== undefined) throw new Error(`${BIO}.leafWeight: cgroup v2 has no leaf weights`);
    (b.weightDevice ?? []).forEach((d, i) => {
      if (given(d.leafWeight) !== undefined) throw new Error(`${BIO}.weightDevice[${i}].leafWeight: cgroup v2 has no leaf weights`);
    });
  },
  prepare({ fsys, dir, r }) {
    const b = r.blockIO ?? {};
    const weight = given(b.weight);
    const devices = (b.weightDevice ?? []).filter((d) => given(d.weight) !== undefined);
    // BFQ takes v1's weights (1-1000) as they are, in io.bfq.weight, per device too when its file
    // reads "default N" (Linux ≥ 5.4); otherwise io.weight (1-10000), converted.
    const bfq = fsys.exists(join(dir, "io.bfq.weight"));
    const bfqPerDevice = bfq && /^default\b/.test(readFile(fsys, dir, "io.bfq.weight", `${BIO}.weight`));
    if ((weight !== undefined && !bfq) || (devices.length > 0 && !bfqPerDevice)) need(fsys, dir, "io.weight", `${BIO}.weight`, "no proportional-weight I/O control");
    const limits = throttles(b);
    if (limits.length > 0) need(fsys, dir, "io.max", limits[0]!.field, "no I/O throttling");
    return () => {
      if (weight !== undefined) {
        if (bfq) writeFile(fsys, dir, "io.bfq.weight", String(weight), `${BIO}.weight`);
        else writeFile(fsys, dir, "io.weight", String(blkioWeightToIOWeight(weight)), `${BIO}.weight`);
      }
      devices.forEach((d, i) => {
        const w = d.weight as number;
        const [file, value] = bfqPerDevice ? ["io.bfq.weight", w] : ["io.weight", blkioWeightToIOWeight(w)];
        writeFile(fsys, dir, file, `${d.major}:${d.minor} ${value}`, `${BIO}.weightDevice[${i}]`);
      });
      for (const t of limits) writeFile(fsys, dir, "io.max", `${t.major}:${t.minor} ${t.op}=${decimal(t.rate)}`, t.field);
    };
  },
};

const hugetlb: Writer = {
  controller: "hugetlb",
  validate: (r) => validateHugepages(r.hugepageLimits ?? []),
  prepare(ctx) {
    const files = hugepageFiles(ctx, ".max");
    return () => {
      for (const f of files) for (const file of f.files) writeFile(ctx.fsys, ctx.dir, file, decimal(f.limit), f.field);
    };
  },
};

const rdma: Writer = {
  controller: "rdma",
  prepare(ctx) {
    const lines = rdmaLines(ctx);
    return () => {
      for (const [line, field] of lines) writeFile(ctx.fsys, ctx.dir, "rdma.max", line, field);
    };
  },
};

const devices: Writer = {
  controller: "",
  validate: (r) => void deviceProgram(targetState(r.devices ?? [])),
  prepare({ kernel, dir, r }) {
    const prog = deviceProgram(targetState(r.devices ?? []));
    return () => installDeviceProgram(kernel(), dir, prog);
  },
};

const UNI = "linux.resources.unified";

/** A unified key's controller ("io" for "io.max"), or undefined for core "cgroup.*" files. */
export function unifiedController(key: string): string | undefined {
  const c = key.slice(0, key.indexOf("."));
  return c === "cgroup" ? undefined : c;
}

const unified: Writer = {
  controller: "",
  validate(r) {
    for (const key of Object.keys(r.unified ?? {})) {
      if (key.includes("/") || key.includes("\0")) throw new Error(`${UNI}[${JSON.stringify(key)}]: must be a file name (no slashes)`);
      if (!/^[^.]+\.[^.]/.test(key)) throw new Error(`${UNI}[${JSON.stringify(key)}]: must be in the form CONTROLLER.PARAMETER`);
    }
  },
  prepare({ fsys, dir, r }) {
    const entries = Object.entries(r.unified ?? {});
    for (const [key] of entries) {
      if (fsys.exists(join(dir, key))) continue;
      const c = unifiedController(key);
      const available = readFile(fsys, dir, "cgroup.controllers", UNI).split(/\s+/);
      const why = c !== undefined && !available.includes(c) ? ` (the "${c}" controller is not available)` : "";
      throw new Error(`${UNI}[${JSON.stringify(key)}]: no such file in "${dir}"${why}`);
    }
    // Written last, so a key wins over the structured field it overlaps (runc's order).
    return () => {
      for (const [key, value] of entries) writeLines(fsys, dir, key, value, `${UNI}[${JSON.stringify(key)}]`);
    };
  },
};

/** The v2 writers, by resource group (see resources.ts). */
export const V2 = { devices, memory, cpu, cpuset, pids, io, hugetlb, rdma, unified };

/**
 * Delegate controllers down to `dir`: in cgroup.subtree_control of every ancestor from the
 * hierarchy's mount to its parent (a controller's files appear in a cgroup only when its parent
 * delegates it). With `all`, every controller each ancestor has, as runc does, so stats work and
 * the container can delegate further; otherwise just the `needed` ones. Nothing is ever disabled:
 * siblings may rely on it. A needed controller that cannot be had is an error naming its field.
 */
export function enableControllers(fsys: CgroupFs, mountDir: string, dir: string, needed: ReadonlyMap<string, string>, all: boolean): void {
  const ancestors = [mountDir];
  const below = relative(mountDir, dirname(dir));
  for (const part of below === "" ? [] : below.split("/")) ancestors.push(join(ancestors.at(-1) ?? mountDir, part));
  for (const ancestor of ancestors) {
    const what = `delegate controllers to "${dir}"`;
    const enabled = readFile(fsys, ancestor, "cgroup.subtree_control", what).split(/\s+/);
    const available = readFile(fsys, ancestor, "cgroup.controllers", what).split(/\s+/).filter((c) => c !== "");
    for (const [controller, field] of needed) {
      if (!available.includes(controller)) throw new Error(`${field}: the "${controller}" controller is not available in "${ancestor}"`);
    }
    const missing = (all ? available : [...needed.keys()]).filter((c) => !enabled.includes(c));
    if (missing.length === 0) continue;
    const file = join(ancestor, "cgroup.subtree_control");
    try {
      fsys.write(file, missing.map((c) => `+${c}`).join(" "));
      continue;
    } catch {
      // One at a time, so one controller that cannot be enabled does not keep the others out.
    }
    for (const controller of missing) {
      try {
        fsys.write(file, `+${controller}`);
      } catch (err) {
        const field = needed.get(controller);
        // EBUSY: the ancestor has processes of its own ("no internal processes" rule).
        if (field !== undefined) throw wrapError(`${field}: enable "${controller}" in "${file}"`, err);
      }
    }
  }
}
