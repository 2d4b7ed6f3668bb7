// `run`: create and start. In the foreground the enter stage stays the container's parent (and
// relays its terminal, if it has one) and exits with its status; signals sent to tsrun are
// passed on to the container's process.
import type { Sys } from "../sys/sys.ts";
import { type CreateOptions, createContainer } from "./create.ts";
import { destroy, poststop } from "./delete.ts";
import { poststart, startContainer } from "./start.ts";
import { StateStore } from "./state.ts";

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGALRM", "SIGPIPE"] as const;

export async function runContainer(sys: Sys, o: CreateOptions, keep: boolean): Promise<number> {
  const created = await createContainer(sys, o);
  if (!o.foreground) {
    await startContainer(sys, o.root, o.id);
    return 0;
  }
  const pid = created.state.pid;
  const handlers = FORWARDED.map((sig) => {
    const h = () => {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  let failed: unknown;
  try {
    await poststart(sys, created.state);
  } catch (e) {
    failed = e;
  }
  const status = await created.enter.exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  if (!keep) {
    destroy(sys, new StateStore(o.root), created.state);
    await poststop(created.state, o.warn);
  }
  if (failed) throw failed;
  return status;
}

