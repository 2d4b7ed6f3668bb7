import { dirname, join, relative, sep } from "../sys/path.ts";
import { type CgroupFs, errorCode, hostFs, readFile, writeFile, wrapError } from "./files.ts";
import { type Freezer, type FreezerState, freeze, freezerState, thaw, type Wait } from "./freezer.ts";
import type { CgroupKernel } from "./kernel.ts";
import { type OomWatch, watchOom } from "./oom.ts";
import { applyResources, unifiedControllers } from "./resources.ts";
import { readStats, type Stats } from "./stats.ts";
import type { CgroupPaths, Layout, LinuxResources, Mount } from "./types.ts";

/** A container's cgroup, on whichever layout the host has. */
export interface Cgroup {
  /** The container's directories; store them in the state file with `created`. */
  readonly paths: CgroupPaths;
  /** Directories this runtime made, parents before children; `destroy` removes exactly these. */
  readonly created: readonly string[];
  /** Move a process (and so its future children) into every hierarchy, or only the given ones. */
  addProcess(pid: number, only?: "v1" | "v2"): void;
  /**
   * Where a process about to be forked joins by itself (see native/helper.c): each v1
   * hierarchy's `tasks` file, and the cgroup2 directory to fork into.
   */
  joinTargets(): { tasks: string[]; cgroup2?: string };
  /** Every process in the cgroup and the cgroups the container made below it, ascending. */
  pids(): number[];
  /**
   * Write resources; used by create and by the `update` command. Everything is checked before the
   * first write, so a refused update leaves the limits in force as they were.
   */
  update(resources: LinuxResources): void;
  /** Remove the directories create made, deepest first; waits briefly for exiting tasks. */
  destroy(): void;
  /** `pause`: freeze every process, and wait (boundedly) until the kernel has. */
  freeze(): void;
  /** `resume`. */
  thaw(): void;
  /** "frozen" after `pause`; "undefined" where there is no freezer. */
  freezerState(): FreezerState;
  /** runc's `events --stats` counters; encodeEvent("stats", id, stats) prints them as runc does. */
  stats(): Stats;
  /**
   * `kill --all`: SIGKILL through cgroup.kill where the kernel has it (Linux ≥ 5.14, cgroup2);
   * otherwise freeze, signal every pid, thaw (runc's way: nothing can fork in between, and v1
   * frozen tasks only die once thawed). Processes that are already gone are skipped.
   */
  killAll(signal: number, kill?: (pid: number, signal: number) => void): void;
  /** OOM events for `events`; poll its fd, or call read() at each interval. */
  watchOom(): OomWatch;
}

/** The kernel seams; tests pass fakes, the defaults are the real ones. */
export interface CgroupEnv {
  fs?: CgroupFs;
  kernel?: CgroupKernel;
  /** How to pause between polls of a freezing cgroup (tests: never really sleep). */
  wait?: Wait;
}

// Loaded on first use only: it opens libc through bun:ffi, which `state` or `kill` never need.
const linuxKernel = (): CgroupKernel => (require("./kernel_linux.ts") as typeof import("./kernel_linux.ts")).linuxKernel;

/** The container's own directories, once each (co-mounted v1 controllers share one). */
function leafDirs(paths: CgroupPaths): string[] {
  const dirs = new Set(Object.values(paths.v1));
  if (paths.unified !== undefined) dirs.add(paths.unified);
  return [...dirs];
}

function isWithin(dir: string, mount: string): boolean {
  const rel = relative(mount, dir);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep));
}

function mountOf(layout: Layout, dir: string): Mount {
  const mounts = [...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])];
  // Longest match: on hybrid "/sys/fs/cgroup/unified" must not be taken for a v1 hierarchy's parent.
  const match = mounts.filter((m) => isWithin(dir, m.dir)).sort((a, b) => b.dir.length - a.dir.length)[0];
  if (match === undefined) throw new Error(`create cgroup "${dir}": not inside any cgroup hierarchy`);
  return match;
}

// A new v1 cpuset cgroup starts with empty cpus and mems, and no task may join it (ENOSPC) until
// they are set. Inherit the parent's, as runc does; clone_children is off by default.
function inheritCpuset(fsys: CgroupFs, dir: string): void {
  const what = `create cgroup "${dir}"`;
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    if (readFile(fsys, dir, file, what) !== "") continue;
    writeFile(fsys, dir, file, readFile(fsys, dirname(dir), file, what), what);
  }
}

/** mkdir each missing level from the mount down to `dir`, recording what it made. */
function makeDirs(fsys: CgroupFs, mount: Mount, dir: string, created: string[], isCpuset: boolean): void {
  let level = mount.dir;
  for (const part of relative(mount.dir, dir).split(sep).filter((p) => p !== "")) {
    level = join(level, part);
    try {
      fsys.mkdir(level);
    } catch (err) {
      if (errorCode(err) === "EEXIST") continue;
      throw wrapError(`create cgroup "${level}"`, err);
    }
    created.push(level);
    if (isCpuset) inheritCpuset(fsys, level);
  }
}

