import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runDeviceProgram } from "./ebpf_interpreter.ts";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { FakeKernel } from "./fake_kernel.ts";
import { applyResources } from "./resources.ts";
import type { LinuxResources } from "./types.ts";
import { enableControllers } from "./v2.ts";

let host: FakeHost;
let kernel: FakeKernel;
let dir: string;
const read = (file: string) => readFileSync(join(dir, file), "utf8");
const apply = (r: LinuxResources) => applyResources(host.layout, { v1: {}, unified: dir }, r, { fsys: host.fs, kernel: () => kernel });

beforeEach(() => {
  host = fakeHost("v2");
  kernel = new FakeKernel();
  // Parent delegates everything, so the leaf has all controller files.
  writeFileSync(join(host.root, "cgroup.subtree_control"), "cpuset cpu io memory hugetlb pids rdma misc");
  dir = join(host.root, "web");
  host.fs.mkdir(dir);
  host.fs.writes.length = 0;
});
afterEach(() => host.cleanup());

describe("v2 memory", () => {
  test("limit → memory.max, reservation → memory.low, swap → memory.swap.max as swap minus limit", () => {
    apply({ memory: { limit: 256 << 20, swap: 768 << 20, reservation: 128 << 20 } });
    expect(host.fs.writesUnder(dir)).toEqual([`memory.swap.max=${512 << 20}`, `memory.max=${256 << 20}`, `memory.low=${128 << 20}`]);
  });

  test("kernel and kernelTCP have no v2 files: accepted and ignored, as runc and crun do", () => {
    apply({ memory: { kernel: 1 << 20, kernelTCP: 1 << 20 } });
    expect(host.fs.writesUnder(dir)).toEqual([]);
  });

  test("-1 is written as max, for swap too when the limit is unlimited", () => {
    apply({ memory: { limit: -1 } });
    expect(host.fs.writesUnder(dir)).toEqual(["memory.swap.max=max", "memory.max=max"]);
  });

  test("a swap-only update is measured against the limit in force", () => {
    writeFileSync(join(dir, "memory.max"), String(64 << 20));
    apply({ memory: { swap: 96 << 20 } });
    expect(read("memory.swap.max")).toBe(String(32 << 20));
    expect(() => apply({ memory: { swap: 32 << 20 } })).toThrow(
      "linux.resources.memory.swap: must be at least linux.resources.memory.limit (67108864), found 33554432",
    );
    writeFileSync(join(dir, "memory.max"), "max");
    expect(() => apply({ memory: { swap: 32 << 20 } })).toThrow("cannot limit swap (33554432) on cgroup v2 without a memory limit");
  });

  test("without swap accounting, no swap or unlimited swap is fine but a swap limit is not", () => {
    rmSync(join(dir, "memory.swap.max"));
    apply({ memory: { limit: 1 << 20, swap: 1 << 20 } });
    expect(read("memory.max")).toBe(String(1 << 20));
    expect(() => apply({ memory: { limit: 1 << 20, swap: 2 << 20 } })).toThrow(
      `linux.resources.memory.swap: this host does not provide "memory.swap.max" in "${dir}" (no swap accounting)`,
    );
  });

  test("v1-only memory settings are refused; checkBeforeUpdate reads memory.current", () => {
    expect(() => apply({ memory: { limit: 1 << 20, swappiness: 10 } })).toThrow("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
    expect(() => apply({ memory: { disableOOMKiller: true } })).toThrow("linux.resources.memory.disableOOMKiller: cgroup v2 cannot switch the OOM killer off");
    writeFileSync(join(dir, "memory.current"), String(10 << 20));
    expect(() => apply({ memory: { limit: 8 << 20, checkBeforeUpdate: true } })).toThrow("rejecting 8388608, not above the current usage 10485760");
    expect(host.fs.writes).toEqual([]);
  });
});

describe("v2 cpu and cpuset", () => {
  test("shares become cpu.weight (1024 → 100), idle and burst their files, quota/period one cpu.max write", () => {
    apply({ cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 1, cpus: "1", mems: "0" } });
    expect(host.fs.writesUnder(dir)).toEqual([
      "cpu.idle=1",
      "cpu.weight=100",
      "cpu.max.burst=1000",
      "cpu.max=50000 100000",
      "cpuset.cpus=1",
      "cpuset.mems=0",
    ]);
  });

  test("a quota alone leaves the period; a negative quota is max; a period alone keeps the quota", () => {
    apply({ cpu: { quota: 20000 } });
    expect(read("cpu.max")).toBe("20000");
    apply({ cpu: { quota: -1, period: 50000 } });
    expect(read("cpu.max")).toBe("max 50000");
    writeFileSync(join(dir, "cpu.max"), "30000 100000");
    apply({ cpu: { period: 200000 } });
    expect(read("cpu.max")).toBe("30000 200000");
  });

  test("a burst the kernel rejects with the old quota is retried after cpu.max", () => {
    let rejected = false;
    host.fs.stored.set("cpu.max.burst", (v) => {
      if (rejected) return v;
      rejected = true;
      throw Object.assign(new Error("EINVAL"), { code: "EINVAL" });
    });
    apply({ cpu: { quota: 50000, burst: 40000 } });
    expect(host.fs.writesUnder(dir)).toEqual(["cpu.max.burst=40000", "cpu.max=50000", "cpu.max.burst=40000"]);
  });

  test("realtime settings are refused", () => {
    expect(() => apply({ cpu: { realtimeRuntime: 1000 } })).toThrow("linux.resources.cpu.realtimeRuntime: cgroup v2 has no real-time group scheduling");
  });
});

