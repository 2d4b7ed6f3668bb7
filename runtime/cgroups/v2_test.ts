import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { applyV2, enableControllers } from "./v2.ts";

let host: FakeHost;
let dir: string;
const read = (file: string) => readFileSync(join(dir, file), "utf8");

beforeEach(() => {
  host = fakeHost("v2");
  // Parent delegates everything, so the leaf has all controller files.
  writeFileSync(join(host.root, "cgroup.subtree_control"), "cpu memory pids");
  dir = join(host.root, "web");
  host.fs.mkdir(dir);
});
afterEach(() => host.cleanup());

describe("v2 memory", () => {
  test("limit → memory.max, reservation → memory.low, swap → memory.swap.max as swap minus limit", () => {
    applyV2(host.fs, dir, { memory: { limit: 256 << 20, swap: 768 << 20, reservation: 128 << 20 } });
    expect(host.fs.writesUnder(dir)).toEqual([
      `memory.swap.max=${512 << 20}`,
      `memory.max=${256 << 20}`,
      `memory.low=${128 << 20}`,
    ]);
  });

  test("-1 is written as max, for swap too when the limit is unlimited", () => {
    applyV2(host.fs, dir, { memory: { limit: -1 } });
    expect(host.fs.writesUnder(dir)).toEqual(["memory.swap.max=max", "memory.max=max"]);
  });

  test("without swap accounting, no swap or unlimited swap is fine but a swap limit is not", () => {
    host.fs.failWrites.set("memory.swap.max", "ENOENT");
    applyV2(host.fs, dir, { memory: { limit: 1 << 20, swap: 1 << 20 } });
    expect(read("memory.max")).toBe(String(1 << 20));
    expect(() => applyV2(host.fs, dir, { memory: { limit: 1 << 20, swap: 2 << 20 } })).toThrow(
      'linux.resources.memory.swap: write "memory.swap.max": ENOENT',
    );
  });
});

describe("v2 cpu", () => {
  test("shares become cpu.weight (1024 → 100) and quota/period one cpu.max write", () => {
    applyV2(host.fs, dir, { cpu: { shares: 1024, quota: 50000, period: 100000 } });
    expect(host.fs.writesUnder(dir)).toEqual(["cpu.weight=100", "cpu.max=50000 100000"]);
  });

  test("a quota alone leaves the period; a negative quota is max", () => {
    applyV2(host.fs, dir, { cpu: { quota: 20000 } });
    expect(read("cpu.max")).toBe("20000");
    applyV2(host.fs, dir, { cpu: { quota: -1, period: 50000 } });
    expect(read("cpu.max")).toBe("max 50000");
  });

  test("a period alone keeps the quota in force", () => {
    writeFileSync(join(dir, "cpu.max"), "30000 100000");
    applyV2(host.fs, dir, { cpu: { period: 200000 } });
    expect(host.fs.writesUnder(dir)).toEqual(["cpu.max=30000 200000"]);
  });
});

test("v2 pids: -1 is max, 0 is 0", () => {
  applyV2(host.fs, dir, { pids: { limit: -1 } });
  expect(read("pids.max")).toBe("max");
  applyV2(host.fs, dir, { pids: { limit: 0 } });
  expect(read("pids.max")).toBe("0");
});

describe("v2 devices", () => {
  test("rules that restrict anything are refused as not implemented on cgroup v2", () => {
    expect(() => applyV2(host.fs, dir, { devices: [{ allow: false, access: "rwm" }] })).toThrow(
      "linux.resources.devices: device rules are not implemented on cgroup v2 yet",
    );
    expect(host.fs.writes).toEqual([]);
  });

  test("an allow-all list, or no list, needs no program and passes", () => {
    applyV2(host.fs, dir, { devices: [{ allow: true, access: "rwm" }], pids: { limit: 3 } });
    applyV2(host.fs, dir, { pids: { limit: 4 } });
    expect(read("pids.max")).toBe("4");
  });
});

describe("enableControllers", () => {
  test("enables the controllers the resources use in every ancestor, top down, and no others", () => {
    writeFileSync(join(host.root, "cgroup.subtree_control"), "");
    mkdirSync(join(host.root, "a"));
    writeFileSync(join(host.root, "a", "cgroup.controllers"), "cpu memory pids io");
    writeFileSync(join(host.root, "a", "cgroup.subtree_control"), "memory");
    writeFileSync(join(host.root, "a", "cgroup.procs"), "");
    host.fs.writes.length = 0;
    enableControllers(host.fs, host.root, join(host.root, "a", "web"), { memory: { limit: 4096 }, pids: { limit: 1 } });
    expect(host.fs.writes.map((w) => `${w.path.slice(host.root.length)}=${w.value}`)).toEqual([
      "/cgroup.subtree_control=+memory",
      "/cgroup.subtree_control=+pids",
      "/a/cgroup.subtree_control=+pids",
    ]);
  });

  test("a controller the ancestor does not have is an error naming the field and the cgroup", () => {
    writeFileSync(join(host.root, "cgroup.controllers"), "cpu pids");
    writeFileSync(join(host.root, "cgroup.subtree_control"), "");
    expect(() => enableControllers(host.fs, host.root, join(host.root, "x"), { memory: { limit: 4096 } })).toThrow(
      `linux.resources.memory: the "memory" controller is not available in "${host.root}"`,
    );
  });

  test("an ancestor holding processes cannot delegate: the error says where", () => {
    mkdirSync(join(host.root, "busy"));
    writeFileSync(join(host.root, "busy", "cgroup.controllers"), "cpu memory pids");
    writeFileSync(join(host.root, "busy", "cgroup.subtree_control"), "");
    writeFileSync(join(host.root, "busy", "cgroup.procs"), "42\n");
    expect(() => enableControllers(host.fs, host.root, join(host.root, "busy", "web"), { pids: { limit: 1 } })).toThrow(
      `linux.resources.pids: enable "pids" in "${join(host.root, "busy", "cgroup.subtree_control")}": EBUSY`,
    );
  });
});
