import type { Context } from "./commands.ts";
import { host } from "./common.ts";
import { createOptions } from "./create_options.ts";

export async function run(ctx: Context): Promise<number> {
  const { createContainer } = await import("../runtime/container/create.ts");
  await createContainer(host(), createOptions(ctx, false));
  return 0;
}
