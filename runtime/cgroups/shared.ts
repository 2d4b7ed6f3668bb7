// Checks and file choices v1 and v2 writers share. Everything here runs before any write.
import { join } from "../sys/path.ts";
import { type CgroupFs, readFile } from "./files.ts";
import type { LinuxBlockIO, LinuxCPU, LinuxHugepageLimit, LinuxInterfacePriority } from "./types.ts";
import { given } from "./values.ts";
import type { Ctx } from "./writer.ts";

/** A control file the write will need; its absence means the host lacks the feature. */
export function need(fsys: CgroupFs, dir: string, file: string, field: string, why?: string): void {
  if (!fsys.exists(join(dir, file))) {
    throw new Error(`${field}: this host does not provide "${file}" in "${dir}"${why ? ` (${why})` : ""}`);
  }
}

export function checkReservation(reservation: number | undefined, limit: number): void {
  if (reservation !== undefined && reservation !== -1 && reservation > limit) {
    throw new Error(`linux.resources.memory.reservation: must not exceed the memory limit ${limit}, found ${reservation}`);
  }
}

/** memory.checkBeforeUpdate: refuse a limit the cgroup already uses (runc ≥ 1.2's wording). */
export function checkBeforeUpdate(value: number | undefined, usage: () => number, what: "limit" | "swap"): void {
  if (value === undefined || value <= 0) return;
  const used = usage();
  if (value <= used) {
    throw new Error(`linux.resources.memory.${what}: rejecting ${value}, not above the current usage ${used} (checkBeforeUpdate)`);
  }
}

const CPU = "linux.resources.cpu";

/** The kernel's ranges, checked up front so that a bad value does not leave half an update behind. */
export function checkCpuRanges(c: LinuxCPU): void {
  const shares = given(c.shares);
  if (shares !== undefined && (shares < 2 || shares > 262144)) {
    throw new Error(`${CPU}.shares: must be between 2 and 262144, found ${shares}`);
  }
  const period = given(c.period);
  if (period !== undefined && (period < 1000 || period > 1_000_000)) {
    throw new Error(`${CPU}.period: must be between 1000 and 1000000 (1 ms to 1 s), found ${period}`);
  }
  const quota = given(c.quota);
  if (quota !== undefined && quota > 0 && quota < 1000) {
    throw new Error(`${CPU}.quota: must be at least 1000 (1 ms), or -1 for no limit, found ${quota}`);
  }
  if (c.burst !== undefined && quota !== undefined && quota > 0 && c.burst > quota) {
    throw new Error(`${CPU}.burst: must not exceed quota (${quota}), found ${c.burst}`);
  }
}

export interface Throttle {
  op: "rbps" | "wbps" | "riops" | "wiops";
  major: number;
  minor: number;
  rate: number;
  field: string;
}

export function throttles(b: LinuxBlockIO): Throttle[] {
  const lists = [
    ["rbps", "throttleReadBpsDevice"],
    ["wbps", "throttleWriteBpsDevice"],
    ["riops", "throttleReadIOPSDevice"],
    ["wiops", "throttleWriteIOPSDevice"],
  ] as const;
  return lists.flatMap(([op, key]) =>
    (b[key] ?? []).map((d, i) => ({ op, major: d.major, minor: d.minor, rate: d.rate, field: `linux.resources.blockIO.${key}[${i}]` })),
  );
}

const HUGE = "linux.resources.hugepageLimits";

export function validateHugepages(limits: readonly LinuxHugepageLimit[]): void {
  limits.forEach((l, i) => {
    // Part of a file name: the schema's pattern, checked again since update input skips the schema.
    if (!/^[1-9][0-9]*[KMG]B$/.test(l.pageSize)) throw new Error(`${HUGE}[${i}].pageSize: must look like "2MB" or "1GB", found "${l.pageSize}"`);
  });
}

/**
 * The files each hugepage limit goes to: hugetlb.<size><suffix>, whose absence means the host has
 * no such page size, and the matching .rsvd file (Linux ≥ 5.7) when present, so reservations are
 * capped too (runc ≥ 1.2).
 */
export function hugepageFiles({ fsys, dir, r }: Ctx, suffix: string): { files: string[]; limit: number; field: string }[] {
  return (r.hugepageLimits ?? []).map((l, i) => {
    const main = `hugetlb.${l.pageSize}${suffix}`;
    if (!fsys.exists(join(dir, main))) {
      throw new Error(`${HUGE}[${i}].pageSize: "${l.pageSize}" is not a huge page size this host supports (no "${main}" in "${dir}")`);
    }
    const rsvd = `hugetlb.${l.pageSize}.rsvd${suffix}`;
    return { files: fsys.exists(join(dir, rsvd)) ? [main, rsvd] : [main], limit: l.limit, field: `${HUGE}[${i}].limit` };
  });
}

export function validatePriorities(priorities: readonly LinuxInterfacePriority[]): void {
  priorities.forEach((p, i) => {
    if (!/^[^\s/]+$/.test(p.name)) throw new Error(`linux.resources.network.priorities[${i}].name: not an interface name: "${p.name}"`);
  });
}

/** rdma.max lines, after checking each device exists (rdma.max lists every device the host has). */
export function rdmaLines({ fsys, dir, r }: Ctx): [line: string, field: string][] {
  const entries = Object.entries(r.rdma ?? {});
  const field = (name: string) => `linux.resources.rdma[${JSON.stringify(name)}]`;
  const known = readFile(fsys, dir, "rdma.max", "linux.resources.rdma")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((d) => d !== "");
  return entries.map(([name, limit]) => {
    if (!known.includes(name)) {
      throw new Error(`${field(name)}: no such RDMA device on this host (it has ${known.length ? known.map((k) => `"${k}"`).join(", ") : "none"})`);
    }
    if (limit.hcaHandles === undefined && limit.hcaObjects === undefined) throw new Error(`${field(name)}: needs hcaHandles or hcaObjects`);
    let line = name;
    if (limit.hcaHandles !== undefined) line += ` hca_handle=${limit.hcaHandles}`;
    if (limit.hcaObjects !== undefined) line += ` hca_object=${limit.hcaObjects}`;
    return [line, field(name)];
  });
}
