// Runs against the real /sys/fs/cgroup as root. Touches only a uniquely named tsrun-test-* cgroup it
// creates itself (relative, so below this process's own cgroup in each hierarchy), and removes it
// even when an assertion fails.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { type Cgroup, createCgroup, detectLayout, resolvePaths } from "./index.ts";
import type { CgroupPaths } from "./types.ts";

const isRoot = process.getuid?.() === 0;
const layout = existsSync("/sys/fs/cgroup") ? detectLayout("/sys/fs/cgroup", readFileSync("/proc/self/mountinfo", "utf8")) : undefined;
const hasV1 = layout !== undefined && layout.kind !== "v2" && ["memory", "pids", "devices", "cpu"].every((c) => layout.v1[c]);
const skipReason = !isRoot ? "needs root" : !hasV1 ? "needs v1 memory, pids, devices and cpu hierarchies (v2 runs under qemu)" : "";
if (skipReason) console.log(`skip host cgroup test: ${skipReason}`);

const name = `tsrun-test-${crypto.randomUUID().slice(0, 8)}`;
let cgroup: Cgroup | undefined;
let paths: CgroupPaths | undefined;
let child: ReturnType<typeof Bun.spawn> | undefined;

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill(9);
    await child.exited;
  }
  try {
    cgroup?.destroy();
  } catch (err) {
    console.error(`cleanup: ${(err as Error).message}`);
  }
  // Last resort if create itself half-failed: our leaf directories only, never anything above them.
  for (const dir of new Set([...Object.values(paths?.v1 ?? {}), ...(paths?.unified ? [paths.unified] : [])])) {
    if (existsSync(dir)) rmdirSync(dir);
  }
});

describe.skipIf(skipReason !== "")("cgroups on this host", () => {
  test("create with memory, cpu, pids and device limits; a sleep joins; destroy leaves nothing", async () => {
    if (layout === undefined) throw new Error("unreachable");
    paths = resolvePaths(layout, name, name, readFileSync("/proc/self/cgroup", "utf8"));
    cgroup = createCgroup(layout, paths, {
      memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
      pids: { limit: 32 },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rw" },
      ],
    });

    const file = (controller: string, f: string) => readFileSync(join(paths?.v1[controller] as string, f), "utf8").trim();
    expect(file("memory", "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(file("memory", "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    if (existsSync(join(paths.v1.memory as string, "memory.memsw.limit_in_bytes"))) {
      expect(file("memory", "memory.memsw.limit_in_bytes")).toBe(String(128 << 20));
    }
    expect(file("cpu", "cpu.shares")).toBe("512");
    expect(file("cpu", "cpu.cfs_period_us")).toBe("100000");
    expect(file("cpu", "cpu.cfs_quota_us")).toBe("50000");
    expect(file("pids", "pids.max")).toBe("32");
    expect(file("devices", "devices.list").split("\n")).toEqual(["c 1:3 rwm", "c 136:* rw"]);
    if (layout.kind === "hybrid") expect(existsSync(paths.unified as string)).toBe(true);

    child = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    cgroup.addProcess(child.pid);
    expect(cgroup.pids()).toContain(child.pid);
    const own = readFileSync(`/proc/${child.pid}/cgroup`, "utf8");
    expect(own).toMatch(new RegExp(`:memory:.*/${name}$`, "m"));
    expect(own).toMatch(new RegExp(`:devices:/.*${name}$`, "m"));

    child.kill(9);
    await child.exited;
    cgroup.destroy();
    for (const dir of [...cgroup.created, ...Object.values(paths.v1)]) expect(existsSync(dir)).toBe(false);
    cgroup = undefined;
  });
});
