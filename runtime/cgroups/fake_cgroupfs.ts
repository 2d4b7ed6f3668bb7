// Test support: a tmpdir laid out like /sys/fs/cgroup, and a CgroupFs over it that behaves like
// cgroupfs where our code depends on it. Not used outside tests.
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import type { CgroupFs } from "./files.ts";
import { hostFs } from "./files.ts";
import { detectLayout } from "./layout.ts";
import type { Layout, Mount } from "./types.ts";

const UNLIMITED = "9223372036854771712";

// Control files a new v1 cgroup gets, per controller, with the kernel's defaults.
const V1_FILES: Record<string, Record<string, string>> = {
  memory: {
    "memory.limit_in_bytes": UNLIMITED,
    "memory.memsw.limit_in_bytes": UNLIMITED,
    "memory.soft_limit_in_bytes": UNLIMITED,
    "memory.usage_in_bytes": "0",
    "memory.max_usage_in_bytes": "0",
    "memory.failcnt": "0",
    "memory.memsw.usage_in_bytes": "0",
    "memory.memsw.max_usage_in_bytes": "0",
    "memory.memsw.failcnt": "0",
    "memory.swappiness": "60",
    "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    "memory.stat": "cache 0\nrss 0\nhierarchical_memory_limit 9223372036854771712\n",
    "memory.use_hierarchy": "1",
    "cgroup.event_control": "",
  },
  cpu: {
    "cpu.shares": "1024",
    "cpu.cfs_period_us": "100000",
    "cpu.cfs_quota_us": "-1",
    "cpu.cfs_burst_us": "0",
    "cpu.idle": "0",
    "cpu.rt_period_us": "1000000",
    "cpu.rt_runtime_us": "0",
    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
  },
  cpuacct: {
    "cpuacct.usage": "0",
    "cpuacct.stat": "user 0\nsystem 0\n",
    "cpuacct.usage_percpu": "0 0 \n",
    "cpuacct.usage_all": "cpu user system\n0 0 0\n1 0 0\n",
  },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpu_exclusive": "0", "cpuset.sched_relax_domain_level": "-1" },
  pids: { "pids.max": "max", "pids.current": "0" },
  devices: { "devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm" },
  freezer: { "freezer.state": "THAWED", "freezer.self_freezing": "0", "freezer.parent_freezing": "0" },
  // This host's: BFQ, no CFQ (so no blkio.weight or leaf weights).
  blkio: {
    "blkio.bfq.weight": "100",
    "blkio.bfq.weight_device": "",
    "blkio.throttle.read_bps_device": "",
    "blkio.throttle.write_bps_device": "",
    "blkio.throttle.read_iops_device": "",
    "blkio.throttle.write_iops_device": "",
    "blkio.throttle.io_serviced": "",
    "blkio.throttle.io_service_bytes": "",
  },
  hugetlb: {
    "hugetlb.2MB.limit_in_bytes": UNLIMITED,
    "hugetlb.2MB.rsvd.limit_in_bytes": UNLIMITED,
    "hugetlb.2MB.usage_in_bytes": "0",
    "hugetlb.2MB.max_usage_in_bytes": "0",
    "hugetlb.2MB.failcnt": "0",
  },
  net_cls: { "net_cls.classid": "0" },
  net_prio: { "net_prio.ifpriomap": "lo 0\n", "net_prio.prioidx": "1" },
  rdma: { "rdma.max": "mlx5_0 hca_handle=max hca_object=max\n", "rdma.current": "mlx5_0 hca_handle=0 hca_object=0\n" },
};
const V1_CORE = { "cgroup.procs": "", tasks: "", notify_on_release: "0", "cgroup.clone_children": "0" };

