// `kill`: a signal to the container's pid 1, or with --all to every process in its cgroup.
import { SIGNALS, SIGRTMAX, SIGRTMIN } from "../sys/constants.ts";
import type { Sys } from "../sys/sys.ts";
import { canKill, ContainerError, StateStore, statusOf } from "./state.ts";

/** "KILL", "SIGKILL", "kill", "9", "RTMIN+3" → a signal number, as runc accepts them. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n < 1 || n > SIGRTMAX) throw new ContainerError(`unknown signal "${raw}"`);
    return n;
  }
  let name = raw.toUpperCase();
  if (!name.startsWith("SIG")) name = `SIG${name}`;
  const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw new ContainerError(`unknown signal "${raw}"`);
  return n;
}

// The cgroup code is loaded only when needed: a plain kill is on the hot path of every container.
export async function killContainer(sys: Sys, root: string, id: string, signal: number, all: boolean): Promise<void> {
  const store = new StateStore(root);
  const lock = store.lock(sys, id);
  try {
    const state = store.read(id);
    const status = statusOf(store, state);
    if (all) {
      // Every process in the cgroup, frozen meanwhile so none can fork away (runc's way).
      const { cgroupOf } = await import("./cgroup_ops.ts");
      cgroupOf(state).killAll(signal, (pid, sig) => sys.kill(pid, sig));
      return;
    }
    // Only a live pid 1 that is still ours (start time checked) is signalled: never a reused pid.
    if (!canKill(status)) throw new ContainerError(`container "${id}" is not running`);
    sys.kill(state.pid, signal);
    // A frozen process dies only once thawed; other signals wait for `resume` (runc does the same).
    if (status === "paused" && signal === SIGNALS.SIGKILL) (await import("./cgroup_ops.ts")).cgroupOf(state).thaw();
  } finally {
    sys.close(lock);
  }
}
