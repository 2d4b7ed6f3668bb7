// The config types come from the spec schema (type-only imports, so TypeBox is never loaded here);
// the rest describes this host's cgroup mounts and a container's place in them.
export type {
  LinuxBlockIO,
  LinuxCPU,
  LinuxDeviceCgroup,
  LinuxHugepageLimit,
  LinuxInterfacePriority,
  LinuxMemory,
  LinuxNetwork,
  LinuxPids,
  LinuxRdma,
  LinuxResources,
  LinuxThrottleDevice,
  LinuxWeightDevice,
} from "../../spec/schema.ts";

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
  /** The cgroup2 mount: the whole tree on v2, the "unified" one beside the v1 hierarchies on hybrid. */
  unified?: Mount;
}

/** Absolute cgroup directories of one container; plain JSON, stored in the state file. */
export interface CgroupPaths {
  /** v1 controller or "name=…" → directory; co-mounted controllers map to the same directory. */
  v1: Record<string, string>;
  /** The cgroup2 directory (v2, or hybrid's unified hierarchy). */
  unified?: string;
}
