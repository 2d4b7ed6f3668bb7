import { posix } from "../sys/path.ts";
import type { CgroupPaths, Layout, Mount } from "./types.ts";

// The v1 hierarchies a container joins: runc's list. Other named hierarchies are left alone.
const JOINED_V1 = new Set([
  "cpuset",
  "devices",
  "memory",
  "cpu",
  "cpuacct",
  "pids",
  "blkio",
  "hugetlb",
  "net_cls",
  "net_prio",
  "perf_event",
  "freezer",
  "rdma",
  "name=systemd",
]);

/**
 * /proc/<pid>/cgroup text → hierarchy key → cgroup path. v1 keys are controller names or
 * "name=…"; the cgroup2 entry ("0::/path") has the key "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    // The path may itself contain ":"; only the first two separate fields.
    const path = line.slice(second + 1);
    const keys = line.slice(first + 1, second);
    if (keys === "") result.set("", path);
    else for (const key of keys.split(",")) result.set(key, path);
  }
  return result;
}

/**
 * Path hygiene as runc's CleanPath: a relative path cannot climb out with "..", an absolute one
 * stays absolute.
 */
export function cleanPath(path: string): string {
  if (path === "") return "";
  if (path.startsWith("/")) return posix.normalize(path).replace(/(.)\/+$/, "$1");
  return posix.relative("/", posix.normalize("/" + path)) || ".";
}

// `own` is a cgroup path as /proc/self/cgroup shows it; the mount may hold only a subtree.
function ownDir(mount: Mount, own: string, what: string): string {
  const rel = posix.relative(mount.root, own);
  if (rel === ".." || rel.startsWith("../")) {
    throw new Error(
      `resolve cgroup path: the runtime's own ${what} cgroup "${own}" is outside the subtree "${mount.root}" mounted at "${mount.dir}"`,
    );
  }
  return posix.join(mount.dir, rel);
}

/**
 * The container's cgroup directories, by the runtime-spec rules as runc 1.1.5 applies them
 * (checked on this host):
 * - absolute cgroupsPath: below each hierarchy's mount;
 * - relative cgroupsPath: below the runtime's own cgroup in each v1 hierarchy (from selfCgroup);
 *   on pure v2 below the *parent* of the runtime's own cgroup, which holds the runtime itself and so
 *   cannot delegate controllers ("no internal processes"); on hybrid's unified hierarchy below its
 *   mount, ignoring the runtime's own cgroup (a runc quirk we keep, so both runtimes agree);
 * - empty or undefined: the container id as a relative path.
 */
export function resolvePaths(
  layout: Layout,
  cgroupsPath: string | undefined,
  id: string,
  selfCgroup: string,
): CgroupPaths {
  const inner = cleanPath(cgroupsPath ?? "") || cleanPath(id);
  if (inner === "/" || inner === "." || inner === "") {
    // Would make the hierarchy root or the runtime's own cgroup the container's: writing limits or
    // device rules there would hit every process in it, and delete would try to remove it.
    throw new Error(
      `linux.cgroupsPath: "${cgroupsPath ?? ""}" does not name a cgroup of its own (container "${id}")`,
    );
  }
  const absolute = inner.startsWith("/");
  const own = absolute ? new Map<string, string>() : parseProcCgroup(selfCgroup);
  const paths: CgroupPaths = { v1: {} };

  for (const [key, mount] of Object.entries(layout.v1)) {
    if (!JOINED_V1.has(key)) continue;
    if (absolute) {
      paths.v1[key] = posix.join(mount.dir, inner);
      continue;
    }
    const mine = own.get(key);
    if (mine === undefined) {
      // Without a devices cgroup the container could open every device node: never go on without it.
      if (key === "devices") {
        throw new Error(`resolve cgroup path: /proc/self/cgroup has no "devices" entry`);
      }
      continue;
    }
    paths.v1[key] = posix.join(ownDir(mount, mine, `"${key}"`), inner);
  }

  if (layout.unified !== undefined) {
    const mount = layout.unified;
    if (absolute || layout.kind === "hybrid") {
      paths.unified = posix.join(mount.dir, inner);
    } else {
      const mine = own.get("");
      if (mine === undefined) throw new Error(`resolve cgroup path: /proc/self/cgroup has no "0::" entry`);
      paths.unified = posix.join(ownDir(mount, posix.dirname(mine), "cgroup2"), inner);
    }
  }

  if (layout.kind !== "v2" && paths.v1.devices === undefined) {
    throw new Error(`resolve cgroup path: no "devices" cgroup hierarchy is mounted under "${layout.root}"`);
  }
  return paths;
}
