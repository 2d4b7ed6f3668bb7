import { afterEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { FakeKernel } from "./fake_kernel.ts";
import { IN_MODIFY } from "./kernel.ts";
import { watchOom } from "./oom.ts";

let host: FakeHost;
let kernel: FakeKernel;
afterEach(() => host.cleanup());

describe("OOM events", () => {
  test("v1: an eventfd registered for memory.oom_control counts OOMs; the cgroup's removal ends the watch", () => {
    host = fakeHost("v1");
    kernel = new FakeKernel();
    const dir = join(host.root, "memory", "web");
    host.fs.mkdir(dir);
    const watch = watchOom(host.fs, kernel, dir, 1);
    expect(host.fs.writesUnder(dir)).toEqual([`cgroup.event_control=${watch.fd} 4`]);
    expect(kernel.openFds()).toEqual([watch.fd]); // memory.oom_control is closed once registered
    expect(watch.read()).toBe(0);
    kernel.signal(watch.fd, 2n);
    expect(watch.read()).toBe(2);
    rmSync(join(dir, "cgroup.event_control"));
    kernel.signal(watch.fd);
    expect([watch.read(), watch.done]).toEqual([0, true]);
    watch.close();
    expect(kernel.openFds()).toEqual([]);
  });

  test("v2: inotify on memory.events and cgroup.events; new oom_kill counts are reported once; populated 0 ends it", () => {
    host = fakeHost("v2");
    kernel = new FakeKernel();
    writeFileSync(join(host.root, "cgroup.subtree_control"), "memory");
    const dir = join(host.root, "web");
    host.fs.mkdir(dir);
    const events = (kills: number) => writeFileSync(join(dir, "memory.events"), `low 0\nhigh 0\nmax 3\noom 1\noom_kill ${kills}\n`);
    events(1); // one before the watch started: not reported
    writeFileSync(join(dir, "cgroup.events"), "populated 1\nfrozen 0\n");
    const watch = watchOom(host.fs, kernel, dir, 2);
    expect(kernel.calls).toContain(`inotifyAddWatch ${join(dir, "memory.events")} ${IN_MODIFY}`);
    expect(watch.read()).toBe(0);
    events(3);
    expect(watch.read()).toBe(2);
    expect(watch.read()).toBe(0);
    writeFileSync(join(dir, "cgroup.events"), "populated 0\nfrozen 0\n");
    expect([watch.read(), watch.done]).toEqual([0, true]);
    watch.close();
    expect(kernel.openFds()).toEqual([]);
  });
});
