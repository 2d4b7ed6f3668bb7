import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import type { CgroupPaths } from "./types.ts";
import { applyV1 } from "./v1.ts";

let host: FakeHost;
let paths: CgroupPaths;
const dir = (controller: string) => paths.v1[controller] as string;
const read = (controller: string, file: string) => readFileSync(join(dir(controller), file), "utf8");

beforeEach(() => {
  host = fakeHost("v1");
  paths = { v1: {} };
  for (const [controller, mount] of Object.entries(host.layout.v1)) {
    paths.v1[controller] = join(mount.dir, "web");
  }
  for (const d of new Set(Object.values(paths.v1))) host.fs.mkdir(d);
  host.fs.writes.length = 0;
});
afterEach(() => host.cleanup());

describe("v1 memory", () => {
  test("limit, swap and reservation go to limit_in_bytes, memsw and soft_limit; lowering writes the limit first", () => {
    applyV1(host.fs, paths.v1, { memory: { limit: 256 << 20, swap: 512 << 20, reservation: 128 << 20 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual([
      `memory.limit_in_bytes=${256 << 20}`,
      `memory.memsw.limit_in_bytes=${512 << 20}`,
      `memory.soft_limit_in_bytes=${128 << 20}`,
    ]);
  });

  test("raising swap past the current limit writes memsw first, so limit <= memsw holds after each write", () => {
    writeFileSync(join(dir("memory"), "memory.limit_in_bytes"), String(64 << 20));
    writeFileSync(join(dir("memory"), "memory.memsw.limit_in_bytes"), String(64 << 20));
    applyV1(host.fs, paths.v1, { memory: { limit: 256 << 20, swap: 512 << 20 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual([
      `memory.memsw.limit_in_bytes=${512 << 20}`,
      `memory.limit_in_bytes=${256 << 20}`,
    ]);
  });

  test("unlimited memory with swap unset lifts memsw too, first", () => {
    applyV1(host.fs, paths.v1, { memory: { limit: -1 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual(["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]);
  });

  test("zero values are unset and write nothing", () => {
    applyV1(host.fs, paths.v1, { memory: { limit: 0, swap: 0 } });
    expect(host.fs.writes).toEqual([]);
  });

  test("a limit below current usage reports the usage", () => {
    host.fs.failWrites.set("memory.limit_in_bytes", "EBUSY");
    writeFileSync(join(dir("memory"), "memory.usage_in_bytes"), "5000000");
    expect(() => applyV1(host.fs, paths.v1, { memory: { limit: 1 << 20 } })).toThrow(
      'linux.resources.memory.limit: 1048576 is below the current usage 5000000 (peak 0): write "memory.limit_in_bytes": EBUSY',
    );
  });
});

describe("v1 cpu", () => {
  test("shares, then period before quota", () => {
    applyV1(host.fs, paths.v1, { cpu: { shares: 512, quota: 50000, period: 100000 } });
    expect(host.fs.writesUnder(dir("cpu"))).toEqual([
      "cpu.shares=512",
      "cpu.cfs_period_us=100000",
      "cpu.cfs_quota_us=50000",
    ]);
    expect(read("cpu", "cpu.cfs_quota_us")).toBe("50000");
  });

  test("a period the kernel rejects with the old quota is retried after the quota", () => {
    let rejected = false;
    host.fs.stored.set("cpu.cfs_period_us", (v) => {
      if (!rejected) {
        rejected = true;
        throw Object.assign(new Error("EINVAL"), { code: "EINVAL" });
      }
      return v;
    });
    applyV1(host.fs, paths.v1, { cpu: { quota: 5000, period: 10000 } });
    expect(host.fs.writesUnder(dir("cpu"))).toEqual([
      "cpu.cfs_period_us=10000",
      "cpu.cfs_quota_us=5000",
      "cpu.cfs_period_us=10000",
    ]);
    expect(read("cpu", "cpu.cfs_period_us")).toBe("10000");
  });

  test("shares the kernel clamps are reported", () => {
    host.fs.stored.set("cpu.shares", (v) => String(Math.max(2, Number(v))));
    expect(() => applyV1(host.fs, paths.v1, { cpu: { shares: 1 } })).toThrow(
      "linux.resources.cpu.shares: the kernel set 2 instead of 1 (its minimum)",
    );
  });
});

describe("v1 pids", () => {
  test("a limit is written as is, -1 as max, 0 as 0; unset writes nothing", () => {
    for (const [limit, expected] of [[100, "100"], [-1, "max"], [0, "0"]] as const) {
      applyV1(host.fs, paths.v1, { pids: { limit } });
      expect(read("pids", "pids.max")).toBe(expected);
    }
    host.fs.writes.length = 0;
    applyV1(host.fs, paths.v1, { pids: {} });
    expect(host.fs.writes).toEqual([]);
  });
});

describe("v1 devices", () => {
  test("a leading deny-all writes 'a' to devices.deny, then each allowed device to devices.allow", () => {
    applyV1(host.fs, paths.v1, {
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rwm" },
      ],
    });
    expect(host.fs.writesUnder(dir("devices"))).toEqual([
      "devices.deny=a",
      "devices.allow=c 1:3 rwm",
      "devices.allow=c 136:* rwm",
    ]);
  });

  test("a bad entry fails before anything is written", () => {
    expect(() =>
      applyV1(host.fs, paths.v1, { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "x", access: "r" }] }),
    ).toThrow("linux.resources.devices[1].type");
    expect(host.fs.writes).toEqual([]);
  });

  test("devices are written before any other controller", () => {
    applyV1(host.fs, paths.v1, { pids: { limit: 5 }, devices: [{ allow: false, access: "rwm" }] });
    expect(host.fs.writes[0]?.path).toBe(join(dir("devices"), "devices.deny"));
  });
});

test("a resource whose hierarchy is not mounted is an error naming the field", () => {
  delete paths.v1.pids;
  expect(() => applyV1(host.fs, paths.v1, { pids: { limit: 5 } })).toThrow(
    'linux.resources.pids: no "pids" cgroup hierarchy is mounted',
  );
});

test("a failing write names the field and the file and keeps the errno code", () => {
  host.fs.failWrites.set("memory.limit_in_bytes", "EINVAL");
  let caught: unknown;
  try {
    applyV1(host.fs, paths.v1, { memory: { limit: 4096 } });
  } catch (err) {
    caught = err;
  }
  expect((caught as Error).message).toBe('linux.resources.memory.limit: write "memory.limit_in_bytes": EINVAL');
  expect((caught as { code?: string }).code).toBe("EINVAL");
  expect(((caught as Error).cause as { code?: string }).code).toBe("EINVAL");
});
