// Watching what a create does outside the container's rootfs: a host directory the image's
// symlinks point at (nothing may appear in it), the host's mount table, and the container's own
// mount namespace just before pivot_root, seen by a createContainer hook (a mount that lands
// outside the rootfs there would be gone after pivot_root, so that is the only place to see it).
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostMounts, mountsUnder, parseMountInfo, readText, type Sec, type Spec, tree } from "./harness.ts";

export const SECRET = "HOST-SECRET-0b9f";

export interface HostTarget {
  /** A host directory, with a file holding SECRET. */
  dir: string;
  /** A host file holding SECRET. */
  file: string;
  /** Fails when anything below `dir` changed, or anything but `allowed` is mounted below the case's temp dir. */
  check(what: string, allowed?: string[]): void;
}

export function hostTarget(t: Sec, populate?: (dir: string) => void, name = "host-target"): HostTarget {
  const dir = t.dir(name);
  fs.mkdirSync(path.join(dir, "keep"));
  populate?.(dir);
  const file = path.join(dir, "secret");
  fs.writeFileSync(file, SECRET);
  const before = tree(dir);
  return {
    dir,
    file,
    check(what: string, allowed: string[] = []) {
      expect(tree(dir), `${what}: something was created in the host directory ${dir}`).toEqual(before);
      expect(fs.readFileSync(file, "utf8"), `${what}: the host file changed`).toBe(SECRET);
      expect(mountsUnder(dir), `${what}: mounted on the host`).toEqual([]);
      const reached = mountsUnder(t.tmp).filter((m) => !allowed.includes(m));
      expect(reached, `${what}: a mount of the container reached the host's mount table`).toEqual([]);
    },
  };
}

/** A createContainer hook that saves the container's mountinfo (before pivot_root) to `file`. */
export function mountinfoHook(c: Spec, file: string): void {
  c.hooks = { ...(c.hooks as object | undefined), createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `cat /proc/self/mountinfo > ${file}`] }] };
}

/**
 * Mounts of the container's namespace (from mountinfoHook's file) that landed outside `rootfs`:
 * any below `scope` (the case's temp dir, where every symlink of the attack points), and, to
 * catch a mount on a host path elsewhere, any mount point holding more mounts than the host's
 * (other test suites come and go below /tmp and /run meanwhile, so those are left out there).
 */
export function mountsOutside(file: string, rootfs: string, scope: string): string[] {
  const text = readText(file);
  if (text === "") return [];
  const under = (p: string, d: string) => p === d || p.startsWith(`${d}/`);
  const count = (list: { mountPoint: string }[]) => {
    const m = new Map<string, number>();
    for (const x of list) m.set(x.mountPoint, (m.get(x.mountPoint) ?? 0) + 1);
    return m;
  };
  const host = count(hostMounts());
  const inside = parseMountInfo(text);
  const out: string[] = [];
  for (const [point, n] of count(inside)) {
    if (under(point, rootfs)) continue;
    const suspicious = under(point, scope) || (!under(point, "/tmp") && !under(point, "/run") && n > (host.get(point) ?? 0));
    if (!suspicious) continue;
    const m = inside.filter((x) => x.mountPoint === point).at(-1)!;
    out.push(`${point} (${m.fsType} ${m.source} ${m.root})`);
  }
  return out;
}
