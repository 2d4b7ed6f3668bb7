import type { CgroupFs } from "./files.ts";
import type { CgroupKernel } from "./kernel.ts";
import type { LinuxResources } from "./types.ts";

/** Where one resource group is written: the container's directory in the hierarchy that has it. */
export interface Ctx {
  fsys: CgroupFs;
  /** Only v2 device programs need it; loaded on first call. */
  kernel: () => CgroupKernel;
  dir: string;
  r: LinuxResources;
}

/**
 * How one version of cgroups writes one resource group. Updating runs in three passes, so that a
 * config the host cannot honour is refused before any limit changes:
 *   validate  every group, on the config alone;
 *   prepare   every group, reading the cgroup (files present, current values) and returning the
 *             writes still to do;
 *   then the returned writes, in group order.
 */
export interface Writer {
  /** v1 hierarchy key or v2 controller; "" when no controller is involved (v2 devices, unified). */
  controller: string;
  validate?(r: LinuxResources): void;
  prepare(ctx: Ctx): () => void;
}

/** A v2-only group's v1 side, or a v1-only group's v2 side: why it cannot be done there. */
export type Unsupported = string;
