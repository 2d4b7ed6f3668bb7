// The cgroup code against a real pure-v2 kernel: run by tests/cgroup2/run.sh inside qemu (skipped
// anywhere else). Creates only tsrun-test-* cgroups, and removes them and its processes even on
// failure. /dev/ram0 (1:0) is the lane's RAM disk, for io.max.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { attachedPrograms } from "../../runtime/cgroups/devices_v2.ts";
import { type Cgroup, cpuSharesToWeight, createCgroup, detectLayout, encodeEvent, resolvePaths } from "../../runtime/cgroups/index.ts";
import { linuxKernel } from "../../runtime/cgroups/kernel_linux.ts";
import type { LinuxResources } from "../../runtime/cgroups/types.ts";

const layout = detectLayout("/sys/fs/cgroup", readFileSync("/proc/self/mountinfo", "utf8"));
const skip = process.getuid?.() !== 0 ? "needs root" : layout.kind !== "v2" ? `needs a pure cgroup v2 host, this one is ${layout.kind} (run tests/cgroup2/run.sh)` : "";
if (skip) console.log(`skip cgroup2 kernel tests: ${skip}`);

const tag = crypto.randomUUID().slice(0, 8);
const cgroups: Cgroup[] = [];
const dirs: string[] = [];
const children: ReturnType<typeof Bun.spawn>[] = [];

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill(9);
    await child.exited;
  }
  for (const cg of cgroups) {
    try {
      cg.destroy();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
  for (const dir of dirs.reverse()) if (existsSync(dir)) rmdirSync(dir);
});

function create(name: string, resources: LinuxResources): { cg: Cgroup; dir: string } {
  const paths = resolvePaths(layout, `tsrun-test-${tag}-${name}`, name, readFileSync("/proc/self/cgroup", "utf8"));
  dirs.push(paths.unified as string);
  const cg = createCgroup(layout, paths, resources);
  cgroups.push(cg);
  return { cg, dir: paths.unified as string };
}