// Control files a v2 cgroup gets for each controller its parent delegates.
const V2_FILES: Record<string, Record<string, string>> = {
  memory: {
    "memory.max": "max",
    "memory.low": "0",
    "memory.swap.max": "max",
    "memory.current": "0",
    "memory.swap.current": "0",
    "memory.stat": "anon 0\nfile 0\n",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
  },
  cpu: { "cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0", "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n" },
  cpuset: { "cpuset.cpus": "", "cpuset.mems": "" },
  pids: { "pids.max": "max", "pids.current": "0" },
  io: { "io.max": "", "io.weight": "default 100", "io.stat": "" },
  hugetlb: {
    "hugetlb.2MB.max": "max",
    "hugetlb.2MB.rsvd.max": "max",
    "hugetlb.2MB.current": "0",
    "hugetlb.2MB.events": "max 0\n",
    "hugetlb.1GB.max": "max",
    "hugetlb.1GB.current": "0",
    "hugetlb.1GB.events": "max 0\n",
  },
  rdma: { "rdma.max": "mlx5_0 hca_handle=max hca_object=max\n", "rdma.current": "mlx5_0 hca_handle=0 hca_object=0\n" },
};
const V2_CORE = {
  "cgroup.procs": "",
  "cgroup.subtree_control": "",
  "cgroup.type": "domain",
  "cgroup.freeze": "0",
  "cgroup.events": "populated 0\nfrozen 0\n",
  "cgroup.kill": "",
};
const V2_ALL = "cpuset cpu io memory hugetlb pids rdma misc";

