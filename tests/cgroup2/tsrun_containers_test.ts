// bin/tsrun containers on a pure cgroup v2 kernel: run by tests/cgroup2/run.sh inside qemu with
// WITH_TSRUN=1 and a busybox rootfs at /work/rootfs (BUSYBOX_ROOTFS=1; `make test-cgroup2` sets
// both), skipped anywhere else. Every resource is checked twice: in the host's cgroup files, and
// from inside the container (through its cgroup namespace, and by what the kernel does to it).
// Under TCG each tsrun call costs up to a second, so a few containers carry many checks each.
// Everything lives under /sys/fs/cgroup/tsrun-c2-<tag>/ and a temporary --root; afterAll removes
// both, and the containers, even on failure.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { attachedPrograms } from "../../runtime/cgroups/devices_v2.ts";
import { detectLayout } from "../../runtime/cgroups/index.ts";
import { linuxKernel } from "../../runtime/cgroups/kernel_linux.ts";
import type { LinuxResources, Mount, Spec } from "../../spec/schema.ts";

const repo = join(import.meta.dir, "../..");
const TSRUN = join(repo, "bin/tsrun");
const ROOTFS = join(repo, "rootfs");
const CGROUP = "/sys/fs/cgroup";

const layout = detectLayout(CGROUP, readFileSync("/proc/self/mountinfo", "utf8"));
const skip =
  process.getuid?.() !== 0
    ? "needs root"
    : layout.kind !== "v2"
      ? `needs a pure cgroup v2 host, this one is ${layout.kind} (run tests/cgroup2/run.sh)`
      : !existsSync(TSRUN)
        ? `needs ${TSRUN} (run.sh WITH_TSRUN=1)`
        : !existsSync(join(ROOTFS, "bin/busybox"))
          ? `needs a busybox rootfs at ${ROOTFS} (run.sh BUSYBOX_ROOTFS=1)`
          : "";
if (skip) console.log(`skip tsrun container tests on cgroup v2: ${skip}`);

const tag = crypto.randomUUID().slice(0, 8);
const parent = `tsrun-c2-${tag}`; // every container's cgroup is below /sys/fs/cgroup/<parent>
const tmp = skip ? "" : mkdtempSync("/tmp/tsrun-c2-");
const stateRoot = join(tmp, "state");
const ids: string[] = [];
const background: ReturnType<typeof Bun.spawn>[] = [];
const ram0 = existsSync("/sys/block/ram0/dev"); // the lane's RAM disk, 1:0 (init.sh)
const hugetlb = existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB");

afterAll(async () => {
  if (skip) return;
  for (const p of background) {
    p.kill(9);
    await p.exited;
  }
  for (const id of ids) await tsrun(["delete", "--force", id]).catch(() => {});
  removeTree(join(CGROUP, parent));
  rmSync(tmp, { recursive: true, force: true });
});

/** rmdir a cgroup and whatever the containers made below it, deepest first. */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) if (statSync(join(dir, e)).isDirectory()) removeTree(join(dir, e));
  rmdirSync(dir);
}

let ioCount = 0;
interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The files that held stdout/stderr: a container created by the command keeps writing there. */
  outPath: string;
  errPath: string;
}

