// `run`: create and start. In the foreground the enter stage stays the container's parent (and
// relays its terminal, if it has one) and exits with its status; signals sent to tsrun are
// passed on to the container's process.
import type { Sys } from "../sys/sys.ts";
import { type CreateOptions, createContainer } from "./create.ts";
import { destroy, poststop } from "./delete.ts";
import { poststart, startContainer } from "./start.ts";
import { SignalForwarder } from "./forward.ts";
import { StateStore } from "./state.ts";

export async function runContainer(sys: Sys, o: CreateOptions, keep: boolean): Promise<number> {
  if (!o.foreground) {
    await createContainer(sys, o);
    await startContainer(sys, o.root, o.id);
    return 0;
  }
  const signals = new SignalForwarder();
  let created;
  try {
    created = await createContainer(sys, o);
  } catch (e) {
    signals.close();
    throw e;
  }
  signals.target(created.state.pid);
  let failed: unknown;
  try {
    await poststart(sys, created.state);
  } catch (e) {
    failed = e;
  }
  const status = await created.enter.exited;
  signals.close();
  if (!keep) {
    destroy(sys, new StateStore(o.root), created.state);
    await poststop(created.state, o.warn);
  }
  if (failed) throw failed;
  return status;
}
