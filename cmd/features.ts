import { readFileSync } from "node:fs";
import type { Context } from "./commands.ts";
import { out } from "./out.ts";
import { VERSION } from "./version.ts";

export async function run(_ctx: Context): Promise<number> {
  const { buildFeatures } = await import("../runtime/container/features.ts");
  const kernelRelease = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  // runc's layout: four-space indent, one trailing newline.
  out(JSON.stringify(buildFeatures({ arch: process.arch, kernelRelease }, VERSION), null, 4) + "\n");
  return 0;
}
