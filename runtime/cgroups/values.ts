import type { LinuxCPU, LinuxMemory } from "./types.ts";

/**
 * A numeric limit the config really sets. 0 counts as unset, as in runc (Go's zero value): for
 * memory, cpu shares/quota/period it is never a meaningful setting, and configs written by Go
 * engines carry it to mean "no opinion".
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

export function memoryWanted(m: LinuxMemory | undefined): boolean {
  return m !== undefined && [m.limit, m.swap, m.reservation].some((v) => given(v) !== undefined);
}

export function cpuWanted(c: LinuxCPU | undefined): boolean {
  return c !== undefined && [c.shares, c.quota, c.period].some((v) => given(v) !== undefined);
}