const RMDIR_DELAYS_MS = [10, 20, 40, 80, 160, 320];

// A cgroup whose last task is still exiting refuses rmdir with EBUSY for a moment: retry with
// backoff, at most ~0.6 s in all (runc retries the same way).
function rmdirPatiently(fsys: CgroupFs, dir: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fsys.rmdir(dir);
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code === "ENOENT") return;
      const delay = RMDIR_DELAYS_MS[attempt];
      if (code !== "EBUSY" || delay === undefined) throw wrapError(`remove cgroup "${dir}"`, err);
      Bun.sleepSync(delay);
    }
  }
}

// The container's own cgroup, with any cgroups the container made inside it (the kernel refuses to
// remove a cgroup that has children).
function removeTree(fsys: CgroupFs, dir: string): void {
  if (!fsys.exists(dir)) return;
  for (const child of fsys.subdirs(dir)) removeTree(fsys, join(dir, child));
  rmdirPatiently(fsys, dir);
}

// A parent we made for the container: another container may have moved in below it since, so it goes
// only if empty, and is otherwise left quietly.
function removeIfUnused(fsys: CgroupFs, dir: string): void {
  try {
    fsys.rmdir(dir);
  } catch (err) {
    const code = errorCode(err);
    if (code === "ENOENT" || code === "EBUSY" || code === "ENOTEMPTY") return;
    throw wrapError(`remove cgroup "${dir}"`, err);
  }
}

function removeCreated(fsys: CgroupFs, created: readonly string[], leaves: readonly string[]): void {
  const depth = (d: string) => d.split(sep).length;
  const errors: Error[] = [];
  for (const dir of [...created].sort((a, b) => depth(b) - depth(a))) {
    try {
      if (leaves.includes(dir)) removeTree(fsys, dir);
      else removeIfUnused(fsys, dir);
    } catch (err) {
      errors.push(err as Error);
    }
  }
  // Keep going past a failure so one stuck hierarchy leaves as little behind as possible.
  const [first] = errors;
  if (first !== undefined) throw first;
}

class FsCgroup implements Cgroup {
  private readonly fsys: CgroupFs;
  private kernelSeam: CgroupKernel | undefined;

  constructor(
    private readonly layout: Layout,
    readonly paths: CgroupPaths,
    readonly created: readonly string[],
    private readonly env: CgroupEnv,
  ) {
    this.fsys = env.fs ?? hostFs;
    this.kernelSeam = env.kernel;
  }

  private get kernel(): CgroupKernel {
    return (this.kernelSeam ??= linuxKernel());
  }

  joinTargets(): { tasks: string[]; cgroup2?: string } {
    const tasks = [...new Set(Object.values(this.paths.v1))].map((dir) => join(dir, "tasks"));
    return this.paths.unified === undefined ? { tasks } : { tasks, cgroup2: this.paths.unified };
  }

  addProcess(pid: number, only?: "v1" | "v2"): void {
    const v1 = new Set(Object.values(this.paths.v1));
    const dirs = leafDirs(this.paths).filter((d) => only === undefined || (only === "v1") === v1.has(d));
    for (const dir of dirs) {
      const file = join(dir, "cgroup.procs");
      for (let attempt = 1; ; attempt++) {
        try {
          this.fsys.write(file, String(pid));
          break;
        } catch (err) {
          // EINVAL while the task is still being forked (TASK_NEW); runc retries the same way.
          if (errorCode(err) !== "EINVAL" || attempt === 5) {
            throw wrapError(`add process ${pid} to cgroup: write "${file}"`, err);
          }
          Bun.sleepSync(30);
        }
      }
    }
  }

  pids(): number[] {
    // Every hierarchy holds the same processes; devices always exists on v1 (resolvePaths insists).
    const top = this.paths.v1.devices ?? Object.values(this.paths.v1)[0] ?? this.paths.unified;
    if (top === undefined) return [];
    const found = new Set<number>();
    const walk = (dir: string) => {
      let procs: string;
      try {
        procs = this.fsys.read(join(dir, "cgroup.procs"));
      } catch (err) {
        // A cgroup that is gone (a child vanishing while we walk, or the container's own removed
        // behind our back) holds no processes.
        if (errorCode(err) === "ENOENT") return;
        throw wrapError(`list processes: read "${join(dir, "cgroup.procs")}"`, err);
      }
      for (const line of procs.split("\n")) if (line.trim() !== "") found.add(Number(line));
      for (const child of this.fsys.subdirs(dir)) walk(join(dir, child));
    };
    walk(top);
    return [...found].sort((a, b) => a - b);
  }

