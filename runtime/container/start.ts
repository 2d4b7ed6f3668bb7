// `start`: release the container's pid 1 from the exec fifo. Opening the fifo for reading is
// what lets the exec stage's blocking open for writing return.
import { unlinkSync } from "node:fs";
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, POLLHUP, POLLIN } from "../sys/constants.ts";
import type { Sys } from "../sys/sys.ts";
import { trace } from "../sys/trace.ts";
import { ContainerError, StateStore, statusOf } from "./state.ts";

export async function startContainer(sys: Sys, root: string, id: string): Promise<void> {
  const store = new StateStore(root);
  const lock = store.lock(sys, id);
  try {
    trace("locked");
    const state = store.read(id);
    const status = statusOf(store, state);
    if (status !== "created") throw new ContainerError(`cannot start container "${id}": it is ${status}, not created`);
    // O_NONBLOCK: the open must not wait for a writer; poll below waits for the byte instead,
    // or for the process to die (a pidfd polls readable when it exits), so nothing hangs.
    const fifo = sys.openat(-100, store.fifo(id), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const pidfd = sys.pidfdOpen(state.pid);
    try {
      const ready = sys.poll([{ fd: fifo, events: POLLIN }, { fd: pidfd, events: POLLIN }], -1)!;
      const buf = new Uint8Array(1);
      if (!(ready[0]! & (POLLIN | POLLHUP)) || sys.read(fifo, buf) !== 1)
        throw new ContainerError(`cannot start container "${id}": its process exited before it could start`);
    } finally {
      sys.close(fifo);
      sys.close(pidfd);
    }
    trace("released");
    unlinkSync(store.fifo(id));
  } finally {
    sys.close(lock);
  }
}
