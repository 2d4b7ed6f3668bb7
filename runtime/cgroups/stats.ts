// `events --stats`: the cgroup's counters in runc 1.1.5's JSON shape (types/events.go, filled as
// libcontainer/cgroups/fs and fs2 do, field for field). Counters are uint64 in the kernel and in
// runc; limits such as v1's "unlimited" (9223372036854771712) do not fit a double, so every number
// here is a bigint and encodeEvent writes them out exactly.
import { join } from "../sys/path.ts";
import { type CgroupFs, errorCode } from "./files.ts";

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface BlkioEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface Hugetlb {
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export const BLKIO_KEYS = [
  "ioServiceBytesRecursive",
  "ioServicedRecursive",
  "ioQueueRecursive",
  "ioServiceTimeRecursive",
  "ioWaitTimeRecursive",
  "ioMergedRecursive",
  "ioTimeRecursive",
  "sectorsRecursive",
] as const;

export interface Stats {
  cpu: {
    usage: { total: bigint; percpu: bigint[]; percpu_kernel: bigint[]; percpu_user: bigint[]; kernel: bigint; user: bigint };
    throttling: { periods: bigint; throttledPeriods: bigint; throttledTime: bigint };
  };
  cpuset: {
    cpus: number[];
    cpu_exclusive: bigint;
    mems: number[];
    mem_hardwall: bigint;
    mem_exclusive: bigint;
    memory_migrate: bigint;
    memory_spread_page: bigint;
    memory_spread_slab: bigint;
    memory_pressure: bigint;
    sched_load_balance: bigint;
    sched_relax_domain_level: bigint;
  };
  memory: { cache: bigint; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw: Record<string, bigint> };
  pids: { current: bigint; limit: bigint };
  blkio: Record<(typeof BLKIO_KEYS)[number], BlkioEntry[]>;
  hugetlb: Record<string, Hugetlb>;
}

const U64_MAX = 2n ** 64n - 1n;
const entry = (): MemoryEntry => ({ limit: 0n, usage: 0n, max: 0n, failcnt: 0n });

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: 0n, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [],
      cpu_exclusive: 0n,
      mems: [],
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 0n,
      sched_relax_domain_level: 0n,
    },
    memory: { cache: 0n, usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry(), raw: {} },
    pids: { current: 0n, limit: 0n },
    blkio: Object.fromEntries(BLKIO_KEYS.map((k) => [k, []])) as unknown as Stats["blkio"],
    hugetlb: {},
  };
}

/** runc's ParseUint: "max" is 2^64 − 1, a negative number 0. */
function parseUint(text: string, file: string): bigint {
  const s = text.trim();
  if (s === "max") return U64_MAX;
  if (!/^-?\d+$/.test(s)) throw new Error(`read cgroup stats: "${file}": cannot parse ${JSON.stringify(s)} as a number`);
  const v = BigInt(s);
  return v < 0n ? 0n : v > U64_MAX ? U64_MAX : v;
}

class Reader {
  constructor(
    private readonly fsys: CgroupFs,
    readonly dir: string,
  ) {}

  /** The file's text, or undefined if it does not exist. */
  text(file: string): string | undefined {
    try {
      return this.fsys.read(join(this.dir, file));
    } catch (err) {
      if (errorCode(err) === "ENOENT" || errorCode(err) === "ENODEV") return undefined;
      throw new Error(`read cgroup stats: "${join(this.dir, file)}": ${errorCode(err) ?? (err as Error).message}`, { cause: err });
    }
  }

  uint(file: string): bigint | undefined {
    const t = this.text(file);
    return t === undefined ? undefined : parseUint(t, file);
  }

  /** "key value" lines, as memory.stat or cpu.stat. */
  keyValues(file: string): Map<string, bigint> | undefined {
    const t = this.text(file);
    if (t === undefined) return undefined;
    const m = new Map<string, bigint>();
    for (const line of t.split("\n")) {
      const [k, v, extra] = line.trim().split(/\s+/);
      if (k === undefined || k === "") continue;
      if (v === undefined || extra !== undefined) throw new Error(`read cgroup stats: "${file}": malformed line ${JSON.stringify(line)}`);
      m.set(k, parseUint(v, file));
    }
    return m;
  }

