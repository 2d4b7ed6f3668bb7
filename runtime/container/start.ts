// `start`: release the container's pid 1 from the exec fifo. Opening the fifo for reading is
// what lets the exec stage's blocking open for writing return; the exec stage then runs the
// startContainer hooks and writes its verdict: FIFO_OK just before execve, or FIFO_FAILED and
// the error.
import { decodeError } from "../sys/channel.ts";
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLHUP, POLLIN } from "../sys/constants.ts";
import { describe, hasCode } from "../sys/errors.ts";
import { unlink } from "../sys/files.ts";
import { hookState, runHooks } from "../sys/hooks.ts";
import { FIFO_FAILED, FIFO_OK } from "../sys/protocol.ts";
import type { Sys } from "../sys/sys.ts";
import { trace } from "../sys/trace.ts";
import { nativeMessage } from "./stages.ts";
import { canStart, type ContainerState, ContainerError, StateStore, statusOf } from "./state.ts";

export async function startContainer(sys: Sys, root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  const lock = store.lock(sys, id);
  let state: ContainerState;
  try {
    trace("locked");
    state = store.read(id);
    const status = statusOf(store, state);
    if (!canStart(status)) throw new ContainerError(`cannot start container "${id}": it is ${status}, not created`);
    release(sys, store, state);
    trace("released");
  } finally {
    sys.close(lock);
  }
  await poststart(sys, state);
}

function release(sys: Sys, store: StateStore, state: ContainerState): void {
  // The pidfd first: opening the fifo releases the process, and a short-lived one (`echo`) can
  // run, exit and be reaped by its subreaper (conmon, containerd's shim) before a pidfd_open that
  // came second (ESRCH; seen under load with podman and containerd).
  let pidfd: number;
  try {
    pidfd = sys.pidfdOpen(state.pid);
  } catch (e) {
    if (hasCode(e, "ESRCH")) throw new ContainerError(`cannot start container "${state.id}": its process exited before it could start`);
    throw e;
  }
  // O_NONBLOCK: the open must not wait for a writer; poll waits for the verdict instead, or for
  // the process to die (a pidfd polls readable when it exits), so nothing hangs.
  let fifo: number;
  try {
    fifo = sys.openat(-100, store.fifo(state.id), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  } catch (e) {
    sys.close(pidfd);
    throw e;
  }
  try {
    // The verdict byte, then EOF once execve has closed the write end: only then has the
    // container's process really been executed (what poststart hooks may rely on). An error
    // after the verdict (seccomp, execve) arrives before that EOF.
    const got: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const ready = sys.poll([{ fd: fifo, events: POLLIN }, { fd: pidfd, events: POLLIN }], -1)!;
      const n = ready[0]! & (POLLIN | POLLHUP) ? readSome(sys, fifo, buf) : 0;
      if (n > 0) got.push(...buf.subarray(0, n));
      if (n === 0) break;
    }
    const failed = got.indexOf(FIFO_FAILED);
    if (failed >= 0) {
      const { errno, op } = decodeError(Uint8Array.from(got.slice(failed + 1)));
      throw new ContainerError(`start container "${state.id}": ${nativeMessage(errno, op)}`);
    }
    if (got[0] !== FIFO_OK) throw new ContainerError(`cannot start container "${state.id}": its process exited before it could start`);
  } finally {
    sys.close(fifo);
    sys.close(pidfd);
    // Released or dead, it is no longer "created".
    unlink(store.fifo(state.id));
  }
}

/** read(2) of a non-blocking fifo: 0 at EOF, -1 when nothing is there yet. */
function readSome(sys: Sys, fd: number, buf: Uint8Array): number {
  try {
    return sys.read(fd, buf);
  } catch (e) {
    if (hasCode(e, "EAGAIN")) return -1;
    throw e;
  }
}

/**
 * poststart hooks, after the process started and before `start` (or `run`) returns. A failing
 * one stops the container and fails the command (runtime-spec 1.3, lifecycle step 9).
 */
export async function poststart(sys: Sys, state: ContainerState): Promise<void> {
  const hooks = state.config.hooks?.poststart;
  if (!hooks?.length) return;
  try {
    await runHooks("poststart", hooks, hookState(state.id, "running", state.pid, state.bundle, state.config));
  } catch (e) {
    // Loaded only on this failure path: the cgroup code is not needed to start.
    const { stop } = await import("./delete.ts");
    await stop(sys, state);
    throw new ContainerError(`start container "${state.id}": ${describe(e)}; the container was stopped`);
  }
}
