// Runs against the real /sys/fs/cgroup as root. Touches only uniquely named tsrun-test-* cgroups it
// creates itself (relative, so below this process's own cgroup in each v1 hierarchy), and removes
// them, and kills the processes it started, even when an assertion fails. The pure-v2 side runs in
// the qemu lane (tests/cgroup2), where this file runs too and its cgroup2 test covers v2.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { targetState } from "./devices.ts";
import { deviceProgram } from "./devices_bpf.ts";
import { attachedPrograms, installDeviceProgram } from "./devices_v2.ts";
import { type Cgroup, createCgroup, detectLayout, resolvePaths } from "./index.ts";
import { linuxKernel } from "./kernel_linux.ts";
import type { CgroupPaths, LinuxResources } from "./types.ts";

const isRoot = process.getuid?.() === 0;
const layout = existsSync("/sys/fs/cgroup") ? detectLayout("/sys/fs/cgroup", readFileSync("/proc/self/mountinfo", "utf8")) : undefined;
const hasV1 = layout !== undefined && layout.kind !== "v2" && ["memory", "pids", "devices", "cpu", "freezer"].every((c) => layout.v1[c]);
const v1Skip = !isRoot ? "needs root" : !hasV1 ? "needs v1 memory, pids, devices, cpu and freezer hierarchies (v2 runs under qemu)" : "";
const bpfSkip = !isRoot ? "needs root" : layout?.unified === undefined ? "needs a cgroup2 mount" : "";
if (v1Skip) console.log(`skip host v1 cgroup tests: ${v1Skip}`);
if (bpfSkip) console.log(`skip host device program test: ${bpfSkip}`);

const tag = crypto.randomUUID().slice(0, 8);
const cgroups: Cgroup[] = [];
const leftovers: string[] = [];
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
  // Last resort if create itself half-failed: our leaf directories only, never anything above them.
  for (const dir of leftovers.reverse()) if (existsSync(dir)) rmdirSync(dir);
});

function create(name: string, resources: LinuxResources): { cg: Cgroup; paths: CgroupPaths } {
  if (layout === undefined) throw new Error("unreachable");
  const paths = resolvePaths(layout, name, name, readFileSync("/proc/self/cgroup", "utf8"));
  leftovers.push(...new Set([...Object.values(paths.v1), ...(paths.unified ? [paths.unified] : [])]));
  const cg = createCgroup(layout, paths, resources);
  cgroups.push(cg);
  return { cg, paths };
}

