import type { Context } from "./commands.ts";
import { host } from "./common.ts";
import { createOptions } from "./create_options.ts";

export async function run(ctx: Context): Promise<number> {
  const { runContainer } = await import("../runtime/container/run.ts");
  return runContainer(host(), createOptions(ctx, ctx.values.detach !== true), ctx.values.keep === true);
}
