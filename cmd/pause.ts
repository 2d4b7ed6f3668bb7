import type { Context } from "./commands.ts";
import { host } from "./common.ts";

export async function run(ctx: Context): Promise<number> {
  const { pause } = await import("../runtime/container/cgroup_ops.ts");
  pause(host(), ctx.globals.root, ctx.args[0]!);
  return 0;
}