test("v2 pids: -1 is max, 0 is 0", () => {
  apply({ pids: { limit: -1 } });
  expect(read("pids.max")).toBe("max");
  apply({ pids: { limit: 0 } });
  expect(read("pids.max")).toBe("0");
});

describe("v2 io", () => {
  test("without BFQ: io.weight converted, per device too; throttles to io.max", () => {
    apply({
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 1000 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 2097152 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 120 }],
      },
    });
    expect(host.fs.writesUnder(dir)).toEqual(["io.weight=4950", "io.weight=8:0 10000", "io.max=8:0 rbps=2097152", "io.max=8:0 wiops=120"]);
  });

  test("with BFQ: weights as they are in io.bfq.weight", () => {
    writeFileSync(join(dir, "io.bfq.weight"), "default 100\n");
    apply({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } });
    expect(host.fs.writesUnder(dir)).toEqual(["io.bfq.weight=500", "io.bfq.weight=8:0 300"]);
  });

  test("leaf weights are refused", () => {
    expect(() => apply({ blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 300 }] } })).toThrow(
      "linux.resources.blockIO.weightDevice[0].leafWeight: cgroup v2 has no leaf weights",
    );
  });
});

describe("v2 hugetlb, rdma, network", () => {
  test("hugepage limits to .max, and .rsvd.max where the kernel has it", () => {
    apply({ hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }, { pageSize: "1GB", limit: 1 << 30 }] });
    expect(host.fs.writesUnder(dir)).toEqual([`hugetlb.2MB.max=${2 << 20}`, `hugetlb.2MB.rsvd.max=${2 << 20}`, `hugetlb.1GB.max=${1 << 30}`]);
  });

  test("rdma.max lines; net_cls and net_prio do not exist on v2", () => {
    apply({ rdma: { mlx5_0: { hcaHandles: 2 } } });
    expect(read("rdma.max")).toBe("mlx5_0 hca_handle=2");
    expect(() => apply({ network: { classID: 7 } })).toThrow("linux.resources.network.classID: cgroup v2 has no net_cls controller");
    expect(() => apply({ network: { priorities: [{ name: "lo", priority: 1 }] } })).toThrow("linux.resources.network.priorities: cgroup v2 has no net_prio controller");
  });
});

describe("v2 unified", () => {
  test("keys are written last, so they win over structured fields; multi-line values one line per write", () => {
    apply({ pids: { limit: 10 }, unified: { "pids.max": "20", "io.max": "8:0 rbps=1\n8:16 wbps=2" } });
    expect(host.fs.writesUnder(dir)).toEqual(["pids.max=10", "pids.max=20", "io.max=8:0 rbps=1", "io.max=8:16 wbps=2"]);
  });

  test("bad keys, and keys for files the cgroup does not have, are refused before any write", () => {
    expect(() => apply({ pids: { limit: 1 }, unified: { "../pids.max": "1" } })).toThrow('linux.resources.unified["../pids.max"]: must be a file name (no slashes)');
    expect(() => apply({ unified: { max: "1" } })).toThrow('linux.resources.unified["max"]: must be in the form CONTROLLER.PARAMETER');
    expect(() => apply({ pids: { limit: 1 }, unified: { "foo.bar": "1" } })).toThrow(
      `linux.resources.unified["foo.bar"]: no such file in "${dir}" (the "foo" controller is not available)`,
    );
    expect(host.fs.writes.filter((w) => w.path.startsWith(dir))).toEqual([]);
  });
});

