// `delete`: remove what create made. A container that is not stopped is refused unless --force,
// as the runtime-spec says ("Attempting to delete a container that is not stopped MUST generate
// an error"); runc deletes a created container anyway, tsrun follows the spec.
import { AT_FDCWD, AT_REMOVEDIR, MNT_DETACH, SIGNALS } from "../sys/constants.ts";
import { hasCode } from "../sys/errors.ts";
import { exists } from "../sys/files.ts";
import { hookState, runPoststop } from "../sys/hooks.ts";
import type { Sys } from "../sys/sys.ts";
import { trace } from "../sys/trace.ts";
import { killQuietly, waitGone } from "./stages.ts";
import { canDelete, ContainerError, type ContainerState, StateStore, statusOf } from "./state.ts";

export async function deleteContainer(sys: Sys, root: string, id: string, force: boolean, warn: (m: string) => void): Promise<void> {
  const store = new StateStore(root);
  if (!exists(store.dir(id))) {
    if (force) return;
    throw new ContainerError(`container "${id}" does not exist`);
  }
  const lock = store.lock(sys, id);
  let state: ContainerState;
  try {
    try {
      state = store.read(id);
    } catch (e) {
      // A create that died before writing state leaves only the directory (runc removes it too).
      store.remove(id);
      if (force) return;
      throw e;
    }
    trace("state read");
    const status = statusOf(store, state);
    if (status !== "stopped") {
      if (!canDelete(status, force)) throw new ContainerError(`cannot delete container "${id}": it is ${status}; stop it first or use --force`);
      await stop(sys, state);
    }
    destroy(sys, store, state);
    trace("destroyed");
  } finally {
    sys.close(lock);
  }
  await poststop(state, warn);
}

/** poststop hooks, after the container is gone: a failure is a warning and the rest still run. */
export async function poststop(state: ContainerState, warn: (m: string) => void): Promise<void> {
  await runPoststop(state.config.hooks?.poststop, hookState(state.id, "stopped", state.pid, state.bundle, state.config), warn);
}

/** SIGKILL to everything in the container's cgroup (thawed if paused), then wait for pid 1 to be gone. */
export async function stop(sys: Sys, state: ContainerState): Promise<void> {
  killQuietly(sys, state.pid);
  cgroupOps().cgroupOf(state).killAll(SIGNALS.SIGKILL!, (pid, sig) => sys.kill(pid, sig));
  await waitGone(sys, state.pid);
}

// The cgroup code (and with it node:fs) is loaded only where plain rmdir(2)s are not enough.
const cgroupOps = () => require("./cgroup_ops.ts") as typeof import("./cgroup_ops.ts");

export function destroy(sys: Sys, store: StateStore, state: ContainerState): void {
  if (!removeEmptyCgroups(sys, state)) {
    const cg = cgroupOps().cgroupOf(state);
    // Processes that outlived pid 1 (no pid namespace) would keep the cgroup busy.
    if (cg.pids().length) cg.killAll(SIGNALS.SIGKILL!, (pid, sig) => sys.kill(pid, sig));
    cg.destroy();
  }
  if (state.intelRdt) (require("../intelrdt/resctrl.ts") as typeof import("../intelrdt/resctrl.ts")).removeIntelRdt(state.intelRdt);
  // Without a mount namespace the container's mounts live in the host's, under the rootfs.
  if (!(state.config.linux?.namespaces ?? []).some((n) => n.type === "mount")) {
    try {
      sys.umount2(state.rootfs, MNT_DETACH);
    } catch (e) {
      if (!hasCode(e, "EINVAL", "ENOENT")) throw e;
    }
  }
  store.remove(state.id);
}

/**
 * The usual case, a stopped container whose cgroups hold nothing: each directory create made is
 * removed with rmdir(2), deepest first. The kernel refuses (EBUSY) a cgroup that still has
 * processes or child cgroups; for the container's own directories that means work for the
 * cgroup code (false is returned), while a parent create made may have been joined by another
 * container since and is then left quietly, as the cgroup code does.
 */
function removeEmptyCgroups(sys: Sys, state: ContainerState): boolean {
  const { paths, created } = state.cgroup;
  const own = new Set(Object.values(paths.v1));
  if (paths.unified !== undefined) own.add(paths.unified);
  const depth = (d: string) => d.split("/").length;
  for (const dir of [...created].sort((a, b) => depth(b) - depth(a))) {
    try {
      sys.unlinkat(AT_FDCWD, dir, AT_REMOVEDIR);
    } catch (e) {
      if (hasCode(e, "ENOENT")) continue;
      if (!own.has(dir) && hasCode(e, "EBUSY", "ENOTEMPTY")) continue;
      return false;
    }
  }
  return true;
}
