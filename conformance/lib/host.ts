// What the host looks like: mounts, cgroups, namespaces, processes. Plus the few libc calls
// the harness needs that Bun does not expose (subreaper, waitpid).
import { dlopen, FFIType, ptr } from "bun:ffi";
import * as fs from "node:fs";
import * as path from "node:path";

const libc = dlopen("libc.so.6", {
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
  waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
});
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

export const CGROUP_ROOT = "/sys/fs/cgroup";

// ---------------------------------------------------------------------------------------------
// mounts

export interface MountInfo {
  id: number;
  parent: number;
  root: string;
  mountPoint: string;
  options: string[];
  optional: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Decode the octal escapes mountinfo uses for space, tab, newline and backslash. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const f = pre.split(" ");
    const g = post.split(" ");
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      root: unescape(f[3] ?? ""),
      mountPoint: unescape(f[4] ?? ""),
      options: (f[5] ?? "").split(","),
      optional: f.slice(6),
      fsType: g[0] ?? "",
      source: unescape(g[1] ?? ""),
      superOptions: (g[2] ?? "").split(","),
    });
  }
  return out;
}

export function hostMounts(): MountInfo[] {
  return parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"));
}

/** Host mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return hostMounts()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(dir + "/"));
}

/** Lazily unmount everything at or below `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  for (let round = 0; round < 16; round++) {
    const points = mountsUnder(dir).sort((a, b) => b.length - a.length);
    if (points.length === 0) return;
    for (const p of points) Bun.spawnSync(["umount", "-l", p]);
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`could not unmount ${left.join(", ")}`);
}

// ---------------------------------------------------------------------------------------------
// cgroups (this host is hybrid: v1 controllers at /sys/fs/cgroup/<c>, cgroup2 at .../unified;
// a pure v2 host has everything at /sys/fs/cgroup)

export function isCgroup2Only(): boolean {
  return fs.existsSync(path.join(CGROUP_ROOT, "cgroup.controllers"));
}

/** Every hierarchy root: the v1 controller mounts plus the v2 one, or just the v2 root. */
export function cgroupHierarchies(): string[] {
  return hostMounts()
    .filter((m) => (m.fsType === "cgroup" || m.fsType === "cgroup2") && m.mountPoint.startsWith(CGROUP_ROOT))
    .map((m) => m.mountPoint);
}

/** The directory of cgroup `rel` (e.g. "/tsrun-conformance-x/id") for a v1 controller or v2. */
export function cgroupDir(controller: string, rel: string): string {
  if (isCgroup2Only()) return path.join(CGROUP_ROOT, rel);
  return path.join(CGROUP_ROOT, controller, rel);
}

/** Hierarchy directories where cgroup `rel` exists. */
export function cgroupDirsOf(rel: string): string[] {
  return cgroupHierarchies()
    .map((h) => path.join(h, rel))
    .filter((d) => fs.existsSync(d));
}

function pidsIn(dir: string): number[] {
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

/**
 * Remove cgroup `rel` and everything below it in every hierarchy, killing stragglers first (a
 * frozen cgroup is thawed so that they can die). Only ever called on a parent a test suite named
 * itself: `rel` must be below `prefix` (e.g. "/tsrun-conformance-"), without "." or "..". The
 * conformance, drivers and security suites share it.
 */
export async function removeCgroupTree(rel: string, prefix = "/tsrun-conformance-"): Promise<void> {
  if (!rel.startsWith(prefix) || rel.split("/").some((c) => c === "." || c === "..")) throw new Error(`refusing to remove cgroup ${rel}`);
  for (const top of cgroupDirsOf(rel)) {
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
      }
    };
    walk(top);
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      const deadline = Date.now() + 5000;
      for (;;) {
        for (const pid of pidsIn(d)) killQuietly(pid, "SIGKILL");
        try {
          fs.rmdirSync(d);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          // EBUSY until the killed processes are gone: bounded poll.
          if (code !== "EBUSY" || Date.now() > deadline) throw e;
          try {
            fs.writeFileSync(path.join(d, "freezer.state"), "THAWED");
          } catch {
            // not the freezer hierarchy
          }
          await Bun.sleep(10);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// namespaces and processes

/** "net:[4026531840]" for a /proc/<pid>/ns/<type> link, or a bind-mounted namespace file. */
export function nsId(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    // A bind-mounted nsfs file is not a symlink; its inode identifies the namespace.
    return `[${fs.statSync(file).ino}]`;
  }
}

/** The inode number in "net:[4026531840]". */
export function nsInode(link: string): string {
  const m = /\[(\d+)\]/.exec(link);
  if (m === null || m[1] === undefined) throw new Error(`not a namespace link: ${JSON.stringify(link)}`);
  return m[1];
}

export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 3, after the parenthesised comm; a zombie has exited.
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

/** Bounded wait for `pid` to exit (a `kill -0` loop with a deadline). */
export async function waitGone(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(5);
  }
  return true;
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/**
 * Run `fn` with this process as a child subreaper, and return the processes it left behind:
 * anything the runtime started that outlived it is reparented to us, and so shows up here.
 * Such processes are killed and reaped before returning.
 */
export async function leftoverProcesses(fn: () => Promise<void>): Promise<string[]> {
  const before = new Set(childrenOf(process.pid));
  libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  let left: number[] = [];
  let live: number[] = [];
  try {
    await fn();
    // Orphans are reparented when their parent exits, which happened before fn resolved.
    left = childrenOf(process.pid).filter((p) => !before.has(p));
    // A zombie has already exited: it was only waiting for a parent to reap it, which we are now.
    live = left.filter(isAlive);
  } finally {
    libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  }
  const described = live.map((p) => {
    let cmd = "?";
    try {
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      // gone
    }
    return `${p} (${cmd})`;
  });
  for (const p of left) {
    killQuietly(p, "SIGKILL");
    const status = new Int32Array(1);
    const deadline = Date.now() + 5000;
    while (libc.symbols.waitpid(p, ptr(status), WNOHANG) === 0 && Date.now() < deadline) await Bun.sleep(5);
  }
  return described;
}