/** `tsrun --root <tmp> ...args`; stdout/stderr go to files, never pipes (a container inherits them). */
async function tsrun(args: string[], timeoutMs = 30_000): Promise<Ran> {
  const n = ioCount++;
  const outPath = join(tmp, `${n}.out`);
  const errPath = join(tmp, `${n}.err`);
  const out = openSync(outPath, "w+");
  const err = openSync(errPath, "w+");
  try {
    const p = Bun.spawn([TSRUN, "--root", stateRoot, ...args], { stdio: ["ignore", out, err], cwd: tmp });
    const timer = setTimeout(() => p.kill(9), timeoutMs);
    await p.exited;
    clearTimeout(timer);
    return { code: p.exitCode, stdout: readFileSync(outPath, "utf8"), stderr: readFileSync(errPath, "utf8"), outPath, errPath };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

async function ok(args: string[]): Promise<Ran> {
  const r = await tsrun(args);
  if (r.code !== 0) throw new Error(`tsrun ${args.join(" ")}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

async function state(id: string): Promise<{ status: string; pid?: number }> {
  return JSON.parse((await ok(["state", id])).stdout);
}

async function waitFor(what: () => string, pred: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await Bun.sleep(50);
  }
}

async function waitStatus(id: string, status: string): Promise<void> {
  let last = "";
  await waitFor(
    () => `${id} to be ${status} (last: ${last})`,
    async () => (last = (await state(id)).status) === status,
  );
}

/** Whether pid is a live process (not gone, not a zombie). */
function running(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] !== "Z";
  } catch {
    return false;
  }
}
const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8").trim();
/** "key value" lines (memory.events, cpu.stat, …) → the number for key. */
const field = (text: string, key: string) => Number(new RegExp(`(?:^|\\s)${key}[ =](\\d+)`).exec(text)?.[1] ?? NaN);

const mount = (destination: string, type: string, source: string, options: string[]): Mount => ({ destination, type, source, options });

/** A bundle running `sh -c script` on the shared read-only busybox rootfs. */
function bundle(name: string, script: string, edit: (c: Spec) => void): string {
  const dir = join(tmp, `bundle-${name}`);
  rmSync(dir, { recursive: true, force: true });
  Bun.spawnSync(["mkdir", "-p", dir]);
  const c: Spec = {
    ociVersion: "1.0.2",
    process: { terminal: false, user: { uid: 0, gid: 0 }, args: ["sh", "-c", script], env: ["PATH=/bin"], cwd: "/", noNewPrivileges: true },
    root: { path: ROOTFS, readonly: true },
    hostname: name,
    mounts: [
      mount("/proc", "proc", "proc", []),
      mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
      mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"]),
      mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]),
    ],
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }, { type: "ipc" }, { type: "uts" }] },
  };
  edit(c);
  writeFileSync(join(dir, "config.json"), JSON.stringify(c, null, 1));
  return dir;
}

const withCgroupns = (c: Spec) => c.linux!.namespaces!.push({ type: "cgroup" });
const cgroupMountRw = (c: Spec) => {
  const m = c.mounts!.find((x) => x.destination === "/sys/fs/cgroup")!;
  m.options = m.options!.filter((o) => o !== "ro");
};

/** create (with a running `tsrun events` when asked) and start; resolves once the script says DONE. */
async function startContainer(id: string, dir: string, opts: { events?: boolean } = {}) {
  ids.push(id);
  const created = await ok(["create", "--bundle", dir, id]);
  let eventsOut = "";
  if (opts.events) {
    eventsOut = join(tmp, `${id}.events`);
    const fd = openSync(eventsOut, "w+");
    background.push(Bun.spawn([TSRUN, "--root", stateRoot, "events", "--interval", "600s", id], { stdio: ["ignore", fd, fd] }));
    closeSync(fd);
  }
  await ok(["start", id]);
  let out = "";
  await waitFor(
    () => `${id} to say DONE (stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(readFileSync(created.errPath, "utf8"))})`,
    () => (out = readFileSync(created.outPath, "utf8")).includes("\nDONE\n") || out.startsWith("DONE\n"),
    50_000,
  );
  return { out, said: said(out), eventsOut };
}

/** The script's `say key value` lines (value: the rest of the line). */
function said(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const match = /^@(\S+) ?(.*)$/.exec(line);
    if (match) m.set(match[1]!, match[2]!);
  }
  return m;
}

// Shell helpers every script starts with: `say KEY VALUE...` prints "@KEY VALUE...".
const PRELUDE = `say() { k=$1; shift; echo "@$k $*"; }
mnt() { grep ' /sys/fs/cgroup ' /proc/self/mountinfo; }
`;

const MiB = 1 << 20;

describe.skipIf(skip !== "")("tsrun containers on cgroup v2", () => {
  // Container "limits": absolute cgroupsPath, its own cgroup namespace, the cgroup mount read-only
  // (runc spec's default), and every resource the VM can enforce.
  const limitsId = `limits-${tag}`;
  const limitsDir = join(CGROUP, parent, "limits");
  const files: Record<string, string> = {
    "memory.max": String(32 * MiB),
    "memory.swap.max": String(16 * MiB), // spec swap is memory+swap: 48 MiB − 32 MiB
    "memory.low": String(8 * MiB),
    "memory.min": String(4 * MiB), // unified
    "memory.swap.high": String(12 * MiB), // unified
    "pids.max": "12",
    "cpu.max": "50000 100000",
    // shares → weight by the quadratic in log2 space of runtime/cgroups/convert.ts (1024, v1's
    // default, → 100, v2's): 2048 → ⌈10^((11² + 125·11)/612 − 7/34)⌉ = 174.
    "cpu.weight": "174",
    "cpuset.cpus": "1",
    "cpuset.mems": "0",
    ...(hugetlb ? { "hugetlb.2MB.max": String(4 * MiB) } : {}),
    ...(ram0 ? { "io.max": `1:0 rbps=${MiB} wbps=max riops=max wiops=max` } : {}),
  };

  test("every resource is in the cgroup's v2 files, the container sees them, and the kernel enforces them", async () => {
    const resources: LinuxResources = {
      memory: { limit: 32 * MiB, swap: 48 * MiB, reservation: 8 * MiB },
      pids: { limit: 12 },
      cpu: { shares: 2048, quota: 50000, period: 100000, cpus: "1", mems: "0" },
      blockIO: { weight: 300, ...(ram0 ? { throttleReadBpsDevice: [{ major: 1, minor: 0, rate: MiB }] } : {}) },
      ...(hugetlb ? { hugepageLimits: [{ pageSize: "2MB", limit: 4 * MiB }] } : {}),
      unified: { "memory.min": String(4 * MiB), "memory.swap.high": String(12 * MiB) },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // /dev/full…
        { allow: false, type: "c", major: 1, minor: 7, access: "w" }, // …but not for writing: the later rule wins
        { allow: true, type: "c", major: 240, minor: 1, access: "rw" }, // fake1 (no driver: ENXIO); fake0 is in no rule
        { allow: true, type: "b", major: 1, minor: 0, access: "r" }, // ram0, read only
      ],
    };
    const script = `${PRELUDE}
say cgroup $(cat /proc/self/cgroup)
say mount $(mnt)
touch /sys/fs/cgroup/x 2>/dev/null; say touch $?
for f in ${Object.keys(files).join(" ")}; do say "file:$f" $(cat /sys/fs/cgroup/$f); done
say io.weight $(cat /sys/fs/cgroup/io.weight 2>/dev/null || cat /sys/fs/cgroup/io.bfq.weight)
say cpus_allowed $(grep Cpus_allowed_list /proc/self/status | cut -f2)
head -c1 /dev/zero >/dev/null; say zero $?
head -c1 /dev/full >/dev/null; say fullread $?
say fullwrite $( (echo x >/dev/full) 2>&1)
say fake0 $(cat /dev/fake0 2>&1)
say fake1 $(cat /dev/fake1 2>&1)
# pids.max 12: sleeps until fork fails, in a subshell (ash gives up the shell that cannot fork)
# whose exit trap kills and reaps them, so that the pids are free again afterwards.
( pids=; trap 'kill $pids; wait' EXIT
  i=0; while [ $i -lt 30 ]; do sleep 1000 & pids="$pids $!"; i=$((i+1)); echo started; done; echo all ) >/tmp/forks 2>&1
say started $(grep -c '^started$' /tmp/forks)
say forkfail $(grep -c "can't fork" /tmp/forks)
say all $(grep -c '^all$' /tmp/forks)
# memory.max 32 MiB: dd's 64 MiB buffer draws the OOM killer.
dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; say hog $?
say oom_kill $(grep oom_kill /sys/fs/cgroup/memory.events)
# cpu.max 50%: a second of busy loop is throttled.
timeout 1 sh -c 'while :; do :; done'
say throttled $(grep nr_throttled /sys/fs/cgroup/cpu.stat)
if [ -e /dev/ram0 ]; then
  # O_DIRECT: buffered reads of brd are served without a bio, so blk-throttle never sees them.
  t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/ram0 of=/dev/null bs=64k count=32 iflag=direct 2>/dev/null; say ram0read $?
  say ram0secs $(cut -d' ' -f1 /proc/uptime) $t0
  say ram0write $( (echo x >/dev/ram0) 2>&1)
fi
echo DONE
exec sleep 100000
`;
    const dir = bundle("limits", script, (c) => {
      withCgroupns(c);
      c.linux!.cgroupsPath = `/${parent}/limits`;
      c.linux!.resources = resources;
      c.linux!.devices = [
        { path: "/dev/full", type: "c", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 }, // redefined: no default allow rule
        { path: "/dev/fake0", type: "c", major: 240, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
        { path: "/dev/fake1", type: "c", major: 240, minor: 1, fileMode: 0o666, uid: 0, gid: 0 },
        ...(ram0 ? [{ path: "/dev/ram0", type: "b" as const, major: 1, minor: 0, fileMode: 0o660, uid: 0, gid: 0 }] : []),
      ];
    });
    const { out, said: s, eventsOut } = await startContainer(limitsId, dir, { events: true });
    const why = `container output:\n${out}`;
    const pid = (await state(limitsId)).pid!;
    expect(read(limitsDir, "cgroup.procs").split("\n"), why).toContain(String(pid));

    // The cgroup namespace: the container's cgroup is its root, mounted as cgroup2, read-only.
    expect(s.get("cgroup"), why).toBe("0::/");
    const mountLine = s.get("mount") ?? "";
    expect(mountLine.split(" - ")[1], why).toStartWith("cgroup2 ");
    expect(mountLine.split(" ")[3], why).toBe("/");
    expect(mountLine.split(" ")[5]?.split(","), why).toContain("ro");
    expect(s.get("touch"), why).toBe("1");

    // Each file, on the host and as the container reads it.
    for (const [file, value] of Object.entries(files)) {
      expect(`${file}: ${read(limitsDir, file)}`).toBe(`${file}: ${value}`);
      expect(`${file}: ${s.get(`file:${file}`)}`, why).toBe(`${file}: ${value}`);
    }
    // blkio weight 300 → io.weight 1 + (300 − 10)·9999/990 = 2930 (or BFQ's own scale).
    const ioWeight = existsSync(join(limitsDir, "io.bfq.weight")) ? read(limitsDir, "io.bfq.weight") : read(limitsDir, "io.weight");
    expect(ioWeight).toMatch(existsSync(join(limitsDir, "io.bfq.weight")) ? /300/ : /^default 2930$/);
    expect(s.get("io.weight"), why).toBe(ioWeight.replace(/\n/g, " "));
    expect(s.get("cpus_allowed"), why).toBe("1");

    // Devices: one eBPF program on the cgroup. /dev/zero by the default rules; /dev/full read, but
    // its write denied by the later rule (EPERM, not the driver's ENOSPC); fake0 by the default deny
    // (EPERM before any driver), while fake1 reaches its (absent) driver.
    const fd = linuxKernel.openDir(limitsDir);
    try {
      expect(attachedPrograms(linuxKernel, fd)).toHaveLength(1);
    } finally {
      linuxKernel.close(fd);
    }
    expect(s.get("zero"), why).toBe("0");
    expect(s.get("fullread"), why).toBe("0");
    expect(s.get("fullwrite"), why).toMatch(/Operation not permitted/);
    expect(s.get("fake0"), why).toMatch(/Operation not permitted/);
    expect(s.get("fake1"), why).toMatch(/No such device or address/);

    // pids: some sleeps started, then fork failed, and the kernel counted it.
    const started = Number(s.get("started"));
    expect(started, why).toBeGreaterThanOrEqual(1);
    expect(started, why).toBeLessThan(12);
    expect(Number(s.get("forkfail")), why).toBeGreaterThanOrEqual(1);
    expect(s.get("all"), why).toBe("0");
    expect(field(read(limitsDir, "pids.events"), "max")).toBeGreaterThanOrEqual(1);

    // memory: the hog was SIGKILLed by the OOM killer, seen inside, on the host and by `tsrun events`.
    expect(s.get("hog"), why).toBe("137");
    expect(field(s.get("oom_kill") ?? "", "oom_kill"), why).toBeGreaterThanOrEqual(1);
    expect(field(read(limitsDir, "memory.events"), "oom_kill")).toBeGreaterThanOrEqual(1);
    await waitFor(
      () => `an oom event from tsrun events (got ${JSON.stringify(readFileSync(eventsOut, "utf8"))})`,
      () => readFileSync(eventsOut, "utf8").includes(`{"type":"oom","id":"${limitsId}"`),
      15_000,
    );

    // cpu: throttled, inside and out.
    expect(field(s.get("throttled") ?? "", "nr_throttled"), why).toBeGreaterThan(0);
    expect(field(read(limitsDir, "cpu.stat"), "nr_throttled")).toBeGreaterThan(0);

    // io: 2 MiB at 1 MiB/s takes about 2 s (0.05 s unthrottled); the reads are accounted to the
    // container's cgroup; the write was refused by the devices program.
    if (ram0) {
      expect(s.get("ram0read"), why).toBe("0");
      const [end, begin] = (s.get("ram0secs") ?? "").split(" ").map(Number);
      expect(end! - begin!, why).toBeGreaterThan(1.2);
      expect(field(read(limitsDir, "io.stat"), "rbytes")).toBeGreaterThanOrEqual(2 * MiB);
      expect(s.get("ram0write"), why).toMatch(/Operation not permitted/);
    }
  });

  test("exec joins the cgroup; pause/resume freeze it; events --stats; update; kill --all; delete", async () => {
    const st = await state(limitsId);
    expect(st.status).toBe("running");

    // exec: in the container's cgroup namespace, and in its cgroup on the host.
    expect((await ok(["exec", limitsId, "cat", "/proc/self/cgroup"])).stdout).toBe("0::/\n");
    const pidFile = join(tmp, "exec.pid");
    await ok(["exec", "--detach", "--pid-file", pidFile, limitsId, "sleep", "100000"]);
    const execPid = readFileSync(pidFile, "utf8").trim();
    expect(readFileSync(`/proc/${execPid}/cgroup`, "utf8")).toBe(`0::/${parent}/limits\n`);
    expect(read(limitsDir, "cgroup.procs").split("\n").sort()).toEqual([String(st.pid), execPid].sort());

    // pause/resume: cgroup.freeze, and the kernel's own word in cgroup.events.
    await ok(["pause", limitsId]);
    expect((await state(limitsId)).status).toBe("paused");
    expect(read(limitsDir, "cgroup.freeze")).toBe("1");
    expect(field(read(limitsDir, "cgroup.events"), "frozen")).toBe(1);
    await ok(["resume", limitsId]);
    expect((await state(limitsId)).status).toBe("running");
    expect(read(limitsDir, "cgroup.freeze")).toBe("0");
    expect(field(read(limitsDir, "cgroup.events"), "frozen")).toBe(0);

    // events --stats: one JSON object in runc's shape, from the v2 files.
    const ev = JSON.parse((await ok(["events", "--stats", limitsId])).stdout);
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe(limitsId);
    expect(ev.data.memory.usage.limit).toBe(32 * MiB);
    expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
    expect(ev.data.pids).toEqual({ current: 2, limit: 12 });
    expect(ev.data.cpu.usage.total).toBeGreaterThan(0);
    expect(ev.data.cpu.throttling.throttledPeriods).toBeGreaterThan(0);
    if (hugetlb) expect(Object.keys(ev.data.hugetlb)).toContain("2MB");

    // update: memory, swap, pids and cpu in the files, and as the container reads them; the
    // config's unified keys stay.
    await ok(["update", "--memory", "64M", "--memory-swap", "96M", "--pids-limit", "30", "--cpu-quota", "20000", "--cpu-period", "100000", "--cpu-share", "512", limitsId]);
    const updated: Record<string, string> = {
      "memory.max": String(64 * MiB),
      "memory.swap.max": String(32 * MiB),
      "pids.max": "30",
      "cpu.max": "20000 100000",
      "cpu.weight": "59", // ⌈10^((9² + 125·9)/612 − 7/34)⌉
      "memory.min": String(4 * MiB),
    };
    const names = Object.keys(updated);
    const inside = (await ok(["exec", limitsId, "sh", "-c", `cd /sys/fs/cgroup && cat ${names.join(" ")}`])).stdout.trim().split("\n");
    names.forEach((file, i) => {
      expect(`${file}: ${read(limitsDir, file)}`).toBe(`${file}: ${updated[file]}`);
      expect(`${file}: ${inside[i]}`).toBe(`${file}: ${updated[file]}`);
    });

    // kill --all: everything in the cgroup dies, the exec'd sleep too.
    await ok(["kill", "--all", limitsId, "KILL"]);
    await waitStatus(limitsId, "stopped");
    await waitFor(() => "the cgroup to empty", () => read(limitsDir, "cgroup.procs") === "");
    expect(running(execPid)).toBe(false);

    // delete: the cgroup and the state go.
    await ok(["delete", limitsId]);
    expect(existsSync(limitsDir)).toBe(false);
    expect((await tsrun(["state", limitsId])).code).not.toBe(0);
  });

  test("relative cgroupsPath, a writable cgroup namespace: a sub-cgroup is paused, killed and deleted with the container", async () => {
    // Relative on pure v2: below the parent of the runtime's own cgroup (which holds processes, so
    // could not delegate controllers).
    const own = readFileSync("/proc/self/cgroup", "utf8").trim().replace(/^0::/, "");
    const dirOnHost = join(CGROUP, dirname(own), parent, "rel");
    const id = `rel-${tag}`;
    const script = `${PRELUDE}
say mount $(mnt)
mkdir /sys/fs/cgroup/sub && echo $$ >/sys/fs/cgroup/sub/cgroup.procs; say moved $?
say cgroup $(cat /proc/self/cgroup)
sleep 100000 &
echo DONE
exec sleep 100000
`;
    const dir = bundle("rel", script, (c) => {
      withCgroupns(c);
      cgroupMountRw(c);
      c.linux!.cgroupsPath = `${parent}/rel`;
      c.linux!.resources = { pids: { limit: 20 } };
    });
    const { out, said: s } = await startContainer(id, dir);
    const why = `container output:\n${out}`;
    expect(s.get("mount")?.split(" ")[5]?.split(","), why).toContain("rw");
    expect(s.get("moved"), why).toBe("0");
    expect(s.get("cgroup"), why).toBe("0::/sub");
    expect(read(dirOnHost, "pids.max")).toBe("20");
    expect(read(dirOnHost, "cgroup.procs")).toBe("");
    expect(read(join(dirOnHost, "sub"), "cgroup.procs").split("\n")).toHaveLength(2);

    await ok(["pause", id]);
    expect((await state(id)).status).toBe("paused");
    expect(field(read(join(dirOnHost, "sub"), "cgroup.events"), "frozen")).toBe(1);
    await ok(["resume", id]);
    expect(field(read(join(dirOnHost, "sub"), "cgroup.events"), "frozen")).toBe(0);

    // cgroup.kill takes the whole subtree; signalling the top cgroup's cgroup.procs would find nobody.
    await ok(["kill", "--all", id, "KILL"]);
    await waitStatus(id, "stopped");
    await waitFor(() => "the sub-cgroup to empty", () => read(join(dirOnHost, "sub"), "cgroup.procs") === "");
    await ok(["delete", id]);
    expect(existsSync(dirOnHost)).toBe(false);
  });

  test("empty cgroupsPath, no cgroup namespace: the host's path, /sys/fs/cgroup read-only; run removes the cgroup", async () => {
    const id = `empty-${tag}`;
    ids.push(id);
    const script = `${PRELUDE}
say cgroup $(cat /proc/self/cgroup)
say mount $(mnt)
touch /sys/fs/cgroup/x 2>/dev/null; say touch $?
say procs $(cat /sys/fs/cgroup/cgroup.procs)
`;
    const dir = bundle("empty", script, () => {});
    const r = await tsrun(["run", "--bundle", dir, id]);
    const why = `exit ${r.code}: ${r.stdout}${r.stderr}`;
    expect(r.code, why).toBe(0);
    const s = said(r.stdout);
    expect(s.get("cgroup"), why).toBe(`0::/${id}`); // the id, at the hierarchy's root
    const mountLine = s.get("mount") ?? "";
    expect(mountLine.split(" - ")[1], why).toStartWith("cgroup2 ");
    expect(mountLine.split(" ")[3], why).toBe(`/${id}`); // only the container's own cgroup is visible
    expect(mountLine.split(" ")[5]?.split(","), why).toContain("ro");
    expect(s.get("touch"), why).toBe("1");
    expect(s.get("procs")?.split(" "), why).toContain("1"); // the pid namespace's view of its cgroup (sh, cat)
    expect(existsSync(join(CGROUP, id))).toBe(false);
  });

  // design.md §6 (CVE-2023-25809): without its own cgroup namespace a container must not be able
  // to write /sys/fs/cgroup, whatever the mount options say — else root in it lifts its own limits.
  test("no cgroup namespace: /sys/fs/cgroup stays read-only even when the mount asks for rw", async () => {
    const id = `rw-${tag}`;
    ids.push(id);
    const script = `${PRELUDE}
say mount $(mnt)
echo max >/sys/fs/cgroup/memory.max 2>/dev/null; say write $?
say memory.max $(cat /sys/fs/cgroup/memory.max)
`;
    const dir = bundle("rw", script, (c) => {
      cgroupMountRw(c);
      c.linux!.cgroupsPath = `/${parent}/rw`;
      c.linux!.resources = { memory: { limit: 32 * MiB } };
    });
    const r = await tsrun(["run", "--bundle", dir, id]);
    const why = `exit ${r.code}: ${r.stdout}${r.stderr}`;
    expect(r.code, why).toBe(0);
    const s = said(r.stdout);
    expect(s.get("mount")?.split(" ")[5]?.split(","), why).toContain("ro");
    expect(s.get("write"), why).not.toBe("0");
    expect(s.get("memory.max"), why).toBe(String(32 * MiB));
  });
});