/** A shell that waits for a line on stdin before running `script`, so it can be moved first. */
function spawnWaiting(script: string) {
  const child = Bun.spawn(["sh", "-c", `read _; ${script}`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.push(child);
  return {
    child,
    go() {
      child.stdin.write("\n");
      child.stdin.end();
    },
  };
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim();
const ram0 = existsSync("/sys/block/ram0/dev");

describe.skipIf(skip !== "")("cgroup v2 on a real kernel", () => {
  test("every structured resource lands in its v2 file, unified keys last, devices as a program", async () => {
    const { cg, dir } = create("all", {
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 16 << 20, checkBeforeUpdate: true },
      cpu: { shares: 2048, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: "0", mems: "0" },
      pids: { limit: 32 },
      blockIO: {
        weight: 500,
        ...(ram0 ? { throttleReadBpsDevice: [{ major: 1, minor: 0, rate: 1 << 20 }], throttleWriteIOPSDevice: [{ major: 1, minor: 0, rate: 100 }] } : {}),
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }],
      unified: { "memory.high": String(48 << 20), "pids.max": "30" },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 5, access: "r" },
      ],
    });
    // Delegation: the container's cgroup has every controller the root has.
    expect(read(dir, "cgroup.controllers").split(" ").sort()).toEqual(read("/sys/fs/cgroup", "cgroup.controllers").split(" ").sort());
    expect(read(dir, "memory.max")).toBe(String(64 << 20));
    expect(read(dir, "memory.swap.max")).toBe(String(32 << 20));
    expect(read(dir, "memory.low")).toBe(String(16 << 20));
    expect(read(dir, "memory.high")).toBe(String(48 << 20));
    expect(read(dir, "cpu.weight")).toBe(String(cpuSharesToWeight(2048)));
    expect(read(dir, "cpu.max")).toBe("50000 100000");
    expect(read(dir, "cpu.max.burst")).toBe("1000");
    expect(read(dir, "cpuset.cpus")).toBe("0");
    expect(read(dir, "pids.max")).toBe("30"); // the unified key won
    if (existsSync(join(dir, "io.bfq.weight"))) expect(read(dir, "io.bfq.weight")).toMatch(/500/);
    else expect(read(dir, "io.weight")).toBe("default 4950");
    if (ram0) expect(read(dir, "io.max")).toBe("1:0 rbps=1048576 wbps=max riops=max wiops=100");
    expect(read(dir, "hugetlb.2MB.max")).toBe(String(4 << 20));
    if (existsSync(join(dir, "hugetlb.2MB.rsvd.max"))) expect(read(dir, "hugetlb.2MB.rsvd.max")).toBe(String(4 << 20));

    const fd = linuxKernel.openDir(dir);
    try {
      expect(attachedPrograms(linuxKernel, fd)).toHaveLength(1);
    } finally {
      linuxKernel.close(fd);
    }
    const p = spawnWaiting("head -c1 /dev/zero >/dev/null; echo read-zero=$?; echo x >/dev/zero; echo write-zero=$?; head -c1 /dev/full >/dev/null; echo full=$?");
    cg.addProcess(p.child.pid);
    p.go();
    await p.child.exited;
    expect(await new Response(p.child.stdout).text()).toBe("read-zero=0\nwrite-zero=1\nfull=1\n");

    // A refused update changes nothing: swap below the limit fails before memory.max is touched.
    expect(() => cg.update({ memory: { limit: 128 << 20, swap: 64 << 20 } })).toThrow("linux.resources.memory.swap: must be at least");
    expect(read(dir, "memory.max")).toBe(String(64 << 20));
    // Devices update: the program is replaced, not stacked.
    cg.update({ devices: [{ allow: true, access: "rwm" }] });
    const fd2 = linuxKernel.openDir(dir);
    try {
      expect(attachedPrograms(linuxKernel, fd2)).toHaveLength(1);
    } finally {
      linuxKernel.close(fd2);
    }
  });

  test("what v2 cannot do, or this VM does not have, is refused before anything is made", () => {
    const paths = resolvePaths(layout, `tsrun-test-${tag}-bad`, "bad", readFileSync("/proc/self/cgroup", "utf8"));
    for (const [r, message] of [
      [{ network: { classID: 1 } }, "linux.resources.network.classID: cgroup v2 has no net_cls controller"],
      [{ memory: { swappiness: 10 } }, "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness"],
      [{ rdma: { mlx5_0: { hcaHandles: 1 } } }, 'linux.resources.rdma["mlx5_0"]: no such RDMA device on this host (it has none)'],
      [{ hugepageLimits: [{ pageSize: "4MB", limit: 0 }] }, 'linux.resources.hugepageLimits[0].pageSize: "4MB" is not a huge page size this host supports'],
      [{ unified: { "nope.max": "1" } }, 'linux.resources.unified["nope.max"]: no such file'],
    ] as [LinuxResources, string][]) {
      expect(() => createCgroup(layout, paths, r)).toThrow(message);
      expect(existsSync(paths.unified as string)).toBe(false);
    }
  });

  test("freeze and thaw, stats, kill --all through cgroup.kill, and an OOM kill heard through memory.events", async () => {
    const { cg, dir } = create("life", { memory: { limit: 16 << 20, swap: 16 << 20 }, pids: { limit: 16 } });
    const sleeper = spawnWaiting("exec sleep 30");
    cg.addProcess(sleeper.child.pid);
    sleeper.go();
    cg.freeze();
    expect(cg.freezerState()).toBe("frozen");
    expect(read(dir, "cgroup.events")).toContain("frozen 1");
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");

    const stats = cg.stats();
    expect(stats.pids).toEqual({ current: 1n, limit: 16n }); // the shell exec'd into sleep
    expect(stats.memory.usage.limit).toBe(BigInt(16 << 20));
    expect(stats.memory.swap.limit).toBe(BigInt(16 << 20)); // memory+swap, as runc reports it
    expect(stats.cpu.usage.total).toBeGreaterThan(0n);
    expect(Object.keys(stats.hugetlb)).toContain("2MB");
    expect(encodeEvent("stats", "life", stats)).toStartWith('{"type":"stats","id":"life","data":{"cpu":{"usage":{"total":');

    cg.killAll(9);
    expect(await sleeper.child.exited).toBe(137);
    expect(read(dir, "cgroup.procs")).toBe("");

    const watch = cg.watchOom();
    try {
      const hog = spawnWaiting("exec dd if=/dev/zero of=/dev/null bs=64M count=1");
      cg.addProcess(hog.child.pid);
      hog.go();
      expect(await hog.child.exited).toBe(137);
      expect(watch.read()).toBe(1);
    } finally {
      watch.close();
    }
  });
});
