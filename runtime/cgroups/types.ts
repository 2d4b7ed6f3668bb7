// Structural stand-ins for the spec types that spec/schema.ts will export. Field names are exactly
// runtime-spec 1.3's, so swapping these for the schema's types changes no caller.
// TODO(lead): replace the Linux* declarations with `import type { … } from "../../spec/schema.ts"`.

export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  period?: number;
}

export interface LinuxPids {
  limit?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
}

/** One mounted cgroup hierarchy. */
export interface Mount {
  /** Where it is mounted, e.g. "/sys/fs/cgroup/cpu,cpuacct". */
  dir: string;
  /** The hierarchy path mounted there (mountinfo field 4): "/" unless only a subtree is mounted. */
  root: string;
}

export type LayoutKind = "v1" | "hybrid" | "v2";

export interface Layout {
  kind: LayoutKind;
  /** The cgroup root everything is mounted under, normally "/sys/fs/cgroup". */
  root: string;
  /** v1 hierarchies by controller ("memory") or name ("name=systemd"); co-mounted controllers share one Mount. */
  v1: Record<string, Mount>;
  /** The cgroup2 mount: the whole tree on v2, the controller-less "unified" one on hybrid. */
  unified?: Mount;
}

/** Absolute cgroup directories of one container; plain JSON, stored in the state file. */
export interface CgroupPaths {
  /** v1 controller or "name=…" → directory; co-mounted controllers map to the same directory. */
  v1: Record<string, string>;
  /** The cgroup2 directory (v2, or hybrid's unified hierarchy). */
  unified?: string;
}
