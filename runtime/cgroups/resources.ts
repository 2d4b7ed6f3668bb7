// One table of resource groups, each with its v1 and v2 writer (v1.ts, v2.ts), and the update that
// places every group in a hierarchy, validates all of them, then writes. A host that cannot honour
// a config is found out before any limit changes.
import { join } from "../sys/path.ts";
import type { CgroupFs } from "./files.ts";
import { readFile } from "./files.ts";
import type { CgroupKernel } from "./kernel.ts";
import type { CgroupPaths, Layout, LinuxResources } from "./types.ts";
import { V1 } from "./v1.ts";
import { enableControllers, unifiedController, V2 } from "./v2.ts";
import { blockIOWanted, cpusetWanted, cpuWanted, given, memoryWanted } from "./values.ts";
import type { Unsupported, Writer } from "./writer.ts";

interface Group {
  field: string;
  wanted(r: LinuxResources): boolean;
  v1: Writer | Unsupported;
  v2: Writer | Unsupported;
}

const nonEmpty = (o: object | undefined) => o !== undefined && Object.keys(o).length > 0;

/** In write order. Devices first: if anything later fails, the container never had more device access than asked. */
export const GROUPS: readonly Group[] = [
  { field: "linux.resources.devices", wanted: (r) => r.devices !== undefined, v1: V1.devices, v2: V2.devices },
  { field: "linux.resources.memory", wanted: (r) => memoryWanted(r.memory), v1: V1.memory, v2: V2.memory },
  { field: "linux.resources.cpu", wanted: (r) => cpuWanted(r.cpu), v1: V1.cpu, v2: V2.cpu },
  { field: "linux.resources.cpu", wanted: (r) => cpusetWanted(r.cpu), v1: V1.cpuset, v2: V2.cpuset },
  { field: "linux.resources.pids", wanted: (r) => r.pids?.limit !== undefined, v1: V1.pids, v2: V2.pids },
  { field: "linux.resources.blockIO", wanted: (r) => blockIOWanted(r.blockIO), v1: V1.blkio, v2: V2.io },
  { field: "linux.resources.hugepageLimits", wanted: (r) => (r.hugepageLimits?.length ?? 0) > 0, v1: V1.hugetlb, v2: V2.hugetlb },
  {
    field: "linux.resources.network.classID",
    wanted: (r) => given(r.network?.classID) !== undefined,
    v1: V1.netCls,
    v2: "cgroup v2 has no net_cls controller",
  },
  {
    field: "linux.resources.network.priorities",
    wanted: (r) => (r.network?.priorities?.length ?? 0) > 0,
    v1: V1.netPrio,
    v2: "cgroup v2 has no net_prio controller",
  },
  { field: "linux.resources.rdma", wanted: (r) => nonEmpty(r.rdma), v1: V1.rdma, v2: V2.rdma },
  // Last, so its keys win over structured fields (runc's order).
  {
    field: "linux.resources.unified",
    wanted: (r) => nonEmpty(r.unified),
    v1: "needs a cgroup v2 host (runc: \"cannot use unified on cgroup v1\")",
    v2: V2.unified,
  },
];

interface Placed {
  group: Group;
  writer: Writer;
  dir: string;
  v2: boolean;
}

/**
 * Which hierarchy a group goes to. v1 and v2 hosts: their own. Hybrid: the v1 hierarchy when one is
 * mounted for the controller, else the cgroup2 one when it has the controller (hugetlb on hosts
 * like this project's; runc 1.1.5 fails there instead). Devices and unified never go to hybrid's
 * cgroup2 side.
 */
function place(layout: Layout, paths: CgroupPaths, g: Group, unifiedHas: (c: string) => boolean): Placed {
  if (layout.kind === "v2") {
    if (typeof g.v2 === "string") throw new Error(`${g.field}: ${g.v2}`);
    if (paths.unified === undefined) throw new Error(`${g.field}: the container has no cgroup2 directory`);
    return { group: g, writer: g.v2, dir: paths.unified, v2: true };
  }
  const w1 = g.v1;
  const dir1 = typeof w1 === "string" ? undefined : paths.v1[w1.controller];
  if (typeof w1 !== "string" && dir1 !== undefined) return { group: g, writer: w1, dir: dir1, v2: false };
  const w2 = g.v2;
  if (layout.kind === "hybrid" && typeof w2 !== "string" && w2.controller !== "" && paths.unified !== undefined && unifiedHas(w2.controller)) {
    return { group: g, writer: w2, dir: paths.unified, v2: true };
  }
  if (typeof w1 === "string") throw new Error(`${g.field}: ${w1}; this host's cgroups are ${layout.kind}`);
  throw new Error(`${g.field}: no "${w1.controller}" cgroup hierarchy is mounted`);
}

export interface Env {
  fsys: CgroupFs;
  /** Asked for only when a write needs it (v2 device programs). */
  kernel: () => CgroupKernel;
}

/**
 * Write `r` into the container's cgroups. Validates everything first: a config error, a controller
 * or file the host does not have, a limit that conflicts with one in force, all fail before
 * anything is written. Only the delegation of v2 controllers to ancestors can happen before such a
 * failure, and that changes no limit.
 */
export function applyResources(layout: Layout, paths: CgroupPaths, r: LinuxResources, { fsys, kernel }: Env): void {
  let rootControllers: string[] | undefined;
  const unifiedHas = (c: string) => {
    const mount = layout.unified?.dir;
    if (mount === undefined) return false;
    rootControllers ??= readFile(fsys, mount, "cgroup.controllers", "read the cgroup2 controllers").split(/\s+/);
    return rootControllers.includes(c);
  };
  const placed = GROUPS.filter((g) => g.wanted(r)).map((g) => place(layout, paths, g, unifiedHas));
  for (const p of placed) p.writer.validate?.(r);

  const mount = layout.unified?.dir;
  if (mount !== undefined && paths.unified !== undefined) {
    const needed = new Map<string, string>();
    for (const p of placed) if (p.v2 && p.writer.controller !== "") needed.set(p.writer.controller, p.group.field);
    if (placed.some((p) => p.v2 && p.group.field === "linux.resources.unified")) {
      for (const key of Object.keys(r.unified ?? {})) {
        const c = unifiedController(key);
        // Keys of controllers the host lacks fail in prepare, naming the key.
        if (c !== undefined && unifiedHas(c)) needed.set(c, `linux.resources.unified[${JSON.stringify(key)}]`);
      }
    }
    // On v2 every controller is delegated, as runc does, so stats and nested cgroups work.
    if (layout.kind === "v2" || needed.size > 0) enableControllers(fsys, mount, paths.unified, needed, layout.kind === "v2");
  }

  const writes = placed.map((p) => p.writer.prepare({ fsys, kernel, dir: p.dir, r }));
  for (const write of writes) write();
}

/** The cgroup2 directory's controllers on a hybrid host, for stats. */
export function unifiedControllers(fsys: CgroupFs, dir: string): string[] {
  try {
    return fsys.read(join(dir, "cgroup.controllers")).trim().split(/\s+/).filter((c) => c !== "");
  } catch {
    return [];
  }
}
