import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "../runtime/sys/path.ts";
import type { Context } from "./commands.ts";

export async function run(ctx: Context): Promise<number> {
  const { defaultSpec } = await import("../spec/defaults.ts");
  const path = resolve((ctx.values.bundle as string | undefined) ?? ".", "config.json");
  if (existsSync(path)) throw new Error(`"${path}" already exists; remove it first`);
  const rootless = ctx.values.rootless === true;
  const spec = defaultSpec({ rootless, hostUid: process.getuid?.() ?? 0, hostGid: process.getgid?.() ?? 0 });
  writeFileSync(path, JSON.stringify(spec, null, "\t") + "\n", { mode: 0o666 });
  return 0;
}
