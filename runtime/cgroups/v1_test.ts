import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { FakeKernel } from "./fake_kernel.ts";
import { applyResources } from "./resources.ts";
import type { CgroupPaths, LinuxResources } from "./types.ts";

let host: FakeHost;
let paths: CgroupPaths;
const dir = (controller: string) => paths.v1[controller] as string;
const read = (controller: string, file: string) => readFileSync(join(dir(controller), file), "utf8");
const apply = (r: LinuxResources) => applyResources(host.layout, paths, r, { fsys: host.fs, kernel: () => new FakeKernel() });

function setup(extra = false) {
  host = fakeHost("v1", extra);
  paths = { v1: {} };
  for (const [controller, mount] of Object.entries(host.layout.v1)) paths.v1[controller] = join(mount.dir, "web");
  for (const d of new Set(Object.values(paths.v1))) host.fs.mkdir(d);
  host.fs.writes.length = 0;
}
afterEach(() => host.cleanup());

describe("v1 memory", () => {
  test("limit, swap and reservation go to limit_in_bytes, memsw and soft_limit; lowering writes the limit first", () => {
    setup();
    apply({ memory: { limit: 256 << 20, swap: 512 << 20, reservation: 128 << 20 } });
    writeFileSync(join(dir("memory"), "memory.limit_in_bytes"), String(1 << 30));
    writeFileSync(join(dir("memory"), "memory.memsw.limit_in_bytes"), String(2 << 30));
    host.fs.writes.length = 0;
    apply({ memory: { limit: 256 << 20, swap: 512 << 20 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual([`memory.limit_in_bytes=${256 << 20}`, `memory.memsw.limit_in_bytes=${512 << 20}`]);
  });

  test("raising swap past the current limit writes memsw first, so limit <= memsw holds after each write", () => {
    setup();
    writeFileSync(join(dir("memory"), "memory.limit_in_bytes"), String(64 << 20));
    writeFileSync(join(dir("memory"), "memory.memsw.limit_in_bytes"), String(64 << 20));
    apply({ memory: { limit: 256 << 20, swap: 512 << 20, reservation: 128 << 20 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual([
      `memory.memsw.limit_in_bytes=${512 << 20}`,
      `memory.limit_in_bytes=${256 << 20}`,
      `memory.soft_limit_in_bytes=${128 << 20}`,
    ]);
  });

  test("unlimited memory with swap unset lifts memsw too, first", () => {
    setup();
    apply({ memory: { limit: -1 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual(["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]);
  });

  test("zero values are unset and write nothing; kernel and useHierarchy are ignored, kernelTCP without the kernel's file", () => {
    setup();
    apply({ memory: { limit: 0, swap: 0, kernel: 1 << 20, kernelTCP: 1 << 20, useHierarchy: false, disableOOMKiller: false } });
    expect(host.fs.writes).toEqual([]);
  });

  test("kernelTCP goes to memory.kmem.tcp.limit_in_bytes where the kernel has it; -1 lifts it", () => {
    setup();
    writeFileSync(join(dir("memory"), "memory.kmem.tcp.limit_in_bytes"), "9223372036854771712");
    apply({ memory: { kernel: 1 << 20, kernelTCP: 4 << 20 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual([`memory.kmem.tcp.limit_in_bytes=${4 << 20}`]);
    host.fs.writes.length = 0;
    apply({ memory: { kernelTCP: -1 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual(["memory.kmem.tcp.limit_in_bytes=-1"]);
  });

  test("a limit the kernel cannot reclaim down to reports the usage", () => {
    setup();
    host.fs.failWrites.set("memory.limit_in_bytes", "EBUSY");
    writeFileSync(join(dir("memory"), "memory.usage_in_bytes"), "5000000");
    expect(() => apply({ memory: { limit: 1 << 20 } })).toThrow(
      'linux.resources.memory.limit: 1048576 is below the current usage 5000000 (peak 0): write "memory.limit_in_bytes": EBUSY',
    );
  });

  test("limits that contradict each other or the ones in force are refused before any write", () => {
    setup();
    expect(() => apply({ pids: { limit: 5 }, memory: { limit: 2 << 20, swap: 1 << 20 } })).toThrow(
      "linux.resources.memory.swap: must be at least the memory limit 2097152 (it counts memory+swap), found 1048576",
    );
    writeFileSync(join(dir("memory"), "memory.memsw.limit_in_bytes"), String(64 << 20));
    expect(() => apply({ memory: { limit: 128 << 20 } })).toThrow(
      "linux.resources.memory.limit: 134217728 is above the memory+swap limit 67108864 in force; raise linux.resources.memory.swap too",
    );
    expect(() => apply({ memory: { limit: 32 << 20, reservation: 64 << 20 } })).toThrow(
      "linux.resources.memory.reservation: must not exceed the memory limit 33554432, found 67108864",
    );
    expect(host.fs.writes).toEqual([]);
  });

  test("checkBeforeUpdate refuses a limit at or below the usage", () => {
    setup();
    writeFileSync(join(dir("memory"), "memory.usage_in_bytes"), String(8 << 20));
    expect(() => apply({ memory: { limit: 4 << 20, checkBeforeUpdate: true } })).toThrow(
      "linux.resources.memory.limit: rejecting 4194304, not above the current usage 8388608 (checkBeforeUpdate)",
    );
    apply({ memory: { limit: 16 << 20, checkBeforeUpdate: true } });
    expect(read("memory", "memory.limit_in_bytes")).toBe(String(16 << 20));
  });

  test("swappiness and disableOOMKiller; swappiness above 100 is refused, Go's -1 (2^64) is unset", () => {
    setup();
    apply({ memory: { swappiness: 0, disableOOMKiller: true } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual(["memory.oom_control=1", "memory.swappiness=0"]);
    expect(() => apply({ memory: { swappiness: 101 } })).toThrow("linux.resources.memory.swappiness: must be between 0 and 100, found 101");
    host.fs.writes.length = 0;
    apply({ memory: { swappiness: 2 ** 64 } });
    expect(host.fs.writes).toEqual([]);
  });

  test("without swap accounting, -1 passes quietly and a real swap limit is refused", () => {
    setup();
    rmSync(join(dir("memory"), "memory.memsw.limit_in_bytes"));
    apply({ memory: { limit: 1 << 20, swap: -1 } });
    expect(host.fs.writesUnder(dir("memory"))).toEqual(["memory.limit_in_bytes=1048576"]);
    expect(() => apply({ memory: { limit: 1 << 20, swap: 2 << 20 } })).toThrow(
      'linux.resources.memory.swap: this host has no swap accounting (no "memory.memsw.limit_in_bytes"), so only -1 is possible, found 2097152',
    );
  });
});

describe("v1 cpu and cpuset", () => {
  test("shares, then period, burst and quota, idle, then rt period and runtime; cpus and mems to cpuset", () => {
    setup();
    apply({ cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, idle: 0, realtimePeriod: 500000, realtimeRuntime: 1000, cpus: "0-1", mems: "0" } });
    expect(host.fs.writesUnder(dir("cpu"))).toEqual([
      "cpu.shares=512",
      "cpu.cfs_period_us=100000",
      "cpu.cfs_burst_us=10000",
      "cpu.cfs_quota_us=50000",
      "cpu.idle=0",
      "cpu.rt_period_us=500000",
      "cpu.rt_runtime_us=1000",
    ]);
    expect(host.fs.writesUnder(dir("cpuset"))).toEqual(["cpuset.cpus=0-1", "cpuset.mems=0"]);
  });

  test("a period or burst the kernel rejects with the old quota is retried after the quota", () => {
    setup();
    const rejectOnce = () => {
      let rejected = false;
      return (v: string) => {
        if (rejected) return v;
        rejected = true;
        throw Object.assign(new Error("EINVAL"), { code: "EINVAL" });
      };
    };
    host.fs.stored.set("cpu.cfs_period_us", rejectOnce());
    host.fs.stored.set("cpu.cfs_burst_us", rejectOnce());
    apply({ cpu: { quota: 5000, period: 10000, burst: 2000 } });
    expect(host.fs.writesUnder(dir("cpu"))).toEqual([
      "cpu.cfs_period_us=10000",
      "cpu.cfs_burst_us=2000",
      "cpu.cfs_quota_us=5000",
      "cpu.cfs_period_us=10000",
      "cpu.cfs_burst_us=2000",
    ]);
    expect(read("cpu", "cpu.cfs_period_us")).toBe("10000");
  });

  test("values outside the kernel's ranges are refused before anything is written", () => {
    setup();
    expect(() => apply({ memory: { limit: 1 << 20 }, cpu: { shares: 1 } })).toThrow("linux.resources.cpu.shares: must be between 2 and 262144, found 1");
    expect(() => apply({ cpu: { period: 500 } })).toThrow("linux.resources.cpu.period: must be between 1000 and 1000000 (1 ms to 1 s), found 500");
    expect(() => apply({ cpu: { quota: 10 } })).toThrow("linux.resources.cpu.quota: must be at least 1000 (1 ms), or -1 for no limit, found 10");
    expect(() => apply({ cpu: { quota: 1000, burst: 2000 } })).toThrow("linux.resources.cpu.burst: must not exceed quota (1000), found 2000");
    expect(host.fs.writes).toEqual([]);
  });

  test("a knob this kernel lacks (no RT group scheduling) fails the whole update before any write", () => {
    setup();
    rmSync(join(dir("cpu"), "cpu.rt_runtime_us"));
    expect(() => apply({ memory: { limit: 1 << 20 }, cpu: { shares: 512, realtimeRuntime: 1000 } })).toThrow(
      `linux.resources.cpu.realtimeRuntime: this host does not provide "cpu.rt_runtime_us" in "${dir("cpu")}"`,
    );
    expect(host.fs.writes).toEqual([]);
  });
});

describe("v1 pids and devices", () => {
  test("a pids limit is written as is, -1 as max, 0 as 0; unset writes nothing", () => {
    setup();
    for (const [limit, expected] of [[100, "100"], [-1, "max"], [0, "0"]] as const) {
      apply({ pids: { limit } });
      expect(read("pids", "pids.max")).toBe(expected);
    }
    host.fs.writes.length = 0;
    apply({ pids: {} });
    expect(host.fs.writes).toEqual([]);
  });

  test("a leading deny-all writes 'a' to devices.deny, then each allowed device to devices.allow, before any other controller", () => {
    setup();
    apply({
      pids: { limit: 5 },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rwm" },
      ],
    });
    expect(host.fs.writesUnder(dir("devices"))).toEqual(["devices.deny=a", "devices.allow=c 1:3 rwm", "devices.allow=c 136:* rwm"]);
    expect(host.fs.writes[0]?.path).toBe(join(dir("devices"), "devices.deny"));
  });

  test("a bad device entry fails before anything is written", () => {
    setup();
    expect(() => apply({ pids: { limit: 1 }, devices: [{ allow: true, type: "c", major: 2 ** 40, access: "r" }] })).toThrow(
      "linux.resources.devices[0].major: must be a device number between 0 and 2147483647 (or -1 for any), found 1099511627776",
    );
    expect(host.fs.writes).toEqual([]);
  });
});

describe("v1 blkio", () => {
  test("BFQ's weight files where CFQ's are missing; throttles per device", () => {
    setup();
    apply({
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 500 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
      },
    });
    expect(host.fs.writesUnder(dir("blkio"))).toEqual([
      "blkio.bfq.weight=300",
      "blkio.bfq.weight_device=8:0 500",
      "blkio.throttle.read_bps_device=8:0 1048576",
      "blkio.throttle.write_iops_device=8:16 100",
    ]);
  });

  test("CFQ's files when the kernel has them", () => {
    setup();
    writeFileSync(join(dir("blkio"), "blkio.weight"), "500");
    writeFileSync(join(dir("blkio"), "blkio.weight_device"), "");
    apply({ blockIO: { weight: 300, weightDevice: [{ major: 8, minor: 0, weight: 500 }] } });
    expect(host.fs.writesUnder(dir("blkio"))).toEqual(["blkio.weight=300", "blkio.weight_device=8:0 500"]);
  });

  test("leaf weights on a kernel without CFQ are refused, naming the field and the file", () => {
    setup();
    expect(() => apply({ blockIO: { leafWeight: 300 } })).toThrow(
      `linux.resources.blockIO.leafWeight: this host does not provide "blkio.leaf_weight" in "${dir("blkio")}" (leaf weights went with CFQ)`,
    );
  });
});

describe("v1 hugetlb, network, rdma, unified", () => {
  test("hugepage limits go to limit_in_bytes and the rsvd file; an unknown page size is refused first", () => {
    setup(true);
    apply({ hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] });
    expect(host.fs.writesUnder(dir("hugetlb"))).toEqual([`hugetlb.2MB.limit_in_bytes=${4 << 20}`, `hugetlb.2MB.rsvd.limit_in_bytes=${4 << 20}`]);
    expect(() => apply({ hugepageLimits: [{ pageSize: "1GB", limit: 0 }] })).toThrow(
      `linux.resources.hugepageLimits[0].pageSize: "1GB" is not a huge page size this host supports (no "hugetlb.1GB.limit_in_bytes" in "${dir("hugetlb")}")`,
    );
    expect(() => apply({ hugepageLimits: [{ pageSize: "../x", limit: 0 }] })).toThrow('must look like "2MB" or "1GB", found "../x"');
  });

  test("classID and priorities go to net_cls and net_prio", () => {
    setup(true);
    apply({ network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }, { name: "lo", priority: 2 }] } });
    expect(host.fs.writesUnder(dir("net_cls"))).toEqual(["net_cls.classid=1048577", "net_prio.ifpriomap=eth0 5", "net_prio.ifpriomap=lo 2"]);
  });

  test("rdma limits per device; a device the host lacks is refused", () => {
    setup(true);
    apply({ rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } } });
    expect(host.fs.writesUnder(dir("rdma"))).toEqual(["rdma.max=mlx5_0 hca_handle=3 hca_object=100"]);
    expect(() => apply({ rdma: { mlx4_1: { hcaObjects: 1 } } })).toThrow('linux.resources.rdma["mlx4_1"]: no such RDMA device on this host (it has "mlx5_0")');
  });

  test("a resource whose hierarchy is not mounted, or unified on v1, is an error naming the field", () => {
    setup();
    expect(() => apply({ network: { classID: 1 } })).toThrow('linux.resources.network.classID: no "net_cls" cgroup hierarchy is mounted');
    expect(() => apply({ unified: { "memory.high": "1" } })).toThrow(
      'linux.resources.unified: needs a cgroup v2 host (runc: "cannot use unified on cgroup v1"); this host\'s cgroups are v1',
    );
    expect(host.fs.writes).toEqual([]);
  });
});

test("a failing write names the field and the file and keeps the errno code", () => {
  setup();
  host.fs.failWrites.set("memory.limit_in_bytes", "EINVAL");
  let caught: unknown;
  try {
    apply({ memory: { limit: 4096 } });
  } catch (err) {
    caught = err;
  }
  expect((caught as Error).message).toBe('linux.resources.memory.limit: write "memory.limit_in_bytes": EINVAL');
  expect((caught as { code?: string }).code).toBe("EINVAL");
  expect(((caught as Error).cause as { code?: string }).code).toBe("EINVAL");
});