  update(resources: LinuxResources): void {
    applyResources(this.layout, this.paths, resources, { fsys: this.fsys, kernel: () => this.kernel });
  }

  destroy(): void {
    removeCreated(this.fsys, this.created, leafDirs(this.paths));
  }

  /** The v1 freezer hierarchy, else cgroup2's core freezer. */
  private freezer(): Freezer | undefined {
    const v1 = this.paths.v1.freezer;
    if (v1 !== undefined) return { version: 1, dir: v1 };
    if (this.paths.unified !== undefined && this.layout.kind !== "v1") return { version: 2, dir: this.paths.unified };
    return undefined;
  }

  freeze(): void {
    const f = this.freezer();
    if (f === undefined) throw new Error(`freeze cgroup: no freezer (no "freezer" hierarchy is mounted)`);
    freeze(this.fsys, f, this.env.wait);
  }

  thaw(): void {
    const f = this.freezer();
    if (f !== undefined) thaw(this.fsys, f);
  }

  freezerState(): FreezerState {
    const f = this.freezer();
    return f === undefined ? "undefined" : freezerState(this.fsys, f, this.env.wait);
  }

  stats(): Stats {
    const v2 = this.layout.kind === "v1" ? undefined : this.paths.unified;
    // Hybrid: v1 first; the cgroup2 side only for the controllers delegated to it (hugetlb here).
    const v2Controllers = this.layout.kind === "hybrid" && v2 !== undefined ? unifiedControllers(this.fsys, v2) : undefined;
    return readStats(this.fsys, { v1: this.paths.v1, v2, v2Controllers });
  }

  killAll(signal: number, kill: (pid: number, signal: number) => void = (pid, sig) => process.kill(pid, sig)): void {
    const v2 = this.layout.kind === "v1" ? undefined : this.paths.unified;
    if (signal === 9 && v2 !== undefined && this.fsys.exists(join(v2, "cgroup.kill"))) {
      writeFile(this.fsys, v2, "cgroup.kill", "1", "kill all processes");
      // A process frozen by the v1 freezer (hybrid) dies only once thawed.
      if (this.layout.kind === "hybrid") this.thaw();
      return;
    }
    let frozen = false;
    try {
      this.freeze();
      frozen = true;
    } catch {
      // As runc: a cgroup that cannot freeze is still signalled, just without the guarantee.
    }
    try {
      for (const pid of this.pids()) {
        try {
          kill(pid, signal);
        } catch (err) {
          if (errorCode(err) !== "ESRCH") throw wrapError(`kill process ${pid}`, err);
        }
      }
    } finally {
      if (frozen) this.thaw();
    }
  }

  watchOom(): OomWatch {
    const v1 = this.paths.v1.memory;
    const dir = v1 ?? (this.layout.kind === "v2" ? this.paths.unified : undefined);
    if (dir === undefined) throw new Error(`watch OOM events: no "memory" cgroup hierarchy is mounted`);
    return watchOom(this.fsys, this.kernel, dir, v1 !== undefined ? 1 : 2);
  }
}

/**
 * Make the container's cgroup directories and apply `resources`. All or nothing: on failure the
 * directories it made are removed again and the error (naming the config field and the file) is
 * thrown.
 */
export function createCgroup(layout: Layout, paths: CgroupPaths, resources?: LinuxResources, env: CgroupEnv = {}): Cgroup {
  const fsys = env.fs ?? hostFs;
  const created: string[] = [];
  const cpuset = layout.v1.cpuset?.dir;
  try {
    for (const dir of leafDirs(paths)) {
      const mount = mountOf(layout, dir);
      makeDirs(fsys, mount, dir, created, mount.dir === cpuset);
    }
    const cgroup = new FsCgroup(layout, paths, created, env);
    // Even without resources: on v2 this delegates the controllers, as runc does.
    cgroup.update(resources ?? {});
    return cgroup;
  } catch (err) {
    try {
      removeCreated(fsys, created, leafDirs(paths));
    } catch (cleanup) {
      const message = cleanup instanceof Error ? cleanup.message : String(cleanup);
      throw new Error(`${(err as Error).message} (cleanup failed too: ${message})`, { cause: err });
    }
    throw err;
  }
}

/**
 * The cgroup of an existing container, from its state file. Without `created`, only the container's
 * own directories count as ours (runc's behaviour): parents made at create time stay behind.
 */
export function openCgroup(
  layout: Layout,
  paths: CgroupPaths,
  created: readonly string[] = leafDirs(paths),
  env: CgroupEnv = {},
): Cgroup {
  return new FsCgroup(layout, paths, [...created], env);
}