/** A shell that waits for a line on stdin before running `script`, so it can be moved first. */
function spawnWaiting(script: string) {
  const child = Bun.spawn(["sh", "-c", `read _; ${script}`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.push(child);
  const go = () => {
    child.stdin.write("\n");
    child.stdin.end();
  };
  return { child, go };
}

const read = (dir: string | undefined, file: string) => readFileSync(join(dir as string, file), "utf8").trim();

describe.skipIf(v1Skip !== "")("cgroups v1 on this host", () => {
  test("create with memory, cpu, pids and device limits; a sleep joins; destroy leaves nothing", async () => {
    const name = `tsrun-test-${tag}-a`;
    const { cg, paths } = create(name, {
      memory: { limit: 64 << 20, swap: 128 << 20, reservation: 32 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
      pids: { limit: 32 },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rw" },
      ],
    });
    expect(read(paths.v1.memory, "memory.limit_in_bytes")).toBe(String(64 << 20));
    expect(read(paths.v1.memory, "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    if (existsSync(join(paths.v1.memory as string, "memory.memsw.limit_in_bytes"))) {
      expect(read(paths.v1.memory, "memory.memsw.limit_in_bytes")).toBe(String(128 << 20));
    }
    expect(read(paths.v1.cpu, "cpu.shares")).toBe("512");
    expect(read(paths.v1.cpu, "cpu.cfs_quota_us")).toBe("50000");
    expect(read(paths.v1.pids, "pids.max")).toBe("32");
    expect(read(paths.v1.devices, "devices.list").split("\n")).toEqual(["c 1:3 rwm", "c 136:* rw"]);

    const child = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    children.push(child);
    cg.addProcess(child.pid);
    expect(cg.pids()).toContain(child.pid);
    expect(readFileSync(`/proc/${child.pid}/cgroup`, "utf8")).toMatch(new RegExp(`:memory:.*/${name}$`, "m"));
    child.kill(9);
    await child.exited;
    cg.destroy();
    for (const dir of [...cg.created, ...Object.values(paths.v1)]) expect(existsSync(dir)).toBe(false);
    cgroups.splice(cgroups.indexOf(cg), 1);
  });

  test("the rest of runtime-spec's resources this kernel has, checked in the files; a refused update changes nothing", () => {
    const disk = readdirSync("/sys/block").map((d) => join("/sys/block", d, "dev")).find(existsSync);
    const [major, minor] = (disk ? readFileSync(disk, "utf8").trim() : "7:0").split(":").map(Number) as [number, number];
    const rt = existsSync("/sys/fs/cgroup/cpu/cpu.rt_runtime_us");
    const { cg, paths } = create(`tsrun-test-${tag}-b`, {
      memory: { limit: 64 << 20, swappiness: 10, kernel: 1 << 20 },
      cpu: { burst: 10000, quota: 50000, idle: 0, cpus: "0", mems: "0", ...(rt ? { realtimePeriod: 1000000, realtimeRuntime: 10000 } : {}) },
      blockIO: { weight: 200, throttleReadBpsDevice: [{ major, minor, rate: 1 << 20 }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] },
    });
    expect(read(paths.v1.memory, "memory.swappiness")).toBe("10");
    expect(read(paths.v1.cpu, "cpu.cfs_burst_us")).toBe("10000");
    if (rt) expect(read(paths.v1.cpu, "cpu.rt_runtime_us")).toBe("10000");
    expect(read(paths.v1.cpuset, "cpuset.cpus")).toBe("0");
    const weight = existsSync(join(paths.v1.blkio as string, "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight";
    expect(read(paths.v1.blkio, weight)).toMatch(/200$/);
    expect(read(paths.v1.blkio, "blkio.throttle.read_bps_device")).toBe(`${major}:${minor} ${1 << 20}`);
    expect(read(paths.v1.blkio, "blkio.throttle.write_iops_device")).toBe(`${major}:${minor} 100`);
    // memsw (if any) is unlimited, so this passes the check; the bad period then fails first.
    expect(() => cg.update({ memory: { limit: 32 << 20 }, cpu: { period: 10 } })).toThrow("linux.resources.cpu.period");
    expect(read(paths.v1.memory, "memory.limit_in_bytes")).toBe(String(64 << 20));
  });

  test("freeze and thaw a process, read its stats, kill everything, and hear about an OOM kill", async () => {
    const { cg, paths } = create(`tsrun-test-${tag}-c`, { memory: { limit: 16 << 20, swap: 16 << 20 }, pids: { limit: 16 } });
    const sleeper = spawnWaiting("exec sleep 30");
    cg.addProcess(sleeper.child.pid);
    sleeper.go();
    cg.freeze();
    expect(cg.freezerState()).toBe("frozen");
    expect(read(paths.v1.freezer, "freezer.state")).toBe("FROZEN");
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");

    const stats = cg.stats();
    expect(stats.pids.current).toBeGreaterThanOrEqual(1n);
    expect(stats.pids.limit).toBe(16n);
    expect(stats.memory.usage.limit).toBe(BigInt(16 << 20));
    expect(stats.cpu.usage.total).toBeGreaterThan(0n);

    cg.killAll(15);
    expect(await sleeper.child.exited).toBe(143);

    const watch = cg.watchOom();
    try {
      // 64 MiB of zeroes into a buffer in a 16 MiB cgroup without swap: the OOM killer takes it.
      const hog = spawnWaiting("exec dd if=/dev/zero of=/dev/null bs=64M count=1");
      cg.addProcess(hog.child.pid);
      hog.go();
      expect(await hog.child.exited).toBe(137);
      expect(watch.read()).toBeGreaterThanOrEqual(1);
      expect(watch.done).toBe(false);
    } finally {
      watch.close();
    }
  });
});

describe.skipIf(bpfSkip !== "")("cgroup2 device programs on this host", () => {
  test("a deny-all-but-/dev/null program stops a process opening /dev/zero, and an update replaces it", async () => {
    const dir = join(layout?.unified?.dir as string, `tsrun-test-${tag}-bpf`);
    mkdirSync(dir);
    leftovers.push(dir);
    const nullOnly = deviceProgram(targetState([{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]));
    installDeviceProgram(linuxKernel, dir, nullOnly);
    installDeviceProgram(linuxKernel, dir, deviceProgram(targetState([{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 9, access: "r" }])));
    const fd = linuxKernel.openDir(dir);
    try {
      expect(attachedPrograms(linuxKernel, fd)).toHaveLength(1);
    } finally {
      linuxKernel.close(fd);
    }
    const script = `echo $$ > ${dir}/cgroup.procs; head -c1 /dev/zero >/dev/null; echo zero=$?; head -c1 /dev/urandom >/dev/null; echo urandom=$?; echo x >/dev/null; echo null=$?`;
    const p = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
    children.push(p);
    await p.exited;
    expect(await new Response(p.stdout).text()).toBe("zero=1\nurandom=0\nnull=0\n");
    expect(await new Response(p.stderr).text()).toContain("/dev/zero");
  });
});
