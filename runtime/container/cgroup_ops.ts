// The commands that act on a container's cgroup: pause, resume, ps, events, update.
import { readFileSync } from "node:fs";
import type { LinuxResources } from "../../spec/schema.ts";
import type { Cgroup, Layout } from "../cgroups/index.ts";
import { encodeEvent, updatableResources, updateFromFlags, type UpdateFlags } from "../cgroups/index.ts";
import { POLLIN } from "../sys/constants.ts";
import type { Sys } from "../sys/sys.ts";
import { reopenCgroup } from "./cgroup_setup.ts";
import { canPause, canResume, canUpdate, ContainerError, type ContainerState, StateStore, type Status, statusOf } from "./state.ts";

export function cgroupOf(state: ContainerState): Cgroup {
  return reopenCgroup(state.cgroup.layout as Layout, state.cgroup.paths as never, state.cgroup.created);
}

/** Runs fn with the container locked, after checking its status allows `what`. */
function locked<T>(sys: Sys, root: string, id: string, allowed: (s: Status) => boolean, what: string, fn: (s: ContainerState, store: StateStore) => T): T {
  const store = new StateStore(root);
  const lock = store.lock(sys, id);
  try {
    const state = store.read(id);
    const status = statusOf(store, state);
    if (!allowed(status)) throw new ContainerError(`cannot ${what} container "${id}": it is ${status}`);
    return fn(state, store);
  } finally {
    sys.close(lock);
  }
}

export function pause(sys: Sys, root: string, id: string): void {
  locked(sys, root, id, canPause, "pause", (s) => cgroupOf(s).freeze());
}

export function resume(sys: Sys, root: string, id: string): void {
  locked(sys, root, id, canResume, "resume", (s) => cgroupOf(s).thaw());
}

/** The pids in the container's cgroup (ps --format json), or ps(1)'s table filtered to them. */
export function ps(root: string, id: string, format: string, psArgs: string[]): string {
  const store = new StateStore(root);
  const state = store.read(id);
  const pids = cgroupOf(state).pids();
  if (format === "json") return JSON.stringify(pids) + "\n";
  if (format !== "table") throw new ContainerError(`invalid --format "${format}": want table or json`);
  // As runc: the host's ps(1) with the given arguments, keeping the header and the container's rows.
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new ContainerError(`ps ${psArgs.join(" ")}: ${r.stderr.toString().trim()}`);
  const [header = "", ...lines] = r.stdout.toString().split("\n");
  const col = header.trim().split(/\s+/).indexOf("PID");
  if (col < 0) throw new ContainerError(`ps ${psArgs.join(" ")}: no PID column in its output`);
  const wanted = new Set(pids);
  const rows = lines.filter((l) => l.trim() && wanted.has(Number(l.trim().split(/\s+/)[col])));
  return [header, ...rows].join("\n") + "\n";
}

/** `events`: one stats event with --stats, else stats every interval and OOM events, until the container stops. */
export async function events(sys: Sys, root: string, id: string, once: boolean, intervalMs: number, write: (line: string) => void): Promise<void> {
  const store = new StateStore(root);
  const state = store.read(id);
  const cg = cgroupOf(state);
  if (once) {
    write(encodeEvent("stats", id, cg.stats()) + "\n");
    return;
  }
  const oom = cg.watchOom();
  try {
    let next = Date.now();
    for (;;) {
      if (statusOf(store, state) === "stopped") return;
      const now = Date.now();
      if (now >= next) {
        write(encodeEvent("stats", id, cg.stats()) + "\n");
        next = now + intervalMs;
      }
      // Wait for an OOM notification or the next tick, whichever comes first.
      sys.poll([{ fd: oom.fd, events: POLLIN }], Math.max(0, next - Date.now()));
      for (let n = oom.read(); n > 0; n--) write(encodeEvent("oom", id) + "\n");
      if (oom.done) return;
    }
  } finally {
    oom.close();
  }
}

/** `update`: -r FILE|- (runc's subset of linux.resources) or runc's flags; saved in the state too. */
export function update(sys: Sys, root: string, id: string, resourcesFile: string | undefined, flags: UpdateFlags): void {
  let resources: LinuxResources;
  if (resourcesFile !== undefined) {
    const text = readFileSync(resourcesFile === "-" ? "/dev/stdin" : resourcesFile, "utf8");
    try {
      resources = updatableResources(JSON.parse(text) as LinuxResources);
    } catch (e) {
      throw new ContainerError(`update -r ${resourcesFile}: not valid JSON: ${(e as Error).message}`);
    }
  } else {
    resources = updateFromFlags(flags);
  }
  locked(sys, root, id, canUpdate, "update", (state, store) => {
    cgroupOf(state).update(resources);
    const linux = (state.config.linux ??= {});
    linux.resources = merge(linux.resources ?? {}, resources);
    store.write(state);
  });
}

function merge<T extends object>(base: T, over: T): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === "object" && !Array.isArray(v) ? merge((out[k] ?? {}) as object, v as object) : v;
  }
  return out as T;
}
