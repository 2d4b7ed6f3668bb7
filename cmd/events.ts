import type { Context } from "./commands.ts";
import { host } from "./common.ts";
import { out } from "./out.ts";

/** Go's time.Duration syntax, as runc's --interval takes it ("5s", "500ms", "1m30s"). */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(text))) {
    ms += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length || text === "") throw new Error(`invalid --interval "${text}": want a duration like 5s`);
  return ms;
}

export async function run(ctx: Context): Promise<number> {
  const { events } = await import("../runtime/container/cgroup_ops.ts");
  const interval = parseDuration((ctx.values.interval as string | undefined) ?? "5s");
  await events(host(), ctx.globals.root, ctx.args[0]!, ctx.values.stats === true, interval, out);
  return 0;
}
