// Lifecycle hooks run by the host, in the runtime's namespaces: prestart and createRuntime
// (during create, before pivot_root), poststart (after the process started, before start
// returns), poststop (after delete). createContainer hooks run in init, startContainer hooks in
// the exec stage. Each gets the container's state on stdin, exactly its own env and args.
// Shared by the host and init (a seam of its own: it starts processes).
import type { Hook, Spec } from "../../spec/schema.ts";
import { SPEC_VERSION } from "../../spec/version.ts";

export type HookPhase = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export interface HookState {
  ociVersion: string;
  id: string;
  status: "creating" | "created" | "running" | "stopped";
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export function hookState(id: string, status: HookState["status"], pid: number, bundle: string, config: Spec): HookState {
  return {
    ociVersion: SPEC_VERSION,
    id,
    status,
    ...(status === "stopped" ? {} : { pid }),
    bundle,
    ...(config.annotations ? { annotations: config.annotations } : {}),
  };
}

/**
 * The state for hooks run in the container's namespaces: runtime.md wants the pid "as seen by
 * the container" there, which is the caller's own pid (init, later the exec stage).
 */
export function asSeenInside(state: string, pid: number): string {
  const s = JSON.parse(state) as HookState;
  return JSON.stringify(s.pid === undefined ? s : { ...s, pid });
}

export class HookError extends Error {}

/** Runs the hooks of one phase in order; the first failure (exit status, timeout) throws. */
export async function runHooks(phase: HookPhase, hooks: readonly Hook[] | undefined, state: HookState | string, cwd?: string): Promise<void> {
  const input = typeof state === "string" ? state : JSON.stringify(state);
  for (const [i, h] of (hooks ?? []).entries()) {
    const what = `hooks.${phase}[${i}] "${h.path}"`;
    let proc;
    try {
      proc = Bun.spawn({
        // execv(path, args): args[0] need not be the path.
        cmd: [h.path, ...(h.args ?? []).slice(1)],
        argv0: h.args?.[0] ?? h.path,
        env: Object.fromEntries((h.env ?? []).filter((e) => e.includes("=")).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
        stdin: new Blob([input]),
        ...(cwd ? { cwd } : {}),
        stdout: "pipe",
        stderr: "pipe",
      });
    } catch (e) {
      throw new HookError(`${what}: ${(e as Error).message}`);
    }
    let timedOut = false;
    const timer = h.timeout && h.timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          proc.kill("SIGKILL");
        }, h.timeout * 1000)
      : undefined;
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (timer) clearTimeout(timer);
    if (timedOut) throw new HookError(`${what}: timed out after ${h.timeout} s`);
    if (code !== 0) {
      const said = (err || out).trim().split("\n").slice(-3).join("; ");
      throw new HookError(`${what}: exited with status ${code}${said ? `: ${said}` : ""}`);
    }
  }
}

/**
 * poststop: a failure is a warning, and the remaining hooks still run (runtime.md, Lifecycle 13).
 */
export async function runPoststop(hooks: readonly Hook[] | undefined, state: HookState, warn: (m: string) => void): Promise<void> {
  for (const [i, h] of (hooks ?? []).entries()) {
    try {
      await runHooks("poststop", [h], state);
    } catch (e) {
      warn((e as Error).message.replace("hooks.poststop[0]", `hooks.poststop[${i}]`));
    }
  }
}
