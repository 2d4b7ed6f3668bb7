// linux.intelRdt through the resctrl filesystem: a group (CLOS) per container, or the one
// closID names, its schemata written, the container's process added to its tasks (or to a
// monitoring group inside it). Every function takes the resctrl root, so tests use a tmpdir.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";

/** The file operations used, so tests can stand in for resctrl (where rmdir of a group works
 * although it holds control files). */
export interface ResctrlFs {
  exists(path: string): boolean;
  mkdir(path: string): void;
  write(path: string, data: string): void;
  rmdir(path: string): void;
}

export const hostResctrl: ResctrlFs = {
  exists: existsSync,
  mkdir: (p) => mkdirSync(p),
  write: (p, d) => writeFileSync(p, d),
  rmdir: (p) => rmdirSync(p),
};
import type { LinuxIntelRdt } from "../../spec/schema.ts";

/** Where resctrl is mounted, from mountinfo text; null when it is not. */
export function resctrlRoot(mountinfo: string): string | null {
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if ((post ?? "").split(" ")[0] === "resctrl") return (pre ?? "").split(" ")[4] ?? null;
  }
  return null;
}

export interface RdtPlacement {
  /** The CLOS group directory. */
  group: string;
  /** Directories made here, removed again on delete (deepest first). */
  created: string[];
}

/** The lines written to the group's schemata file, in the spec's order. */
export function schemataLines(rdt: LinuxIntelRdt): string[] {
  return [rdt.l3CacheSchema, rdt.memBwSchema, ...(rdt.schemata ?? [])].filter((l): l is string => !!l);
}

export function applyIntelRdt(root: string, id: string, rdt: LinuxIntelRdt, pid: number, fs: ResctrlFs = hostResctrl): RdtPlacement {
  // closID "/" is the default group at the root; unset, a group of the container's own.
  const group = rdt.closID === "/" ? root : `${root}/${rdt.closID ?? id}`;
  const created: string[] = [];
  const write = (file: string, data: string, field: string) => {
    try {
      fs.write(file, data);
    } catch (e) {
      throw new Error(`linux.intelRdt.${field}: write "${file}": ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
    }
  };
  try {
    if (!fs.exists(group)) {
      fs.mkdir(group);
      created.push(group);
    }
    // One line per write: the kernel parses schemata a line at a time and names the bad one.
    for (const line of schemataLines(rdt)) write(`${group}/schemata`, line + "\n", "schemata");
    let tasks = `${group}/tasks`;
    if (rdt.enableMonitoring) {
      const mon = `${group}/mon_groups/${id}`;
      if (!fs.exists(mon)) {
        fs.mkdir(mon);
        created.push(mon);
      }
      tasks = `${mon}/tasks`;
    }
    write(tasks, String(pid), rdt.enableMonitoring ? "enableMonitoring" : "closID");
    return { group, created };
  } catch (e) {
    removeIntelRdt({ group, created }, fs);
    throw e;
  }
}

export function removeIntelRdt(p: RdtPlacement, fs: ResctrlFs = hostResctrl): void {
  for (const dir of [...p.created].reverse()) {
    try {
      fs.rmdir(dir);
    } catch {
      // still in use by another container of the same CLOS
    }
  }
}