export function nodeError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: fake, ${syscall} '${path}'`), { code, syscall, path });
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(join(dir, name), content);
}

export class FakeCgroupFs implements CgroupFs {
  /** Every write, in order, as (path, value). */
  readonly writes: { path: string; value: string }[] = [];
  /** File name or full path → errno code its next writes fail with. */
  readonly failWrites = new Map<string, string>();
  /** Directory → how many more rmdir calls report EBUSY. */
  readonly busyRmdirs = new Map<string, number>();
  /** File name → what the kernel stores for a written value (to model clamping). */
  readonly stored = new Map<string, (value: string) => string>();
  /** File name → what a read returns instead of the file's content (to model FREEZING and the like). */
  readonly reads = new Map<string, (content: string) => string>();

  constructor(readonly layout: Layout) {}

  /** Writes under `dir`, as "relative/path=value" strings, for compact assertions. */
  writesUnder(dir: string): string[] {
    return this.writes
      .filter((w) => w.path.startsWith(dir + "/"))
      .map((w) => `${relative(dir, w.path)}=${w.value}`);
  }

  private mountOf(dir: string): Mount | undefined {
    const mounts = [...Object.values(this.layout.v1), ...(this.layout.unified ? [this.layout.unified] : [])];
    return mounts
      .filter((m) => dir === m.dir || dir.startsWith(m.dir + "/"))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
  }

  read(path: string): string {
    const content = hostFs.read(path);
    return this.reads.get(basename(path))?.(content) ?? content;
  }

  write(path: string, value: string): void {
    this.writes.push({ path, value });
    const failure = this.failWrites.get(path) ?? this.failWrites.get(basename(path));
    if (failure !== undefined) throw nodeError(failure, "write", path);
    if (!fs.existsSync(path)) throw nodeError("ENOENT", "open", path);
    const name = basename(path);
    if (name === "cgroup.procs") {
      fs.appendFileSync(path, `${value}\n`);
    } else if (name === "cgroup.subtree_control") {
      this.writeSubtreeControl(path, value);
    } else if (name === "cgroup.freeze") {
      // The kernel reports the new state in cgroup.events once every task has stopped: here, at once.
      fs.writeFileSync(path, value);
      const events = join(dirname(path), "cgroup.events");
      fs.writeFileSync(events, fs.readFileSync(events, "utf8").replace(/^frozen \d$/m, `frozen ${value.trim()}`));
    } else if (name === "freezer.state") {
      fs.writeFileSync(path, value);
      fs.writeFileSync(join(dirname(path), "freezer.self_freezing"), value === "FROZEN" ? "1" : "0");
    } else if (name === "devices.allow" || name === "devices.deny") {
      fs.writeFileSync(path, value);
      this.updateDevicesList(join(dirname(path), "devices.list"), name === "devices.allow", value);
    } else {
      fs.writeFileSync(path, this.stored.get(name)?.(value) ?? value);
    }
  }

  // The kernel's devices.list: "a *:* rwm" in allow-all mode (exceptions invisible), else the
  // allowed entries. Enough of devcgroup_update_access for exact-match rules.
  private updateDevicesList(list: string, allow: boolean, rule: string): void {
    if (rule === "a") {
      fs.writeFileSync(list, allow ? "a *:* rwm\n" : "");
      return;
    }
    const lines = fs.readFileSync(list, "utf8").split("\n").filter((l) => l !== "");
    if (lines[0]?.startsWith("a ")) return; // allow-all: deny exceptions are not listed
    const [type, numbers, access = ""] = rule.split(" ");
    const prefix = `${type} ${numbers} `;
    const old = lines.find((l) => l.startsWith(prefix))?.slice(prefix.length) ?? "";
    const next = [..."rwm"].filter((p) => (allow ? old.includes(p) || access.includes(p) : old.includes(p) && !access.includes(p))).join("");
    const kept = lines.filter((l) => !l.startsWith(prefix));
    fs.writeFileSync(list, [...kept, ...(next ? [prefix + next] : [])].map((l) => l + "\n").join(""));
  }

  // Like the kernel: only controllers the cgroup has can be delegated, and (below the root) not while
  // it holds processes itself.
  private writeSubtreeControl(path: string, value: string): void {
    const dir = dirname(path);
    const available = fs.readFileSync(join(dir, "cgroup.controllers"), "utf8").split(/\s+/);
    const enabled = new Set(fs.readFileSync(path, "utf8").split(/\s+/).filter((c) => c !== ""));
    for (const token of value.split(/\s+/)) {
      const controller = token.slice(1);
      if (!available.includes(controller)) throw nodeError("ENOENT", "write", path);
      if (dir !== this.layout.unified?.dir && fs.readFileSync(join(dir, "cgroup.procs"), "utf8").trim() !== "") {
        throw nodeError("EBUSY", "write", path);
      }
      if (token.startsWith("+")) enabled.add(controller);
      else enabled.delete(controller);
    }
    const before = new Set(fs.readFileSync(path, "utf8").split(/\s+/));
    const delegated = [...enabled].join(" ");
    fs.writeFileSync(path, delegated);
    // Children see the change at once: their cgroup.controllers and the new controllers' files.
    for (const child of this.subdirs(dir)) {
      fs.writeFileSync(join(dir, child, "cgroup.controllers"), delegated);
      for (const c of enabled) if (!before.has(c)) writeFiles(join(dir, child), V2_FILES[c] ?? {});
    }
  }

  mkdir(path: string): void {
    const mount = this.mountOf(path);
    fs.mkdirSync(path);
    if (mount === undefined) return;
    if (mount === this.layout.unified) {
      const delegated = fs.readFileSync(join(dirname(path), "cgroup.subtree_control"), "utf8").trim();
      writeFiles(path, { ...V2_CORE, "cgroup.controllers": delegated });
      for (const c of delegated.split(/\s+/)) writeFiles(path, V2_FILES[c] ?? {});
      return;
    }
    writeFiles(path, V1_CORE);
    for (const [controller, m] of Object.entries(this.layout.v1)) {
      if (m === mount) writeFiles(path, V1_FILES[controller] ?? {});
    }
    // A new v1 devices cgroup starts as a copy of its parent's list.
    if (fs.existsSync(join(path, "devices.list"))) {
      fs.copyFileSync(join(dirname(path), "devices.list"), join(path, "devices.list"));
    }
  }

  rmdir(path: string): void {
    const busy = this.busyRmdirs.get(path) ?? 0;
    if (busy > 0) {
      this.busyRmdirs.set(path, busy - 1);
      throw nodeError("EBUSY", "rmdir", path);
    }
    if (!fs.existsSync(path)) throw nodeError("ENOENT", "rmdir", path);
    // cgroupfs: control files do not count, child cgroups and member processes do.
    if (this.subdirs(path).length > 0) throw nodeError("EBUSY", "rmdir", path);
    const procs = join(path, "cgroup.procs");
    if (fs.existsSync(procs) && fs.readFileSync(procs, "utf8").trim() !== "") throw nodeError("EBUSY", "rmdir", path);
    fs.rmSync(path, { recursive: true });
  }

  exists(path: string): boolean {
    return hostFs.exists(path);
  }

  subdirs(path: string): string[] {
    return hostFs.subdirs(path);
  }

  list(path: string): string[] {
    return hostFs.list(path);
  }
}

export interface FakeHost {
  root: string;
  mountinfo: string;
  layout: Layout;
  fs: FakeCgroupFs;
  /** Every directory under the root, relative, sorted: to check that nothing is left behind. */
  tree(): string[];
  cleanup(): void;
}

// Hierarchies of a typical systemd-era v1 host: cpu and cpuacct co-mounted, plus name=systemd.
const V1_MOUNTS: [dir: string, options: string][] = [
  ["cpu,cpuacct", "rw,cpu,cpuacct"],
  ["cpuset", "rw,cpuset"],
  ["memory", "rw,memory"],
  ["devices", "rw,devices"],
  ["freezer", "rw,freezer"],
  ["blkio", "rw,blkio"],
  ["pids", "rw,pids"],
  ["systemd", "rw,xattr,name=systemd"],
];

// Hierarchies some v1 hosts have besides: hugetlb, net_cls and net_prio co-mounted, rdma.
const V1_EXTRA_MOUNTS: [dir: string, options: string][] = [
  ["hugetlb", "rw,hugetlb"],
  ["net_cls,net_prio", "rw,net_cls,net_prio"],
  ["rdma", "rw,rdma"],
];

/** Mountinfo text for a v1, hybrid or v2 host with its cgroup root at `root`. */
export function sampleMountinfo(kind: "v1" | "hybrid" | "v2", root: string, extra = false): string {
  const lines = [`25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw`];
  if (kind === "v2") {
    lines.push(`31 25 0:26 / ${root} rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate`);
    return lines.join("\n") + "\n";
  }
  lines.push(`30 25 0:25 / ${root} ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755`);
  let id = 32;
  if (kind === "hybrid") {
    lines.push(`${id++} 30 0:26 / ${root}/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate`);
  }
  for (const [dir, options] of extra ? [...V1_MOUNTS, ...V1_EXTRA_MOUNTS] : V1_MOUNTS) {
    lines.push(`${id} 30 0:${id} / ${root}/${dir} rw,nosuid shared:${id} - cgroup cgroup ${options}`);
    id++;
  }
  return lines.join("\n") + "\n";
}

/**
 * A fresh tmpdir cgroup root for `kind`, with root-level control files in place. `extra` adds the
 * hugetlb, net_cls,net_prio and rdma hierarchies (v1 and hybrid).
 */
export function fakeHost(kind: "v1" | "hybrid" | "v2", extra = false): FakeHost {
  // tmpfs when there is one: these trees are thousands of tiny files, slow on a journaling disk.
  const root = fs.mkdtempSync(join(fs.existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "tsrun-cgroup-test-"));
  const mountinfo = sampleMountinfo(kind, root, extra);
  const layout = detectLayout(root, mountinfo);
  if (layout.unified !== undefined) {
    const dir = layout.unified.dir;
    fs.mkdirSync(dir, { recursive: true });
    writeFiles(dir, { ...V2_CORE, "cgroup.controllers": kind === "v2" ? V2_ALL : "hugetlb" });
  }
  const seen = new Set<Mount>();
  for (const [controller, mount] of Object.entries(layout.v1)) {
    fs.mkdirSync(mount.dir, { recursive: true });
    if (!seen.has(mount)) writeFiles(mount.dir, V1_CORE);
    seen.add(mount);
    const files = { ...V1_FILES[controller] };
    delete files["pids.max"]; // the root cgroup has no limits of its own
    if (controller === "cpuset") Object.assign(files, { "cpuset.cpus": "0-3", "cpuset.mems": "0" });
    writeFiles(mount.dir, files);
  }
  const tree = () =>
    (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
      .filter((e) => e.isDirectory())
      .map((e) => relative(root, join(e.parentPath, e.name)))
      .sort();
  return {
    root,
    mountinfo,
    layout,
    fs: new FakeCgroupFs(layout),
    tree,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** /proc/self/cgroup text for the fake hosts, with the runtime in `own` in every hierarchy. */
export function sampleSelfCgroup(kind: "v1" | "hybrid" | "v2", own = "/"): string {
  const v1 = [
    "9:name=systemd",
    "8:pids",
    "7:blkio",
    "6:freezer",
    "5:devices",
    "4:memory",
    "3:cpuset",
    "2:cpu,cpuacct",
  ].map((h) => `${h}:${own}`);
  const v2 = [`0::${own}`];
  return (kind === "v2" ? v2 : kind === "hybrid" ? [...v1, ...v2] : v1).join("\n") + "\n";
}
