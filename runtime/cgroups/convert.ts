// runtime-spec values are cgroup v1's; these turn them into cgroup v2's.

const SHARES_MIN = 2; // kernel MIN_SHARES
const SHARES_MAX = 262144; // kernel MAX_SHARES (1 << 18)

/**
 * cpu.shares [2, 262144] (default 1024) → cpu.weight [1, 10000] (default 100), with the formula of
 * runc ≥ 1.3.2 (opencontainers/cgroups) and crun ≥ 1.23:
 *
 *     l = log2(shares);  weight = ceil(10 ^ ((l² + 125·l) / 612 − 7/34))
 *
 * a quadratic in log space through (2 → 1), (1024 → 100) and (262144 → 10000), so the v1 default
 * lands on the v2 default. Older runtimes (runc 1.1.5 and crun 1.8.1 on this host) used the linear
 * 1 + (shares − 2)·9999 / 262142, which maps 1024 to 39 and starved default containers against
 * v2-native neighbours. Out-of-range shares clamp, as the kernel clamps cpu.shares.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares <= SHARES_MIN) return 1;
  if (shares >= SHARES_MAX) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/**
 * The spec's memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone, so
 * swap.max = swap − limit. Returns the value to write: a number, -1 for "max", or undefined to leave
 * memory.swap.max alone. As in runc: an unlimited memory limit with swap unset means unlimited swap
 * too, and swap equal to limit means no swap at all (0).
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): number | undefined {
  if (limit === -1 && swap === undefined) return -1;
  if (swap === undefined || swap === -1) return swap;
  if (limit === undefined || limit === -1) {
    throw new Error(
      `linux.resources.memory.swap: cannot limit swap (${swap}) on cgroup v2 without a memory limit`,
    );
  }
  if (swap < limit) {
    throw new Error(
      `linux.resources.memory.swap: must be at least linux.resources.memory.limit (${limit}), found ${swap}`,
    );
  }
  return swap - limit;
}
