// pause/resume: the v1 freezer controller, or cgroup v2's core cgroup.freeze. Both are
// asynchronous in the kernel; these wait, boundedly, until the cgroup is really frozen.
import { join } from "../sys/path.ts";
import { type CgroupFs, errorCode, readFile, writeFile } from "./files.ts";

export type FreezerState = "frozen" | "thawed" | "undefined";

export interface Freezer {
  version: 1 | 2;
  dir: string;
}

/** Options for tests: how to wait between polls (default: Bun.sleepSync). */
export interface Wait {
  sleep?(ms: number): void;
}

const sleeper = (w: Wait) => w.sleep ?? ((ms: number) => Bun.sleepSync(ms));

/**
 * v1: write FROZEN and read back until the kernel reports FROZEN rather than FREEZING. A task stuck
 * in an uninterruptible sleep (vfork, a fuse request) can keep a cgroup FREEZING for good, so like
 * runc: thaw and retry every 50 attempts, give up after 1000, and thaw again on failure, never
 * leaving a half-frozen container behind.
 */
function freezeV1(fsys: CgroupFs, dir: string, w: Wait): void {
  const sleep = sleeper(w);
  const what = "freeze cgroup";
  try {
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        writeFile(fsys, dir, "freezer.state", "THAWED", what);
        sleep(10);
      }
      writeFile(fsys, dir, "freezer.state", "FROZEN", what);
      if (i % 25 === 24) sleep(1);
      const state = readFile(fsys, dir, "freezer.state", what);
      if (state === "FROZEN") return;
      if (state !== "FREEZING") throw new Error(`${what}: unexpected "freezer.state" ${JSON.stringify(state)} in "${dir}"`);
    }
    throw new Error(`${what}: "${dir}" is still FREEZING after 1000 attempts`);
  } catch (err) {
    try {
      fsys.write(join(dir, "freezer.state"), "THAWED");
    } catch {}
    throw err;
  }
}

/** v2: cgroup.freeze = 1, then wait (≤ 10 s, as runc) until cgroup.events says "frozen 1". */
function freezeV2(fsys: CgroupFs, dir: string, w: Wait): void {
  const sleep = sleeper(w);
  const what = "freeze cgroup";
  if (!fsys.exists(join(dir, "cgroup.freeze"))) throw new Error(`${what}: the kernel has no cgroup v2 freezer (no "cgroup.freeze" in "${dir}", Linux < 5.2)`);
  writeFile(fsys, dir, "cgroup.freeze", "1", what);
  for (let i = 0; i < 1000; i++) {
    if (/^frozen 1$/m.test(readFile(fsys, dir, "cgroup.events", what))) return;
    sleep(10);
  }
  try {
    fsys.write(join(dir, "cgroup.freeze"), "0");
  } catch {}
  throw new Error(`${what}: "${dir}" did not freeze within 10 s`);
}

export function freeze(fsys: CgroupFs, f: Freezer, w: Wait = {}): void {
  if (f.version === 1) freezeV1(fsys, f.dir, w);
  else freezeV2(fsys, f.dir, w);
}

export function thaw(fsys: CgroupFs, f: Freezer): void {
  if (f.version === 2 && !fsys.exists(join(f.dir, "cgroup.freeze"))) return; // never frozen, then
  writeFile(fsys, f.dir, f.version === 1 ? "freezer.state" : "cgroup.freeze", f.version === 1 ? "THAWED" : "0", "thaw cgroup");
}

/**
 * What `pause` left: "frozen", "thawed", or "undefined" when there is no freezer. A v1 cgroup that
 * is FROZEN only because an ancestor is (freezer.self_freezing 0) counts as thawed, as in runc.
 */
export function freezerState(fsys: CgroupFs, f: Freezer, w: Wait = {}): FreezerState {
  const sleep = sleeper(w);
  const read = (file: string): string | undefined => {
    try {
      return fsys.read(join(f.dir, file)).trim();
    } catch (err) {
      if (errorCode(err) === "ENOENT" || errorCode(err) === "ENODEV") return undefined;
      throw err;
    }
  };
  if (f.version === 2) {
    const v = read("cgroup.freeze");
    return v === undefined ? "undefined" : v === "1" ? "frozen" : "thawed";
  }
  for (let i = 0; i < 1000; i++) {
    const state = read("freezer.state");
    if (state === undefined) return "undefined";
    if (state === "THAWED") return "thawed";
    if (state === "FROZEN") return read("freezer.self_freezing") === "0" ? "thawed" : "frozen";
    sleep(1); // FREEZING: a freeze in progress
  }
  return "frozen";
}