describe("v2 devices", () => {
  const NULL_ONLY = [{ allow: false, access: "rwm" }, { allow: true, type: "c" as const, major: 1, minor: 3, access: "rwm" }];

  test("the rules become one program on the cgroup; an update replaces it, attaching before detaching", () => {
    apply({ devices: NULL_ONLY });
    const run = (major: number, minor: number) => runDeviceProgram(kernel.programOf(dir), { type: 2, access: 2, major, minor });
    expect([run(1, 3), run(1, 5)]).toEqual([1, 0]);
    kernel.calls.length = 0;
    apply({ devices: [...NULL_ONLY, { allow: true, type: "c", major: 1, minor: 5, access: "r" }] });
    expect(kernel.calls.filter((c) => c.startsWith("bpf"))).toEqual([
      "bpf PROG_QUERY",
      "bpf PROG_LOAD",
      "bpf PROG_ATTACH",
      "bpf PROG_GET_FD_BY_ID",
      "bpf PROG_DETACH",
    ]);
    expect([run(1, 3), run(1, 5)]).toEqual([1, 1]);
    expect(kernel.openFds()).toEqual([]);
  });

  test("an allow-all list attaches an allow-all program; no list leaves the program alone", () => {
    apply({ devices: [{ allow: true, access: "rwm" }] });
    expect(runDeviceProgram(kernel.programOf(dir), { type: 1, access: 7, major: 8, minor: 0 })).toBe(1);
    kernel.calls.length = 0;
    apply({ pids: { limit: 3 } });
    expect(kernel.calls).toEqual([]);
  });

  test("a failed attach leaves the old program in force and closes every fd", () => {
    apply({ devices: NULL_ONLY });
    const before = kernel.attached.get(dir);
    kernel.failBpf.set("PROG_ATTACH", "EPERM");
    expect(() => apply({ devices: [{ allow: true, access: "rwm" }] })).toThrow(
      `linux.resources.devices: attach the device program to "${dir}" (BPF_PROG_ATTACH): EPERM`,
    );
    expect(kernel.attached.get(dir)).toEqual(before);
    expect(kernel.openFds()).toEqual([]);
  });
});

describe("enableControllers", () => {
  function tree() {
    writeFileSync(join(host.root, "cgroup.subtree_control"), "");
    mkdirSync(join(host.root, "a"));
    writeFileSync(join(host.root, "a", "cgroup.controllers"), "cpu memory pids io");
    writeFileSync(join(host.root, "a", "cgroup.subtree_control"), "memory");
    writeFileSync(join(host.root, "a", "cgroup.procs"), "");
    host.fs.writes.length = 0;
  }
  const writes = () => host.fs.writes.map((w) => `${w.path.slice(host.root.length)}=${w.value}`);
  const needed = new Map([["memory", "linux.resources.memory"], ["pids", "linux.resources.pids"]]);

  test("with all: every controller each ancestor has (after the one above delegated them), top down, one write each", () => {
    tree();
    enableControllers(host.fs, host.root, join(host.root, "a", "web"), needed, true);
    expect(writes()).toEqual(["/cgroup.subtree_control=+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc", "/a/cgroup.subtree_control=+cpuset +cpu +io +hugetlb +pids +rdma +misc"]);
  });

  test("without all: only the needed ones", () => {
    tree();
    enableControllers(host.fs, host.root, join(host.root, "a", "web"), needed, false);
    expect(writes()).toEqual(["/cgroup.subtree_control=+memory +pids", "/a/cgroup.subtree_control=+pids"]);
  });

  test("a controller the ancestor does not have is an error naming the field and the cgroup", () => {
    writeFileSync(join(host.root, "cgroup.controllers"), "cpu pids");
    writeFileSync(join(host.root, "cgroup.subtree_control"), "");
    expect(() => enableControllers(host.fs, host.root, join(host.root, "x"), new Map([["memory", "linux.resources.memory"]]), true)).toThrow(
      `linux.resources.memory: the "memory" controller is not available in "${host.root}"`,
    );
  });

  test("an ancestor holding processes cannot delegate: the error says where, for needed controllers only", () => {
    mkdirSync(join(host.root, "busy"));
    writeFileSync(join(host.root, "busy", "cgroup.controllers"), "cpu memory pids");
    writeFileSync(join(host.root, "busy", "cgroup.subtree_control"), "");
    writeFileSync(join(host.root, "busy", "cgroup.procs"), "42\n");
    enableControllers(host.fs, host.root, join(host.root, "busy", "web"), new Map(), true);
    expect(() => enableControllers(host.fs, host.root, join(host.root, "busy", "web"), new Map([["pids", "linux.resources.pids"]]), true)).toThrow(
      `linux.resources.pids: enable "pids" in "${join(host.root, "busy", "cgroup.subtree_control")}": EBUSY`,
    );
  });
});
