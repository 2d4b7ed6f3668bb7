import type { Context } from "./commands.ts";
import { out } from "./out.ts";

export async function run(ctx: Context): Promise<number> {
  const { StateStore, ociState } = await import("../runtime/container/state.ts");
  const store = new StateStore(ctx.globals.root);
  out(JSON.stringify(ociState(store, store.read(ctx.args[0]!)), null, 2) + "\n");
  return 0;
}
