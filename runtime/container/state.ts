// One directory per container under --root: state.json (written to a temp file and renamed) and,
// until `start`, the exec fifo. Status is never stored: it is worked out from the kernel.
import type { Spec } from "../../spec/schema.ts";
import { LOCK_EX, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { hasCode } from "../sys/errors.ts";
import { exists, readText, rmdir, unlink } from "../sys/files.ts";
import { procStat } from "../sys/proc.ts";
import type { Sys } from "../sys/sys.ts";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  /** Start time of pid (clock ticks after boot, /proc/<pid>/stat field 22): detects pid reuse. */
  pidStart: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  config: Spec;
  cgroup: { paths: { v1: Record<string, string>; unified?: string }; created: string[]; layout: unknown };
  systemdCgroup: boolean;
  rootless: boolean;
  /** The Intel RDT group, when linux.intelRdt was given. */
  intelRdt?: { group: string; created: string[] };
}

export class ContainerError extends Error {}

const ID = /^[\w+.-]+$/;

/** Container ids as runc accepts them: letters, digits, _ + - and dots, never "." or "..". */
export function checkId(id: string | undefined): string {
  if (!id) throw new ContainerError("container id cannot be empty");
  if (!ID.test(id) || id === "." || id === ".." || id.length > 1024) throw new ContainerError(`invalid container id "${id}"`);
  return id;
}

// Loaded when first needed: the read-only commands (state, start, kill) never need it.
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return `${this.root}/${id}`;
  }

  fifo(id: string): string {
    return `${this.dir(id)}/exec.fifo`;
  }

  /** Makes the container's directory and locks it; fails if the id is taken. */
  reserve(sys: Sys, id: string): number {
    const { mkdirSync } = nodeFs();
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new ContainerError(`container "${id}" already exists`);
      throw e;
    }
    return this.lock(sys, id);
  }

  /** Locks an existing container against concurrent commands; the lock ends with the process. */
  lock(sys: Sys, id: string): number {
    let fd: number;
    try {
      fd = sys.openat(-100, this.dir(id), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } catch {
      throw notFound(id);
    }
    sys.flock(fd, LOCK_EX);
    return fd;
  }

  read(id: string): ContainerState {
    checkId(id);
    let text: string;
    try {
      text = readText(`${this.dir(id)}/state.json`);
    } catch {
      throw notFound(id);
    }
    return JSON.parse(text) as ContainerState;
  }

  write(state: ContainerState): void {
    const path = `${this.dir(state.id)}/state.json`;
    const { renameSync, writeFileSync } = nodeFs();
    writeFileSync(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  remove(id: string): void {
    // What create leaves there, removed without node:fs; anything else takes the long way.
    try {
      for (const f of ["state.json", "exec.fifo"]) {
        try {
          unlink(`${this.dir(id)}/${f}`);
        } catch (e) {
          if (!hasCode(e, "ENOENT")) throw e;
        }
      }
      rmdir(this.dir(id));
    } catch (e) {
      if (hasCode(e, "ENOENT")) return;
      nodeFs().rmSync(this.dir(id), { recursive: true, force: true });
    }
  }

  list(): string[] {
    try {
      return nodeFs()
        .readdirSync(this.root)
        .filter((n) => exists(`${this.dir(n)}/state.json`));
    } catch {
      return [];
    }
  }
}

export function notFound(id: string): ContainerError {
  return new ContainerError(`container "${id}" does not exist`);
}

/** Whether the container's first process is still the one create started (not a reused pid). */
export function isAlive(state: ContainerState): boolean {
  const st = procStat(state.pid);
  return st !== null && st.startTime === state.pidStart && st.state !== "Z" && st.state !== "X";
}

// What each command may do in each status, in one place (the runtime-spec's lifecycle, plus
// pause/resume and exec as runc has them).
export const canStart = (s: Status) => s === "created";
export const canKill = (s: Status) => s === "created" || s === "running" || s === "paused";
export const canDelete = (s: Status, force: boolean) => s === "stopped" || force;
export const canPause = (s: Status) => s === "created" || s === "running";
export const canResume = (s: Status) => s === "paused";
export const canUpdate = (s: Status) => s === "created" || s === "running" || s === "paused";
export const canExec = (s: Status, ignorePaused: boolean) => s === "created" || s === "running" || (s === "paused" && ignorePaused);

export function statusOf(store: StateStore, state: ContainerState): Status {
  if (!isAlive(state)) return "stopped";
  if (exists(store.fifo(state.id))) return "created";
  if (isFrozen(state)) return "paused";
  return "running";
}

// Read straight from the files rather than through the cgroup module: `state` stays light.
function isFrozen(state: ContainerState): boolean {
  const v1 = state.cgroup.paths.v1["freezer"];
  if (v1) return readOrEmpty(`${v1}/freezer.state`).trim() === "FROZEN";
  const v2 = state.cgroup.paths.unified;
  if (v2) return /^frozen 1$/m.test(readOrEmpty(`${v2}/cgroup.events`));
  return false;
}

function readOrEmpty(path: string): string {
  try {
    return readText(path);
  } catch {
    return "";
  }
}

/** The runtime-spec state document, with the extra fields runc prints. */
export function ociState(store: StateStore, state: ContainerState) {
  const status = statusOf(store, state);
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === "stopped" ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: state.owner,
    ...(state.annotations && Object.keys(state.annotations).length ? { annotations: state.annotations } : {}),
  };
}

export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.tsrun-tmp`;
  const { renameSync, writeFileSync } = nodeFs();
  writeFileSync(tmp, String(pid), { mode: 0o644 });
  renameSync(tmp, path);
}

export function closeQuietly(sys: Sys, fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    sys.close(fd);
  } catch {
    // already closed
  }
}

