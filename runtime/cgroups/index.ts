// The cgroup interface the rest of tsrun uses. Layout → paths → create/open → Cgroup.
export { type Cgroup, createCgroup, openCgroup } from "./cgroup.ts";
export { cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
export { type CgroupFs, hostFs } from "./files.ts";
export { detectLayout } from "./layout.ts";
export { resolvePaths } from "./paths.ts";
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
