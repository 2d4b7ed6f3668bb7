// The container's cgroup on this host, and what a `cgroup` mount inside the container becomes.
import { readFileSync } from "node:fs";
import { basename, posix } from "../sys/path.ts";
import type { Mount, Spec } from "../../spec/schema.ts";
import { type Cgroup, type CgroupPaths, createCgroup, detectLayout, type Layout, openCgroup, resolvePaths } from "../cgroups/index.ts";
import { parseProcCgroup } from "../cgroups/paths.ts";
import { describe, hasCode } from "../sys/errors.ts";
import { MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY } from "../sys/constants.ts";
import type { MountOp } from "../sys/init_plan.ts";
import { parseMountOptions } from "./mount_options.ts";
import { defaultDeviceRules } from "./plan.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";

export function hostLayout(): Layout {
  return detectLayout(CGROUP_ROOT, readFileSync("/proc/self/mountinfo", "utf8"));
}

export function containerCgroupPaths(layout: Layout, id: string, config: Spec): CgroupPaths {
  return resolvePaths(layout, config.linux?.cgroupsPath, id, readFileSync("/proc/self/cgroup", "utf8"));
}

export function createContainerCgroup(layout: Layout, paths: CgroupPaths, config: Spec): Cgroup {
  const resources = config.linux?.resources ?? {};
  // runc's default rules follow the container's own, so they cannot be taken away.
  const devices = [...(resources.devices ?? []), ...defaultDeviceRules(config)];
  return createCgroup(layout, paths, { ...resources, devices });
}

/**
 * Rootless: a user may not be allowed to make cgroups at all (cgroup v1, no delegation). Then,
 * as runc, the container runs without a cgroup of its own — unless the config asks for limits,
 * which would be silently lost: that is an error naming them.
 */
export function tryRootlessCgroup(layout: Layout, paths: CgroupPaths, config: Spec, warn: (m: string) => void): Cgroup | null {
  try {
    return createContainerCgroup(layout, paths, config);
  } catch (e) {
    if (!hasCode(e, "EACCES", "EPERM", "EROFS")) throw e;
    const { devices: _devices, ...limits } = config.linux?.resources ?? {};
    const asked = Object.entries(limits).filter(([, v]) => v !== undefined && v !== null).map(([k]) => `linux.resources.${k}`);
    if (asked.length) throw new Error(`rootless: ${asked.join(", ")} cannot be applied, this user may not create cgroups here`, { cause: e });
    warn(`rootless: running without a cgroup of its own (${describe(e)})`);
    return null;
  }
}

/** The cgroups this process is in: what a rootless container without its own cgroup mounts. */
export function ownCgroupPaths(layout: Layout): CgroupPaths {
  const own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  const v1: Record<string, string> = {};
  for (const [key, mount] of Object.entries(layout.v1)) {
    const path = own.get(key);
    if (path !== undefined) v1[key] = posix.join(mount.dir, posix.relative(mount.root, path));
  }
  const unified = layout.unified && own.has("") ? posix.join(layout.unified.dir, posix.relative(layout.unified.root, own.get("")!)) : undefined;
  return unified ? { v1, unified } : { v1 };
}

export function reopenCgroup(layout: Layout, paths: CgroupPaths, created: readonly string[]): Cgroup {
  return openCgroup(layout, paths, created);
}

const HIDDEN = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

/**
 * A `cgroup` mount: on cgroup v2 one cgroup2 mount (with a cgroup namespace) or a bind of the
 * container's own cgroup; on v1 a tmpfs holding one entry per hierarchy, each the container's
 * own cgroup (bound, or mounted fresh inside a cgroup namespace) — runc's layout.
 *
 * Without a cgroup namespace of its own the container sees its cgroup through binds of the
 * host's hierarchy: those are read-only whatever the options say, or root in the container
 * could lift its own limits (CVE-2023-25809 class; runc 1.1.5 honours "rw" here).
 */
export function cgroupMountOps(layout: Layout, paths: CgroupPaths, m: Mount, cgroupns: boolean): MountOp[] {
  const parsed = parseMountOptions(m.options);
  if (typeof parsed === "string") throw new Error(`mount "${m.destination}": ${parsed}`);
  const opts = cgroupns
    ? parsed
    : { ...parsed, readonly: true, attrSet: parsed.attrSet | MOUNT_ATTR_RDONLY, attrClr: parsed.attrClr & ~MOUNT_ATTR_RDONLY, recSet: parsed.recSet | MOUNT_ATTR_RDONLY, recClr: parsed.recClr & ~MOUNT_ATTR_RDONLY };
  const dest = posix.resolve("/", m.destination);
  const base = (what: string, source: string, target: string): MountOp => ({
    what,
    kind: "bind",
    source,
    fstype: "",
    target,
    recursive: false,
    create: "dir",
    params: [],
    attrSet: opts.attrSet,
    attrClr: opts.attrClr,
    recSet: opts.recSet,
    recClr: opts.recClr,
    propagation: opts.propagation,
    deferReadonly: false,
    mustBeDir: false,
    keepMode: false,
    copyUp: false,
    idmap: null,
    tree: null,
    links: [],
  });
  if (layout.kind === "v2") {
    const dir = paths.unified!;
    if (!cgroupns) return [base(`mount "${dest}" (cgroup, bind from "${dir}")`, dir, dest)];
    return [{ ...base(`mount "${dest}" (cgroup2)`, "cgroup2", dest), kind: "fs", fstype: "cgroup2", params: [] }];
  }
  const ops: MountOp[] = [
    {
      ...base(`mount "${dest}" (tmpfs for cgroup)`, "tmpfs", dest),
      kind: "fs",
      fstype: "tmpfs",
      params: [["mode", "755"]],
      attrSet: HIDDEN,
      attrClr: 0,
      recSet: 0,
      recClr: 0,
      deferReadonly: opts.readonly,
    },
  ];
  const byMount = new Map<string, string[]>();
  for (const [controller, mount] of Object.entries(layout.v1)) byMount.set(mount.dir, [...(byMount.get(mount.dir) ?? []), controller]);
  for (const [mountDir, controllers] of byMount) {
    const name = basename(mountDir);
    const dir = paths.v1[controllers[0]!];
    if (!dir) continue;
    const target = `${dest}/${name}`;
    if (cgroupns) {
      ops.push({
        ...base(`mount "${target}" (cgroup ${name})`, "cgroup", target),
        kind: "fs",
        fstype: "cgroup",
        // Named hierarchies ("name=systemd") are a name option, controllers are flags.
        params: controllers.map((c): [string, string | null] => (c.startsWith("name=") ? ["name", c.slice(5)] : [c, null])),
        attrSet: opts.attrSet | HIDDEN,
      });
    } else {
      const op = base(`mount "${target}" (cgroup, bind from "${dir}")`, dir, target);
      op.recursive = true;
      ops.push(op);
    }
    // Co-mounted controllers ("cpu,cpuacct") get a link per controller, as on the host.
    if (name.includes(",")) ops[ops.length - 1]!.links = name.split(",").map((c) => [name, `${dest}/${c}`]);
  }
  return ops;
}
