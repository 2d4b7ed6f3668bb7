import type { Context } from "./commands.ts";
import { out } from "./out.ts";

export async function run(ctx: Context): Promise<number> {
  const { StateStore, ociState } = await import("../runtime/container/state.ts");
  const store = new StateStore(ctx.globals.root);
  const format = (ctx.values.format as string | undefined) ?? "table";
  if (format !== "table" && format !== "json") throw new Error(`invalid --format "${format}": want table or json`);
  const states = store.list().flatMap((id) => {
    try {
      return [ociState(store, store.read(id))];
    } catch {
      return [];
    }
  });
  if (ctx.values.quiet) {
    for (const s of states) out(`${s.id}\n`);
  } else if (format === "json") {
    out(JSON.stringify(states) + "\n");
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out(r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]! + 3) : c)).join("") + "\n");
  }
  return 0;
}
