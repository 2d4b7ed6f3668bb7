// The host side of the leftover checks: temp dirs, mounts, cgroups, processes. Everything a
// suite makes is named after its own random tag, so the checks and the cleanup touch only that.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeCgroupTree as removeTree } from "../../../conformance/lib/host.ts";

export const CGROUP_ROOT = "/sys/fs/cgroup";

/** A fresh 0755 temp dir /tmp/tsrun-drv-<what>-XXXXXX (0755: a container's user must traverse it). */
export function tempDir(what: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsrun-drv-${what}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

/** A short random tag for names (cgroup parents, container names). */
export function tag(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// mounts

function mountPoints(): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
}

/** Host mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return mountPoints().filter((p) => p === dir || p.startsWith(dir + "/"));
}

/** Lazily unmount everything at or below `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  for (let round = 0; round < 16 && mountsUnder(dir).length > 0; round++) {
    for (const p of mountsUnder(dir).sort((a, b) => b.length - a.length)) Bun.spawnSync(["umount", "-l", p]);
  }
}

// ---------------------------------------------------------------------------------------------
// cgroups (this host is hybrid: v1 controllers at /sys/fs/cgroup/<c>, cgroup2 at .../unified;
// a pure v2 host has everything at /sys/fs/cgroup)

export function isCgroup2Only(): boolean {
  return fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"));
}

function hierarchies(): string[] {
  if (isCgroup2Only()) return [CGROUP_ROOT];
  return fs
    .readdirSync(CGROUP_ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.isSymbolicLink())
    .map((e) => path.join(CGROUP_ROOT, e.name));
}

/** Hierarchy directories where cgroup `rel` (e.g. "/tsrun-drv-x/id") exists. */
export function cgroupDirsOf(rel: string): string[] {
  return hierarchies()
    .map((h) => path.join(h, rel))
    .filter((d) => fs.existsSync(d));
}

/** Contents of a controller file of cgroup `rel`: v1 name under <controller>/, else the v2 name. */
export function cgroupFile(controller: string, rel: string, v1: string, v2: string): string {
  const file = isCgroup2Only() ? path.join(CGROUP_ROOT, rel, v2) : path.join(CGROUP_ROOT, controller, rel, v1);
  return fs.readFileSync(file, "utf8").trim();
}

/** "FROZEN" or "THAWED": the v1 freezer's state, or the v2 cgroup.events "frozen" flag. */
export function freezerState(rel: string): string {
  if (!isCgroup2Only()) return cgroupFile("freezer", rel, "freezer.state", "");
  return /^frozen 1$/m.test(fs.readFileSync(path.join(CGROUP_ROOT, rel, "cgroup.events"), "utf8")) ? "FROZEN" : "THAWED";
}

/** Thaw cgroup `rel` directly through the freezer (cleanup's last resort for a paused container). */
export function thaw(rel: string): void {
  try {
    if (isCgroup2Only()) fs.writeFileSync(path.join(CGROUP_ROOT, rel, "cgroup.freeze"), "0");
    else fs.writeFileSync(path.join(CGROUP_ROOT, "freezer", rel, "freezer.state"), "THAWED");
  } catch {
    // no such cgroup
  }
}

/** Sub-cgroups of `rel` (names), in any hierarchy. */
export function cgroupChildren(rel: string): string[] {
  const names = new Set<string>();
  for (const d of cgroupDirsOf(rel)) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) names.add(e.name);
  }
  return [...names].sort();
}

export function cgroupPids(dir: string): number[] {
  try {
    return fs
      .readFileSync(path.join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** Remove cgroup `rel` and all below it in every hierarchy, killing what is still inside. */
export const removeCgroupTree = (rel: string): Promise<void> => removeTree(rel, "/tsrun-drv-");

// ---------------------------------------------------------------------------------------------
// processes

export interface Proc {
  pid: number;
  cmd: string;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export function killQuietly(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Live processes (not this one) whose command line contains `needle`. The harnesses pass their
 * temp dir: every conmon, `podman container cleanup`, containerd and shim they start names it.
 */
export function processesMentioning(needle: string, except: number[] = []): Proc[] {
  const out: Proc[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid || except.includes(pid)) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue;
    }
    if (cmd.includes(needle) && isAlive(pid)) out.push({ pid, cmd });
  }
  return out;
}

/** Wait (bounded) for the processes mentioning `needle` to exit; return those that did not. */
export async function waitNoProcesses(needle: string, except: number[] = [], ms = 10_000): Promise<Proc[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesMentioning(needle, except);
    if (left.length === 0 || Date.now() > deadline) return left;
    await Bun.sleep(25);
  }
}

/** Our own view of a field of /proc/self/status, e.g. "CapBnd". */
export function selfStatus(field: string): string {
  const m = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m?.[1]?.trim() ?? "";
}

/** The runtime's default state root, where podman (which passes no --root) makes it keep state. */
export function defaultStateRoot(runtimePath: string): string {
  return path.join("/run", path.basename(runtimePath));
}

export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}
