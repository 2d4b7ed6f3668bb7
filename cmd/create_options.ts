// create's and run's options from their flags.
import { resolve } from "../runtime/sys/path.ts";
import type { CreateOptions } from "../runtime/container/create.ts";
import type { Context } from "./commands.ts";
import { debug, warn } from "./log.ts";

export function createOptions(ctx: Context, foreground: boolean): CreateOptions {
  const v = ctx.values;
  const pidFile = v["pid-file"] as string | undefined;
  return {
    root: ctx.globals.root,
    id: ctx.args[0]!,
    bundle: resolve((v.bundle as string | undefined) ?? "."),
    pidFile: pidFile ? resolve(pidFile) : undefined,
    consoleSocket: v["console-socket"] as string | undefined,
    pidfdSocket: v["pidfd-socket"] as string | undefined,
    noPivot: v["no-pivot"] === true,
    noNewKeyring: v["no-new-keyring"] === true,
    preserveFds: (v["preserve-fds"] as number | undefined) ?? 0,
    foreground,
    systemdCgroup: ctx.globals.systemdCgroup,
    rootless: ctx.globals.rootless === "true" || (ctx.globals.rootless === "auto" && (process.geteuid?.() ?? 0) !== 0),
    warn,
    debug,
  };
}
