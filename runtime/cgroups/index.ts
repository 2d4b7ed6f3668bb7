// The cgroup interface the rest of tsrun uses. Layout → paths → create/open → Cgroup.
export { type Cgroup, type CgroupEnv, createCgroup, openCgroup } from "./cgroup.ts";
export { blkioWeightToIOWeight, cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
export { type CgroupFs, hostFs } from "./files.ts";
export type { FreezerState } from "./freezer.ts";
export type { BpfSys, CgroupKernel } from "./kernel.ts";
export { detectLayout } from "./layout.ts";
export type { OomWatch } from "./oom.ts";
export { resolvePaths } from "./paths.ts";
export { encodeEvent, type Stats } from "./stats.ts";
export { parseMemorySize, type UpdateFlags, updateFromFlags, updatableResources } from "./update_flags.ts";
export type {
  CgroupPaths,
  Layout,
  LayoutKind,
  LinuxCPU,
  LinuxDeviceCgroup,
  LinuxMemory,
  LinuxPids,
  LinuxResources,
  Mount,
} from "./types.ts";
