import type { Context } from "./commands.ts";

export async function run(ctx: Context): Promise<number> {
  const { initMain } = await import("../runtime/init/main.ts");
  return await initMain(Number(ctx.args[0]));
}
