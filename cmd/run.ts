import type { Context } from "./commands.ts";
import { createOptions, host } from "./common.ts";

export async function run(ctx: Context): Promise<number> {
  const { runContainer } = await import("../runtime/container/run.ts");
  return runContainer(host(), createOptions(ctx, ctx.values.detach !== true), ctx.values.keep === true);
}