  names(): string[] {
    try {
      return this.fsys.list(this.dir);
    } catch {
      return [];
    }
  }
}

// ---- cgroup v1 -------------------------------------------------------------------------------

/** "0-3,5" → [0, 1, 2, 3, 5]. */
function cpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").trim().split(",")) {
    if (part === "") continue;
    const [lo, hi] = part.split("-").map(Number);
    for (let i = lo ?? 0; i <= (hi ?? lo ?? 0); i++) out.push(i);
  }
  return out;
}

function cpusetV1(r: Reader, s: Stats): void {
  const c = s.cpuset;
  c.cpus = cpuList(r.text("cpuset.cpus"));
  c.mems = cpuList(r.text("cpuset.mems"));
  const keys = [
    ["cpu_exclusive", "cpuset.cpu_exclusive"],
    ["mem_hardwall", "cpuset.mem_hardwall"],
    ["mem_exclusive", "cpuset.mem_exclusive"],
    ["memory_migrate", "cpuset.memory_migrate"],
    ["memory_spread_page", "cpuset.memory_spread_page"],
    ["memory_spread_slab", "cpuset.memory_spread_slab"],
    ["memory_pressure", "cpuset.memory_pressure"],
    ["sched_load_balance", "cpuset.sched_load_balance"],
  ] as const;
  for (const [key, file] of keys) c[key] = r.uint(file) ?? 0n;
  const level = r.text("cpuset.sched_relax_domain_level");
  if (level !== undefined) c.sched_relax_domain_level = BigInt(level.trim() || "0");
}

function memoryDataV1(r: Reader, name: string): MemoryEntry {
  const m = name === "" ? "memory" : `memory.${name}`;
  const usage = r.uint(`${m}.usage_in_bytes`);
  // memsw (swap accounting) and kmem are optional in the kernel.
  if (usage === undefined) {
    if (name !== "") return entry();
    throw new Error(`read cgroup stats: no "memory.usage_in_bytes" in "${r.dir}"`);
  }
  return { limit: r.uint(`${m}.limit_in_bytes`) ?? 0n, usage, max: r.uint(`${m}.max_usage_in_bytes`) ?? 0n, failcnt: r.uint(`${m}.failcnt`) ?? 0n };
}

function memoryV1(r: Reader, s: Stats): void {
  const raw = r.keyValues("memory.stat");
  if (raw === undefined) return;
  s.memory.raw = Object.fromEntries(raw);
  s.memory.cache = raw.get("cache") ?? 0n;
  s.memory.usage = memoryDataV1(r, "");
  s.memory.swap = memoryDataV1(r, "memsw");
  s.memory.kernel = memoryDataV1(r, "kmem");
  s.memory.kernelTCP = memoryDataV1(r, "kmem.tcp");
}

function throttling(stat: Map<string, bigint> | undefined, s: Stats, scale: bigint, timeKey: string): void {
  if (stat === undefined) return;
  s.cpu.throttling.periods = stat.get("nr_periods") ?? 0n;
  s.cpu.throttling.throttledPeriods = stat.get("nr_throttled") ?? 0n;
  s.cpu.throttling.throttledTime = (stat.get(timeKey) ?? 0n) * scale;
}

function cpuacctV1(r: Reader, s: Stats): void {
  const u = s.cpu.usage;
  const stat = r.text("cpuacct.stat");
  if (stat === undefined) return;
  // user and system in USER_HZ ticks; runc assumes 100 per second.
  const ticks = Object.fromEntries(stat.trim().split("\n").map((l) => l.split(" ")));
  u.user = (parseUint(ticks.user ?? "0", "cpuacct.stat") * 1_000_000_000n) / 100n;
  u.kernel = (parseUint(ticks.system ?? "0", "cpuacct.stat") * 1_000_000_000n) / 100n;
  u.total = r.uint("cpuacct.usage") ?? 0n;
  u.percpu = (r.text("cpuacct.usage_percpu") ?? "").trim().split(/\s+/).filter((v) => v !== "").map((v) => parseUint(v, "cpuacct.usage_percpu"));
  // "cpu user system" header, then one line per cpu.
  for (const line of (r.text("cpuacct.usage_all") ?? "").trim().split("\n").slice(1)) {
    const cols = line.split(" ");
    if (cols.length !== 3) continue;
    u.percpu_kernel.push(parseUint(cols[2]!, "cpuacct.usage_all"));
    u.percpu_user.push(parseUint(cols[1]!, "cpuacct.usage_all"));
  }
}

