import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { freeze, freezerState, thaw } from "./freezer.ts";

let host: FakeHost;
let dir: string;
let sleeps: number[];
const wait = { sleep: (ms: number) => void sleeps.push(ms) };
afterEach(() => host.cleanup());

describe("v1 freezer", () => {
  beforeEach(() => {
    host = fakeHost("v1");
    dir = join(host.root, "freezer", "web");
    host.fs.mkdir(dir);
    sleeps = [];
  });
  const f = () => ({ version: 1 as const, dir });

  test("freeze writes FROZEN and returns once the kernel reads back FROZEN", () => {
    freeze(host.fs, f(), wait);
    expect(host.fs.writesUnder(dir)).toEqual(["freezer.state=FROZEN"]);
    expect(sleeps).toEqual([]);
  });

  test("while FREEZING it retries, thawing and pausing every 50 attempts like runc", () => {
    let reads = 0;
    host.fs.reads.set("freezer.state", (s) => (++reads < 60 ? "FREEZING" : s));
    freeze(host.fs, f(), wait);
    const writes = host.fs.writesUnder(dir);
    expect(writes.filter((w) => w === "freezer.state=FROZEN")).toHaveLength(60);
    expect(writes[49]).toBe("freezer.state=THAWED");
    expect(sleeps).toEqual([1, 10, 1]);
  });

  test("a cgroup stuck FREEZING is given up after 1000 attempts and left thawed", () => {
    host.fs.reads.set("freezer.state", () => "FREEZING");
    expect(() => freeze(host.fs, f(), wait)).toThrow(`freeze cgroup: "${dir}" is still FREEZING after 1000 attempts`);
    expect(host.fs.writesUnder(dir).at(-1)).toBe("freezer.state=THAWED");
    expect(sleeps.length).toBeLessThan(70);
  });

  test("state: THAWED, FROZEN by itself, FROZEN only through a parent (thawed, as runc), no freezer", () => {
    expect(freezerState(host.fs, f(), wait)).toBe("thawed");
    writeFileSync(join(dir, "freezer.state"), "FROZEN\n");
    writeFileSync(join(dir, "freezer.self_freezing"), "1\n");
    expect(freezerState(host.fs, f(), wait)).toBe("frozen");
    writeFileSync(join(dir, "freezer.self_freezing"), "0\n");
    expect(freezerState(host.fs, f(), wait)).toBe("thawed");
    thaw(host.fs, f());
    expect(readFileSync(join(dir, "freezer.state"), "utf8")).toBe("THAWED");
    rmSync(join(dir, "freezer.state"));
    expect(freezerState(host.fs, f(), wait)).toBe("undefined");
  });
});

describe("v2 freezer", () => {
  beforeEach(() => {
    host = fakeHost("v2");
    dir = join(host.root, "web");
    host.fs.mkdir(dir);
    sleeps = [];
  });
  const f = () => ({ version: 2 as const, dir });

  test("freeze writes cgroup.freeze and waits for cgroup.events to say frozen; thaw clears it", () => {
    freeze(host.fs, f(), wait);
    expect(freezerState(host.fs, f(), wait)).toBe("frozen");
    expect(sleeps).toEqual([]);
    thaw(host.fs, f());
    expect(host.fs.writesUnder(dir)).toEqual(["cgroup.freeze=1", "cgroup.freeze=0"]);
    expect(freezerState(host.fs, f(), wait)).toBe("thawed");
  });

  test("a cgroup that never reports frozen fails after a bounded wait and is thawed", () => {
    host.fs.reads.set("cgroup.events", () => "populated 1\nfrozen 0\n");
    expect(() => freeze(host.fs, f(), wait)).toThrow(`freeze cgroup: "${dir}" did not freeze within 10 s`);
    expect(sleeps).toHaveLength(1000);
    expect(host.fs.writesUnder(dir)).toEqual(["cgroup.freeze=1", "cgroup.freeze=0"]);
  });

  test("without cgroup.freeze (Linux < 5.2): freeze is an error, thaw and state have nothing to do", () => {
    rmSync(join(dir, "cgroup.freeze"));
    expect(() => freeze(host.fs, f(), wait)).toThrow("the kernel has no cgroup v2 freezer");
    thaw(host.fs, f());
    expect(freezerState(host.fs, f(), wait)).toBe("undefined");
  });
});
