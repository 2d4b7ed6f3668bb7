import type { Context } from "./commands.ts";
import { host } from "./common.ts";
import { warn } from "./log.ts";

export async function run(ctx: Context): Promise<number> {
  const { deleteContainer } = await import("../runtime/container/delete.ts");
  await deleteContainer(host(), ctx.globals.root, ctx.args[0]!, ctx.values.force === true, warn);
  return 0;
}
