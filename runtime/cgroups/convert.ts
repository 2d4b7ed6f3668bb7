// runtime-spec values are cgroup v1's; these turn them into cgroup v2's. The whole mapping, field by
// field (v1 file → v2 file; "error" = refused on that version before anything is written):
//
//   memory.limit              memory.limit_in_bytes          → memory.max ("max" for -1)
//   memory.reservation        memory.soft_limit_in_bytes     → memory.low
//   memory.swap               memory.memsw.limit_in_bytes    → memory.swap.max = swap − limit (memorySwapToV2)
//   memory.swappiness         memory.swappiness              → error (no v2 equivalent; runc 1.1.5 ignores it)
//   memory.disableOOMKiller   memory.oom_control = 1         → error when true (runc 1.1.5 ignores it)
//   memory.kernel, kernelTCP  ignored on both, as runc 1.1.5 does (deprecated; current kernels ignore kmem limits)
//   memory.useHierarchy       ignored on both, as runc does (always on in current v1 kernels; v2 is hierarchical)
//   memory.checkBeforeUpdate  usage_in_bytes checked first   → memory.current checked first (runc ≥ 1.2)
//   cpu.shares                cpu.shares                     → cpu.weight (cpuSharesToWeight)
//   cpu.quota, cpu.period     cpu.cfs_quota_us, _period_us   → cpu.max "$QUOTA $PERIOD" ("max" for a negative quota)
//   cpu.burst                 cpu.cfs_burst_us               → cpu.max.burst
//   cpu.idle                  cpu.idle                       → cpu.idle
//   cpu.realtimeRuntime/Period cpu.rt_runtime_us/_period_us  → error (no real-time group scheduling in v2)
//   cpu.cpus, cpu.mems        cpuset.cpus, cpuset.mems       → the same files, cpuset controller
//   pids.limit                pids.max                       → pids.max
//   blockIO.weight            blkio.weight / blkio.bfq.weight → io.bfq.weight as is, else io.weight (blkioWeightToIOWeight)
//   blockIO.weightDevice      blkio[.bfq].weight_device      → io.bfq.weight "MAJ:MIN W", else io.weight converted
//   blockIO.leafWeight(s)     blkio.leaf_weight[_device]     → error (no leaf weights in v2; runc ignores them)
//   blockIO.throttle*         blkio.throttle.{read,write}_{bps,iops}_device → io.max "MAJ:MIN {r,w}{bps,iops}=N"
//   hugepageLimits            hugetlb.<size>.limit_in_bytes (+ .rsvd.) → hugetlb.<size>.max (+ .rsvd.max)
//   network.classID           net_cls.classid                → error (no net_cls in v2; runc ignores it)
//   network.priorities        net_prio.ifpriomap             → error (no net_prio in v2; runc ignores it)
//   rdma                      rdma.max                       → rdma.max (same format)
//   unified                   error (runc: "cannot use unified on cgroup v1") → written as given, last
//   devices                   devices.allow / devices.deny   → a BPF_PROG_TYPE_CGROUP_DEVICE program
//
// On a hybrid host each group goes to its v1 hierarchy when one is mounted, and otherwise to the
// cgroup2 hierarchy when that has the controller (hugetlb on this project's hosts, which runc 1.1.5
// cannot use there: "cannot set hugetlb limit: container could not join or create cgroup").

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
 * blkio weight [10, 1000] → io.weight [1, 10000], linearly as runc: 1 + (w − 10)·9999 / 990
 * (10 → 1, 500 → 4950, 1000 → 10000). Below 10 (BFQ's range starts at 1) clamps to 1.
 */
export function blkioWeightToIOWeight(weight: number): number {
  if (weight <= 10) return 1;
  return Math.min(10000, 1 + Math.floor(((weight - 10) * 9999) / 990));
}

/**
 * The spec's memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone, so
 * swap.max = swap − limit. Returns the value to write: a number, -1 for "max", or undefined to leave
 * memory.swap.max alone. As in runc: an unlimited memory limit with swap unset means unlimited swap
 * too, and swap equal to limit means no swap at all (0). `limit` is the limit being set, or for a
 * swap-only update the one in force.
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
