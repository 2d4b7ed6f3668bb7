// `run`: create and start. In the foreground the enter stage stays the container's parent and
// exits with its status; signals sent to tsrun are passed on to the container's process.
import type { Sys } from "../sys/sys.ts";
import { type CreateOptions, createContainer } from "./create.ts";
import { destroy } from "./delete.ts";
import { startContainer } from "./start.ts";
import { StateStore } from "./state.ts";

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCONT", "SIGALRM", "SIGPIPE"] as const;

export async function runContainer(sys: Sys, o: CreateOptions, keep: boolean): Promise<number> {
  const created = await createContainer(sys, o);
  const store = new StateStore(o.root);
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
  const status = await created.enter.exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  if (!keep) destroy(sys, store, created.state);
  return status;
}
