import type { LinuxBlockIO, LinuxCPU, LinuxMemory } from "./types.ts";

/**
 * A numeric limit the config really sets. 0 counts as unset, as in runc (Go's zero value): for
 * memory, cpu shares/quota/period/realtime, blkio weights and net_cls it is never a meaningful
 * setting, and configs written by Go engines carry it to mean "no opinion".
 */
export function given(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

/**
 * pids.max for linux.resources.pids.limit, per runtime-spec 1.3: -1 (any negative, like runc) is
 * "max"; 0 is a real limit the kernel accepts and the spec says to honour (runc ≥ 1.4 writes 1
 * instead, to match systemd, which we do not drive); unset writes nothing.
 */
export function pidsMax(limit: number | undefined): string | undefined {
  if (limit === undefined) return undefined;
  return limit < 0 ? "max" : String(limit);
}

/**
 * memory.swappiness, or undefined when unset. Go engines write -1 ("leave it") into this uint64
 * as 2^64 - 1, which JSON turns into 2^64: anything from 2^63 on is that -1, as runc reads it.
 */
export function swappiness(m: LinuxMemory | undefined): number | undefined {
  const v = m?.swappiness;
  return v === undefined || v >= 2 ** 63 ? undefined : v;
}

export function memoryWanted(m: LinuxMemory | undefined): boolean {
  if (m === undefined) return false;
  return [m.limit, m.swap, m.reservation, m.kernelTCP].some((v) => given(v) !== undefined) || swappiness(m) !== undefined || m.disableOOMKiller === true;
}

export function cpuWanted(c: LinuxCPU | undefined): boolean {
  if (c === undefined) return false;
  // burst and idle are pointers in runc ≥ 1.2: 0 is a real value for both.
  return [c.shares, c.quota, c.period, c.realtimeRuntime, c.realtimePeriod].some((v) => given(v) !== undefined) || c.burst !== undefined || c.idle !== undefined;
}

export function cpusetWanted(c: LinuxCPU | undefined): boolean {
  return !!c?.cpus || !!c?.mems;
}

export function blockIOWanted(b: LinuxBlockIO | undefined): boolean {
  if (b === undefined) return false;
  const lists = [b.weightDevice, b.throttleReadBpsDevice, b.throttleWriteBpsDevice, b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice];
  return given(b.weight) !== undefined || given(b.leafWeight) !== undefined || lists.some((l) => (l?.length ?? 0) > 0);
}

/** Numbers as control files take them: integers in full, never "1e+21". */
export function decimal(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(Math.trunc(n)).toString();
}
