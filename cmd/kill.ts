import type { Context } from "./commands.ts";
import { host } from "./common.ts";

export async function run(ctx: Context): Promise<number> {
  const { killContainer, parseSignal } = await import("../runtime/container/kill.ts");
  await killContainer(host(), ctx.globals.root, ctx.args[0]!, parseSignal(ctx.args[1] ?? "SIGTERM"), ctx.values.all === true);
  return 0;
}
