import { dirname, join, relative } from "node:path";
import { cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
import { isAllowAll, targetState } from "./devices.ts";
import { type CgroupFs, errorCode, readFile, writeFile, wrapError } from "./files.ts";
import type { LinuxCPU, LinuxMemory, LinuxResources } from "./types.ts";
import { cpuWanted, given, memoryWanted, pidsMax } from "./values.ts";

// "-1" in the spec, "max" in cgroup v2 files.
const v2Value = (n: number) => (n === -1 ? "max" : String(n));

function setMemory(fsys: CgroupFs, dir: string, m: LinuxMemory): void {
  const limit = given(m.limit);
  const swap = memorySwapToV2(given(m.swap), limit);
  // Unlike v1, memory.max and memory.swap.max are independent, so their order does not matter.
  if (swap !== undefined) {
    try {
      writeFile(fsys, dir, "memory.swap.max", v2Value(swap), "linux.resources.memory.swap");
    } catch (err) {
      // No swap accounting (no file): "unlimited" and "none" are already true, anything else is not.
      if (!(errorCode(err) === "ENOENT" && (swap === -1 || swap === 0))) throw err;
    }
  }
  if (limit !== undefined) writeFile(fsys, dir, "memory.max", v2Value(limit), "linux.resources.memory.limit");
  const reservation = given(m.reservation);
  if (reservation !== undefined) {
    writeFile(fsys, dir, "memory.low", v2Value(reservation), "linux.resources.memory.reservation");
  }
}

function setCpu(fsys: CgroupFs, dir: string, c: LinuxCPU): void {
  const shares = given(c.shares);
  if (shares !== undefined) {
    writeFile(fsys, dir, "cpu.weight", String(cpuSharesToWeight(shares)), "linux.resources.cpu.shares");
  }
  const quota = given(c.quota);
  const period = given(c.period);
  if (quota === undefined && period === undefined) return;
  const field = quota !== undefined ? "linux.resources.cpu.quota" : "linux.resources.cpu.period";
  // cpu.max holds "$QUOTA $PERIOD" in one write. A period alone keeps the quota in force (runc would
  // reset it to "max"); a negative quota is the spec's "no limit".
  const max =
    quota === undefined ? (readFile(fsys, dir, "cpu.max", field).split(" ")[0] ?? "max") : quota < 0 ? "max" : String(quota);
  writeFile(fsys, dir, "cpu.max", period === undefined ? max : `${max} ${period}`, field);
}

/** The controllers `resources` needs enabled in the parent's cgroup.subtree_control, with the field needing each. */
export function neededControllers(resources: LinuxResources): Map<string, string> {
  const needed = new Map<string, string>();
  if (cpuWanted(resources.cpu)) needed.set("cpu", "linux.resources.cpu");
  if (memoryWanted(resources.memory)) needed.set("memory", "linux.resources.memory");
  if (resources.pids?.limit !== undefined) needed.set("pids", "linux.resources.pids");
  return needed;
}

/**
 * Enable the needed controllers in cgroup.subtree_control of every ancestor of `dir`, from the
 * hierarchy's mount down to its parent: a controller's files appear in a cgroup only when its parent
 * delegates it. Controllers already enabled are left alone, and nothing is ever disabled: siblings
 * may rely on them. (runc enables every available controller; we enable what the config uses.)
 */
export function enableControllers(fsys: CgroupFs, mountDir: string, dir: string, resources: LinuxResources): void {
  const needed = neededControllers(resources);
  if (needed.size === 0) return;
  const ancestors = [mountDir];
  const below = relative(mountDir, dirname(dir));
  for (const part of below === "" ? [] : below.split("/")) ancestors.push(join(ancestors.at(-1) ?? mountDir, part));
  for (const ancestor of ancestors) {
    for (const [controller, field] of needed) {
      const enabled = readFile(fsys, ancestor, "cgroup.subtree_control", field).split(/\s+/);
      if (enabled.includes(controller)) continue;
      const available = readFile(fsys, ancestor, "cgroup.controllers", field).split(/\s+/);
      if (!available.includes(controller)) {
        throw new Error(`${field}: the "${controller}" controller is not available in "${ancestor}"`);
      }
      try {
        fsys.write(join(ancestor, "cgroup.subtree_control"), `+${controller}`);
      } catch (err) {
        // EBUSY here means the ancestor has processes of its own ("no internal processes" rule).
        throw wrapError(`${field}: enable "${controller}" in "${join(ancestor, "cgroup.subtree_control")}"`, err);
      }
    }
  }
}

/** Refuse what cgroup v2 cannot do yet, before anything is changed. */
export function checkV2(resources: LinuxResources): void {
  if (resources.devices !== undefined && !isAllowAll(targetState(resources.devices))) {
    // cgroup v2 has no device files; rules need a BPF_PROG_TYPE_CGROUP_DEVICE program attached to
    // the cgroup. An allow-all list needs none (that is a fresh cgroup's behaviour).
    throw new Error(
      "linux.resources.devices: device rules are not implemented on cgroup v2 yet (they need a BPF_PROG_TYPE_CGROUP_DEVICE program)",
    );
  }
}

/** Write the resources into the cgroup v2 directory `dir`. */
export function applyV2(fsys: CgroupFs, dir: string, resources: LinuxResources): void {
  checkV2(resources);
  if (memoryWanted(resources.memory)) setMemory(fsys, dir, resources.memory ?? {});
  if (cpuWanted(resources.cpu)) setCpu(fsys, dir, resources.cpu ?? {});
  const pids = pidsMax(resources.pids?.limit);
  if (pids !== undefined) writeFile(fsys, dir, "pids.max", pids, "linux.resources.pids.limit");
}
