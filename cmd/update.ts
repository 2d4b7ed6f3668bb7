import type { Context } from "./commands.ts";
import { host } from "./common.ts";

const FLAGS = [
  "blkio-weight",
  "cpu-period",
  "cpu-quota",
  "cpu-share",
  "cpu-rt-period",
  "cpu-rt-runtime",
  "cpuset-cpus",
  "cpuset-mems",
  "kernel-memory",
  "kernel-memory-tcp",
  "memory",
  "memory-reservation",
  "memory-swap",
  "pids-limit",
] as const;

export const UPDATE_FLAGS = FLAGS;

export async function run(ctx: Context): Promise<number> {
  const { update } = await import("../runtime/container/cgroup_ops.ts");
  const v = ctx.values;
  for (const f of ["l3-cache-schema", "mem-bw-schema"]) if (v[f] !== undefined) throw new Error(`--${f}: Intel RDT is not supported by tsrun yet`);
  const flags = Object.fromEntries(FLAGS.filter((f) => v[f] !== undefined).map((f) => [f, String(v[f])]));
  update(host(), ctx.globals.root, ctx.args[0]!, v.resources as string | undefined, flags);
  return 0;
}
