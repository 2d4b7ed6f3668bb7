// `tsrun update` input → the resources to write, as runc 1.1.5's update.go reads it: only the
// fields given change (an unset flag, or 0, leaves the limit in force), and a `--resources` file
// contributes only the fields runc's update honours.
import type { LinuxResources } from "./types.ts";

/** runc's update flags by name, as given on the command line. */
export interface UpdateFlags {
  "blkio-weight"?: string;
  "cpu-period"?: string;
  "cpu-quota"?: string;
  "cpu-share"?: string;
  "cpu-rt-period"?: string;
  "cpu-rt-runtime"?: string;
  "cpuset-cpus"?: string;
  "cpuset-mems"?: string;
  /** Obsolete; accepted and ignored (runc: "Kernel memory settings are ignored and will be removed"). */
  "kernel-memory"?: string;
  "kernel-memory-tcp"?: string;
  memory?: string;
  "memory-reservation"?: string;
  "memory-swap"?: string;
  "pids-limit"?: string;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/**
 * docker/go-units RAMInBytes, which runc uses: "512m", "1.5g", "64MiB", "100" (bytes); units are
 * binary whatever their spelling. "-1" means unlimited.
 */
export function parseMemorySize(flag: string, value: string): number {
  if (value === "-1") return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (m === null) throw new Error(`invalid value for ${flag}: invalid size: '${value}'`);
  return Math.trunc(Number.parseFloat(m[1] as string) * (UNITS[(m[2] ?? "").toLowerCase()] as number));
}

function integer(flag: string, value: string, unsigned: boolean): number {
  if (!(unsigned ? /^\d+$/ : /^[-+]?\d+$/).test(value)) {
    throw new Error(`invalid value for ${flag}: strconv.Parse${unsigned ? "Uint" : "Int"}: parsing ${JSON.stringify(value)}: invalid syntax`);
  }
  return Number(value);
}

export function updateFromFlags(flags: UpdateFlags): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources["memory"]> = {};
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  const set = <T extends object, K extends keyof T>(o: T, k: K, v: T[K] | undefined) => {
    if (v !== undefined && v !== 0) o[k] = v;
  };
  const num = (flag: keyof UpdateFlags, unsigned: boolean) => (flags[flag] ? integer(flag, flags[flag], unsigned) : undefined);
  const size = (flag: keyof UpdateFlags) => (flags[flag] ? parseMemorySize(flag, flags[flag]) : undefined);

  set(memory, "limit", size("memory"));
  set(memory, "reservation", size("memory-reservation"));
  set(memory, "swap", size("memory-swap"));
  set(memory, "kernel", size("kernel-memory"));
  set(memory, "kernelTCP", size("kernel-memory-tcp"));
  set(cpu, "shares", num("cpu-share", true));
  set(cpu, "quota", num("cpu-quota", false));
  set(cpu, "period", num("cpu-period", true));
  set(cpu, "realtimeRuntime", num("cpu-rt-runtime", false));
  set(cpu, "realtimePeriod", num("cpu-rt-period", true));
  if (flags["cpuset-cpus"]) cpu.cpus = flags["cpuset-cpus"];
  if (flags["cpuset-mems"]) cpu.mems = flags["cpuset-mems"];
  if (Object.keys(memory).length > 0) r.memory = memory;
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  const weight = num("blkio-weight", false);
  if (weight !== undefined && weight !== 0) r.blockIO = { weight };
  // An int flag in runc 1.1.5: 0 is its default, so it cannot mean "limit to 0" there either.
  const pids = num("pids-limit", false);
  if (pids !== undefined && pids !== 0) r.pids = { limit: pids };
  return r;
}

/**
 * The part of an `update --resources` file runc 1.1.5 applies: memory limit, reservation, swap
 * (kernel accepted and ignored; kernelTCP applied where v1 has the file); cpu shares, quota, period, realtime, cpus, mems; blockIO weight;
 * pids limit; unified. The rest (devices, hugepages, network, rdma, throttles) is ignored, as there.
 */
export function updatableResources(file: LinuxResources): LinuxResources {
  const r: LinuxResources = {};
  const pick = <T extends object>(o: T | undefined, keys: (keyof T)[]): T | undefined => {
    if (o === undefined) return undefined;
    const out = {} as T;
    for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const memory = pick(file.memory, ["limit", "reservation", "swap", "kernel", "kernelTCP"]);
  const cpu = pick(file.cpu, ["shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"]);
  const blockIO = pick(file.blockIO, ["weight"]);
  if (memory) r.memory = memory;
  if (cpu) r.cpu = cpu;
  if (blockIO) r.blockIO = blockIO;
  if (file.pids?.limit !== undefined && file.pids.limit !== 0) r.pids = { limit: file.pids.limit };
  if (file.unified !== undefined) r.unified = file.unified;
  return r;
}