function pidsStats(r: Reader, s: Stats): void {
  const current = r.uint("pids.current");
  if (current === undefined) return;
  const max = r.uint("pids.max") ?? 0n;
  s.pids = { current, limit: max === U64_MAX ? 0n : max };
}

/** blkio.* stat lines: "8:0 Read 1282048" or "8:0 6792"; "Total N" lines are skipped. */
function blkioEntries(r: Reader, file: string): BlkioEntry[] | undefined {
  const t = r.text(file);
  if (t === undefined) return undefined;
  const out: BlkioEntry[] = [];
  for (const line of t.split("\n")) {
    const f = line.split(/[ :]/).filter((x) => x !== "");
    if (f.length === 0 || (f.length === 2 && f[0] === "Total")) continue;
    if (f.length < 3) throw new Error(`read cgroup stats: "${file}": malformed line ${JSON.stringify(line)}`);
    const [op, value] = f.length === 4 ? [f[2]!, f[3]!] : ["", f[2]!];
    out.push({ major: parseUint(f[0]!, file), minor: parseUint(f[1]!, file), op, value: parseUint(value, file) });
  }
  return out.length === 0 ? undefined : out;
}

// The first group whose first file has entries wins (BFQ debug, BFQ, CFQ, throttling), as in runc.
const BLKIO_GROUPS: [file: string, key: (typeof BLKIO_KEYS)[number]][][] = [
  [
    ["blkio.bfq.sectors_recursive", "sectorsRecursive"],
    ["blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.bfq.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.bfq.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.bfq.time_recursive", "ioTimeRecursive"],
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.sectors_recursive", "sectorsRecursive"],
    ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.time_recursive", "ioTimeRecursive"],
    ["blkio.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ],
];

function blkioV1(r: Reader, s: Stats): void {
  for (const group of BLKIO_GROUPS) {
    for (const [i, [file, key]] of group.entries()) {
      const entries = blkioEntries(r, file);
      if (entries === undefined) {
        if (i === 0) break;
        return; // a later file of a group that started: runc stops here too
      }
      s.blkio[key] = entries;
      if (i === group.length - 1) return;
    }
  }
}

function hugetlbV1(r: Reader, s: Stats): void {
  for (const name of r.names()) {
    const size = /^hugetlb\.(\w+)\.limit_in_bytes$/.exec(name)?.[1]; // not the .rsvd. ones
    if (size === undefined) continue;
    s.hugetlb[size] = {
      usage: r.uint(`hugetlb.${size}.usage_in_bytes`) ?? 0n,
      max: r.uint(`hugetlb.${size}.max_usage_in_bytes`) ?? 0n,
      failcnt: r.uint(`hugetlb.${size}.failcnt`) ?? 0n,
    };
  }
}

// ---- cgroup v2 -------------------------------------------------------------------------------

function pidsV2(r: Reader, s: Stats): void {
  if (r.text("pids.current") !== undefined) return pidsStats(r, s);
  // No pids controller: count the processes instead (runc does).
  const procs = r.text("cgroup.procs") ?? "";
  s.pids = { current: BigInt(procs.split("\n").filter((l) => l !== "").length), limit: 0n };
}

function memoryV2(r: Reader, s: Stats): void {
  const raw = r.keyValues("memory.stat");
  if (raw === undefined) return;
  s.memory.raw = Object.fromEntries(raw);
  s.memory.cache = raw.get("file") ?? 0n;
  const usage = r.uint("memory.current");
  if (usage === undefined) return;
  s.memory.usage = { ...entry(), usage, limit: r.uint("memory.max") ?? 0n };
  const swapUsage = r.uint("memory.swap.current");
  const swap = swapUsage === undefined ? entry() : { ...entry(), usage: swapUsage, limit: r.uint("memory.swap.max") ?? 0n };
  // runc reports memory+swap here, as v1's memsw: its usage and limit include memory's (uint64
  // arithmetic, wrapping like Go's).
  swap.usage = (swap.usage + usage) & U64_MAX;
  if (swap.limit !== U64_MAX) swap.limit = (swap.limit + s.memory.usage.limit) & U64_MAX;
  s.memory.swap = swap;
}

function ioV2(r: Reader, s: Stats): void {
  const t = r.text("io.stat");
  if (t === undefined) return;
  const ops: Record<string, [string, (typeof BLKIO_KEYS)[number]]> = {
    rbytes: ["Read", "ioServiceBytesRecursive"],
    wbytes: ["Write", "ioServiceBytesRecursive"],
    rios: ["Read", "ioServicedRecursive"],
    wios: ["Write", "ioServicedRecursive"],
  };
  for (const line of t.split("\n")) {
    const [device, ...items] = line.trim().split(/\s+/);
    const [major, minor, extra] = (device ?? "").split(":");
    if (major === undefined || minor === undefined || extra !== undefined || items.length === 0) continue;
    for (const item of items) {
      const [k, v] = item.split("=");
      const op = ops[k ?? ""];
      if (op === undefined || v === undefined) continue;
      s.blkio[op[1]].push({ major: parseUint(major, "io.stat"), minor: parseUint(minor, "io.stat"), op: op[0], value: parseUint(v, "io.stat") });
    }
  }
}

function cpuV2(r: Reader, s: Stats): void {
  const stat = r.keyValues("cpu.stat");
  if (stat === undefined) return;
  const u = s.cpu.usage;
  u.total = (stat.get("usage_usec") ?? 0n) * 1000n;
  u.user = (stat.get("user_usec") ?? 0n) * 1000n;
  u.kernel = (stat.get("system_usec") ?? 0n) * 1000n;
  throttling(stat, s, 1000n, "throttled_usec");
}

function hugetlbV2(r: Reader, s: Stats): void {
  for (const name of r.names()) {
    const size = /^hugetlb\.(\w+)\.max$/.exec(name)?.[1]; // not the .rsvd. ones
    if (size === undefined) continue;
    const events = r.keyValues(`hugetlb.${size}.events`);
    s.hugetlb[size] = { usage: r.uint(`hugetlb.${size}.current`) ?? 0n, max: 0n, failcnt: events?.get("max") ?? 0n };
  }
}

/** Where each controller's counters are: v1 hierarchy directories, and the cgroup2 directory. */
export interface StatDirs {
  v1: Record<string, string>;
  v2?: string;
  /** Read these controllers from the cgroup2 directory even when v1 paths are given (hybrid). */
  v2Controllers?: readonly string[];
}

export function readStats(fsys: CgroupFs, dirs: StatDirs): Stats {
  const s = emptyStats();
  const v1 = (c: string) => (dirs.v1[c] === undefined ? undefined : new Reader(fsys, dirs.v1[c]));
  const v2 = dirs.v2 === undefined ? undefined : new Reader(fsys, dirs.v2);
  const onV2 = (c: string) => v2 !== undefined && (dirs.v2Controllers === undefined || dirs.v2Controllers.includes(c));
  // In runc's subsystem order.
  const steps: [string, (r: Reader, s: Stats) => void, (r: Reader, s: Stats) => void][] = [
    ["cpuset", cpusetV1, () => {}],
    ["memory", memoryV1, memoryV2],
    ["cpu", (r) => throttling(r.keyValues("cpu.stat"), s, 1n, "throttled_time"), cpuV2],
    ["cpuacct", cpuacctV1, () => {}],
    ["pids", pidsStats, pidsV2],
    ["blkio", blkioV1, ioV2],
    ["hugetlb", hugetlbV1, hugetlbV2],
  ];
  for (const [controller, readV1, readV2] of steps) {
    const r1 = v1(controller);
    if (r1 !== undefined) readV1(r1, s);
    else if (v2 !== undefined && onV2(controller)) readV2(v2, s);
  }
  return s;
}

// ---- JSON --------------------------------------------------------------------------------------

type Json = string | number | bigint | boolean | null | Json[] | { [k: string]: Json };

/** Go's `omitempty`: leave zero numbers, empty strings, empty slices and maps out. */
function put(obj: Record<string, Json>, key: string, value: Json, omitEmpty: boolean): void {
  const empty = value === 0n || value === 0 || value === "" || (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
  if (!omitEmpty || !empty) obj[key] = value;
}

const obj = (fields: [key: string, value: Json, omitEmpty: boolean][]): Record<string, Json> => {
  const o: Record<string, Json> = {};
  for (const [k, v, omit] of fields) put(o, k, v, omit);
  return o;
};

const sorted = <T>(m: Record<string, T>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function memoryEntryJson(e: MemoryEntry): Json {
  return obj([["limit", e.limit, false], ["usage", e.usage, true], ["max", e.max, true], ["failcnt", e.failcnt, false]]);
}

/** The stats as runc's types.Stats marshals them: same keys, same order, same omissions. */
export function statsJson(s: Stats): Json {
  const u = s.cpu.usage;
  const t = s.cpu.throttling;
  const c = s.cpuset;
  const blkio: [string, Json, boolean][] = BLKIO_KEYS.map((k) => [
    k,
    s.blkio[k].map((e) => obj([["major", e.major, true], ["minor", e.minor, true], ["op", e.op, true], ["value", e.value, true]])),
    true,
  ]);
  return obj([
    ["cpu", obj([
      ["usage", obj([["total", u.total, true], ["percpu", u.percpu, true], ["percpu_kernel", u.percpu_kernel, true], ["percpu_user", u.percpu_user, true], ["kernel", u.kernel, false], ["user", u.user, false]]), false],
      ["throttling", obj([["periods", t.periods, true], ["throttledPeriods", t.throttledPeriods, true], ["throttledTime", t.throttledTime, true]]), false],
    ]), false],
    ["cpuset", obj([
      ["cpus", c.cpus, true],
      ["cpu_exclusive", c.cpu_exclusive, false],
      ["mems", c.mems, true],
      ["mem_hardwall", c.mem_hardwall, false],
      ["mem_exclusive", c.mem_exclusive, false],
      ["memory_migrate", c.memory_migrate, false],
      ["memory_spread_page", c.memory_spread_page, false],
      ["memory_spread_slab", c.memory_spread_slab, false],
      ["memory_pressure", c.memory_pressure, false],
      ["sched_load_balance", c.sched_load_balance, false],
      ["sched_relax_domain_level", c.sched_relax_domain_level, false],
    ]), false],
    ["memory", obj([
      ["cache", s.memory.cache, true],
      ["usage", memoryEntryJson(s.memory.usage), false],
      ["swap", memoryEntryJson(s.memory.swap), false],
      ["kernel", memoryEntryJson(s.memory.kernel), false],
      ["kernelTCP", memoryEntryJson(s.memory.kernelTCP), false],
      ["raw", sorted(s.memory.raw), true],
    ]), false],
    ["pids", obj([["current", s.pids.current, true], ["limit", s.pids.limit, true]]), false],
    ["blkio", obj(blkio), false],
    ["hugetlb", sorted(Object.fromEntries(Object.entries(s.hugetlb).map(([k, h]) => [k, obj([["usage", h.usage, true], ["max", h.max, true], ["failcnt", h.failcnt, false]])]))), false],
    ["intel_rdt", {}, false],
    ["network_interfaces", null, false],
  ]);
}

/**
 * One line of `runc events` output: {"type":"stats","id":…,"data":…} or {"type":"oom","id":…},
 * with uint64 values written in full (JSON.stringify cannot write a bigint).
 */
export function encodeEvent(type: string, id: string, data?: Stats): string {
  const event: Record<string, Json> = { type, id };
  if (data !== undefined) event.data = statsJson(data);
  const marker = "\u0000bigint:";
  return JSON.stringify(event, (_k, v: unknown) => (typeof v === "bigint" ? `${marker}${v}` : v)).replace(/"\\u0000bigint:(-?\d+)"/g, "$1");
}
