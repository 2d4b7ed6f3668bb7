import type { Context } from "./commands.ts";
import { host } from "./common.ts";

export async function run(ctx: Context): Promise<number> {
  const { startContainer } = await import("../runtime/container/start.ts");
  await startContainer(host(), ctx.globals.root, ctx.args[0]!);
  return 0;
}
