import type { Context } from "./commands.ts";
import { out } from "./out.ts";

export async function run(ctx: Context): Promise<number> {
  const { ps } = await import("../runtime/container/cgroup_ops.ts");
  out(ps(ctx.globals.root, ctx.args[0]!, (ctx.values.format as string | undefined) ?? "table", ctx.args.slice(1)));
  return 0;
}
