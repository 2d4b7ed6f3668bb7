import type { Layout, Mount } from "./types.ts";

// Super options of a v1 cgroup mount that are not controllers (see cgroup_parse_param in the kernel).
const V1_NON_CONTROLLER_OPTIONS = new Set([
  "rw",
  "ro",
  "none",
  "all",
  "noprefix",
  "clone_children",
  "xattr",
  "cpuset_v2_mode",
  "favordynmods",
]);

interface MountinfoEntry {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    // The optional fields before " - " vary in number; everything after it is fixed.
    const sep = fields.indexOf("-", 6);
    const root = fields[3];
    const mountpoint = fields[4];
    const fstype = fields[sep + 1];
    const superOptions = fields[sep + 3];
    if (sep < 0 || root === undefined || mountpoint === undefined || fstype === undefined) continue;
    entries.push({
      root: unescape(root),
      mountpoint: unescape(mountpoint),
      fstype,
      superOptions: (superOptions ?? "").split(","),
    });
  }
  return entries;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

/**
 * The cgroup layout under `root`, from /proc/self/mountinfo text: which v1 hierarchies are mounted
 * where, and the cgroup2 mount if any. Mounts outside `root` (a container's bind mounts, say) are
 * ignored; if a hierarchy is mounted twice, the first mount wins.
 */
export function detectLayout(root = "/sys/fs/cgroup", mountinfo: string): Layout {
  const v1: Record<string, Mount> = {};
  let unified: Mount | undefined;
  for (const entry of parseMountinfo(mountinfo)) {
    if (!isUnder(entry.mountpoint, root)) continue;
    const mount: Mount = { dir: entry.mountpoint, root: entry.root };
    if (entry.fstype === "cgroup2") {
      unified ??= mount;
    } else if (entry.fstype === "cgroup") {
      for (const opt of entry.superOptions) {
        if (V1_NON_CONTROLLER_OPTIONS.has(opt) || opt.startsWith("release_agent=")) continue;
        v1[opt] ??= mount;
      }
    }
  }
  if (unified !== undefined && unified.dir === root) return { kind: "v2", root, v1: {}, unified };
  if (Object.keys(v1).length > 0) {
    return unified === undefined ? { kind: "v1", root, v1 } : { kind: "hybrid", root, v1, unified };
  }
  if (unified !== undefined) return { kind: "v2", root, v1: {}, unified };
  throw new Error(`detect cgroup layout: no cgroup filesystem is mounted under "${root}"`);
}
