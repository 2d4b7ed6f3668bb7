import { resolve } from "../runtime/sys/path.ts";
import type { Context } from "./commands.ts";
import { host } from "./common.ts";
import { debug, warn } from "./log.ts";

export async function run(ctx: Context): Promise<number> {
  const { execProcess } = await import("../runtime/container/exec.ts");
  const v = ctx.values;
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  const pidFile = v["pid-file"] as string | undefined;
  return execProcess(host(), {
    root: ctx.globals.root,
    id: ctx.args[0]!,
    processFile: v.process as string | undefined,
    args: ctx.args.slice(1),
    tty: v.tty === true,
    consoleSocket: v["console-socket"] as string | undefined,
    pidfdSocket: v["pidfd-socket"] as string | undefined,
    cwd: v.cwd as string | undefined,
    env: list("env"),
    user: v.user as string | undefined,
    additionalGids: list("additional-gids").map((g) => {
      if (!/^\d+$/.test(g)) throw new Error(`--additional-gids "${g}": want a number`);
      return Number(g);
    }),
    caps: list("cap"),
    noNewPrivs: v["no-new-privs"] === true,
    apparmor: v.apparmor as string | undefined,
    processLabel: v["process-label"] as string | undefined,
    preserveFds: (v["preserve-fds"] as number | undefined) ?? 0,
    cgroup: v.cgroup as string | undefined,
    ignorePaused: v["ignore-paused"] === true,
    detach: v.detach === true,
    pidFile: pidFile ? resolve(pidFile) : undefined,
    warn,
    debug,
  });
}
