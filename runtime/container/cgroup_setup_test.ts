import { describe, expect, test } from "bun:test";
import type { Layout } from "../cgroups/types.ts";
import { MOUNT_ATTR_RDONLY } from "../sys/constants.ts";
import { cgroupMountOps } from "./cgroup_setup.ts";

const v1: Layout = {
  kind: "v1",
  root: "/sys/fs/cgroup",
  v1: { memory: { dir: "/sys/fs/cgroup/memory", root: "/" }, cpu: { dir: "/sys/fs/cgroup/cpu,cpuacct", root: "/" }, cpuacct: { dir: "/sys/fs/cgroup/cpu,cpuacct", root: "/" } },
};
const v1Paths = { v1: { memory: "/sys/fs/cgroup/memory/c", cpu: "/sys/fs/cgroup/cpu,cpuacct/c", cpuacct: "/sys/fs/cgroup/cpu,cpuacct/c" } };
const v2: Layout = { kind: "v2", root: "/sys/fs/cgroup", v1: {}, unified: { dir: "/sys/fs/cgroup", root: "/" } };
const v2Paths = { v1: {}, unified: "/sys/fs/cgroup/c" };
const mount = (options: string[]) => ({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options });
const readonly = (op: { attrSet: number; attrClr: number; recSet: number; deferReadonly: boolean; kind: string; recursive: boolean }) =>
  (op.attrSet & MOUNT_ATTR_RDONLY) !== 0 || op.deferReadonly;

describe("cgroupMountOps", () => {
  test("without a cgroup namespace the binds of the host's hierarchy are read-only even when rw is asked", () => {
    for (const [layout, paths] of [[v1, v1Paths], [v2, v2Paths]] as const) {
      const ops = cgroupMountOps(layout, paths, mount(["rw", "nosuid"]), false);
      expect(ops.length).toBeGreaterThan(0);
      for (const op of ops) {
        expect(readonly(op), op.what).toBe(true);
        expect(op.attrClr & MOUNT_ATTR_RDONLY).toBe(0);
        if (op.kind === "bind" && op.recursive) expect(op.recSet & MOUNT_ATTR_RDONLY, op.what).toBe(MOUNT_ATTR_RDONLY);
      }
    }
  });

  test("with a cgroup namespace the options decide: rw gives a writable cgroup, ro a read-only one", () => {
    for (const [layout, paths] of [[v1, v1Paths], [v2, v2Paths]] as const) {
      const rw = cgroupMountOps(layout, paths, mount(["rw"]), true);
      expect(rw.some((op) => op.kind === "fs" && op.fstype.startsWith("cgroup") && !readonly(op))).toBe(true);
      for (const op of cgroupMountOps(layout, paths, mount(["ro"]), true)) expect(readonly(op), op.what).toBe(true);
    }
  });

  test("v1: one entry per hierarchy, co-mounted controllers linked", () => {
    const ops = cgroupMountOps(v1, v1Paths, mount(["ro"]), false);
    expect(ops.map((o) => o.target)).toEqual(["/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"]);
    expect(ops[2]!.links).toEqual([
      ["cpu,cpuacct", "/sys/fs/cgroup/cpu"],
      ["cpu,cpuacct", "/sys/fs/cgroup/cpuacct"],
    ]);
  });
});
