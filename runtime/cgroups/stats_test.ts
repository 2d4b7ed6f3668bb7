import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeHost, fakeHost } from "./fake_cgroupfs.ts";
import { emptyStats, encodeEvent, readStats } from "./stats.ts";

let host: FakeHost | undefined;
afterEach(() => {
  host?.cleanup();
  host = undefined;
});

function put(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}

describe("encodeEvent", () => {
  test("empty stats marshal exactly as runc's types.Stats: omitempty fields left out, the rest zero", () => {
    expect(encodeEvent("stats", "web", emptyStats())).toBe(
      '{"type":"stats","id":"web","data":{"cpu":{"usage":{"kernel":0,"user":0},"throttling":{}},' +
        '"cpuset":{"cpu_exclusive":0,"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,"memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,"sched_load_balance":0,"sched_relax_domain_level":0},' +
        '"memory":{"usage":{"limit":0,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0}},' +
        '"pids":{},"blkio":{},"hugetlb":{},"intel_rdt":{},"network_interfaces":null}}',
    );
  });

  test("an oom event has no data; uint64 values are written in full", () => {
    expect(encodeEvent("oom", "web")).toBe('{"type":"oom","id":"web"}');
    const s = emptyStats();
    s.memory.usage.limit = 18446744073709551615n;
    s.cpuset.sched_relax_domain_level = -1n;
    expect(encodeEvent("stats", "x", s)).toContain('"usage":{"limit":18446744073709551615,"failcnt":0}');
    expect(encodeEvent("stats", "x", s)).toContain('"sched_relax_domain_level":-1');
  });
});

describe("readStats on v1", () => {
  test("cpuacct, cpu throttling, memory (with v1's unlimited), pids, blkio, cpuset, hugetlb", () => {
    const h = (host = fakeHost("v1", true));
    const d = (c: string) => join(h.layout.v1[c]!.dir, "web");
    const v1: Record<string, string> = {};
    for (const c of Object.keys(h.layout.v1)) v1[c] = d(c);
    for (const dir of new Set(Object.values(v1))) h.fs.mkdir(dir);
    put(d("cpuacct"), {
      "cpuacct.stat": "user 150\nsystem 50\n",
      "cpuacct.usage": "2500000000\n",
      "cpuacct.usage_percpu": "1000000000 1500000000 \n",
      "cpuacct.usage_all": "cpu user system\n0 800000000 200000000\n1 1200000000 300000000\n",
    });
    put(d("cpu"), { "cpu.stat": "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\nnr_bursts 0\n" });
    put(d("memory"), {
      "memory.stat": "rss 4096\ncache 8192\nhierarchical_memory_limit 9223372036854771712\n",
      "memory.usage_in_bytes": "12288\n",
      "memory.max_usage_in_bytes": "20480\n",
      "memory.failcnt": "3\n",
    });
    put(d("pids"), { "pids.current": "4\n" });
    put(d("blkio"), { "blkio.throttle.io_serviced": "8:0 Read 12\n8:0 Write 3\nTotal 15\n", "blkio.throttle.io_service_bytes": "8:0 Read 4096\n" });
    put(d("cpuset"), { "cpuset.cpus": "0-2,5\n", "cpuset.mems": "0\n" });
    put(d("hugetlb"), { "hugetlb.2MB.usage_in_bytes": "2097152\n", "hugetlb.2MB.failcnt": "1\n" });

    const s = readStats(h.fs, { v1 });
    expect(s.cpu.usage).toEqual({
      total: 2500000000n,
      percpu: [1000000000n, 1500000000n],
      percpu_kernel: [200000000n, 300000000n],
      percpu_user: [800000000n, 1200000000n],
      user: 1500000000n,
      kernel: 500000000n,
    });
    expect(s.cpu.throttling).toEqual({ periods: 10n, throttledPeriods: 2n, throttledTime: 5000n });
    expect(s.memory.usage).toEqual({ usage: 12288n, max: 20480n, failcnt: 3n, limit: 9223372036854771712n });
    expect(s.memory.cache).toBe(8192n);
    expect(s.memory.kernel).toEqual({ limit: 0n, usage: 0n, max: 0n, failcnt: 0n }); // no kmem files: zero, as runc
    expect(s.pids).toEqual({ current: 4n, limit: 0n }); // "max" reads as 0
    expect(s.blkio.ioServicedRecursive).toEqual([
      { major: 8n, minor: 0n, op: "Read", value: 12n },
      { major: 8n, minor: 0n, op: "Write", value: 3n },
    ]);
    expect(s.cpuset.cpus).toEqual([0, 1, 2, 5]);
    expect(s.cpuset.sched_relax_domain_level).toBe(-1n);
    expect(s.hugetlb).toEqual({ "2MB": { usage: 2097152n, max: 0n, failcnt: 1n } });
    const json = encodeEvent("stats", "web", s);
    expect(json).toContain('"raw":{"cache":8192,"hierarchical_memory_limit":9223372036854771712,"rss":4096}');
    expect(json).toContain('"ioServicedRecursive":[{"major":8,"op":"Read","value":12},{"major":8,"op":"Write","value":3}]');
  });
});

describe("readStats on v2", () => {
  test("cpu.stat in µs → ns, memory with swap as memory+swap, io.stat, pids, hugetlb events", () => {
    const h = (host = fakeHost("v2"));
    writeFileSync(join(h.root, "cgroup.subtree_control"), "cpu io memory hugetlb pids");
    const dir = join(h.root, "web");
    h.fs.mkdir(dir);
    put(dir, {
      "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n",
      "memory.stat": "anon 4096\nfile 8192\n",
      "memory.current": "12288\n",
      "memory.max": "1048576\n",
      "memory.swap.current": "100\n",
      "memory.swap.max": "max\n",
      "io.stat": "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n",
      "pids.current": "3\n",
      "pids.max": "64\n",
      "hugetlb.2MB.current": "0\n",
      "hugetlb.2MB.events": "max 7\n",
    });
    const s = readStats(h.fs, { v1: {}, v2: dir });
    expect(s.cpu.usage).toMatchObject({ total: 1500000n, user: 1000000n, kernel: 500000n });
    expect(s.cpu.throttling).toEqual({ periods: 4n, throttledPeriods: 1n, throttledTime: 20000n });
    expect(s.memory.cache).toBe(8192n);
    expect(s.memory.usage).toEqual({ usage: 12288n, limit: 1048576n, max: 0n, failcnt: 0n });
    expect(s.memory.swap).toEqual({ usage: 12388n, limit: 18446744073709551615n, max: 0n, failcnt: 0n });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8n, minor: 0n, op: "Read", value: 4096n },
      { major: 8n, minor: 0n, op: "Write", value: 512n },
    ]);
    expect(s.blkio.ioServicedRecursive).toHaveLength(2);
    expect(s.pids).toEqual({ current: 3n, limit: 64n });
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0n, max: 0n, failcnt: 7n });
    expect(s.hugetlb["1GB"]).toEqual({ usage: 0n, max: 0n, failcnt: 0n });
  });

  test("without the pids controller the processes are counted; a cgroup without memory has no memory stats", () => {
    const h = (host = fakeHost("v2"));
    const dir = join(h.root, "bare");
    h.fs.mkdir(dir);
    put(dir, { "cgroup.procs": "10\n11\n" });
    const s = readStats(h.fs, { v1: {}, v2: dir });
    expect(s.pids).toEqual({ current: 2n, limit: 0n });
    expect(s.memory.raw).toEqual({});
  });
});
