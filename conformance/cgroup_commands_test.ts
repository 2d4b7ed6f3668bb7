// runc's commands that work through the container's cgroup: pause, resume, ps, events --stats,
// update, kill --all and delete --force. Effects are read from the host: the freezer, the
// processes' state in /proc, the cgroup's limit files. This host is hybrid (v1 controllers plus
// cgroup2 at /sys/fs/cgroup/unified); the v2 file names are used on a cgroup2-only host.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { sh, type Resources } from "./lib/config.ts";
import { IDLE, procState, started, type Started } from "./lib/container.ts";
import { conform, expectFailure, explain, readText, waitFor, waitForText, type Ctx } from "./lib/harness.ts";
import { cgroupDir, cgroupDirsOf, isAlive, isCgroup2Only, waitGone } from "./lib/host.ts";

const V2 = isCgroup2Only();

function cgRead(controller: string, rel: string, file: string): string {
  return fs.readFileSync(path.join(cgroupDir(controller, rel), file), "utf8").trim();
}

/** Whether the container's cgroup reports itself frozen. */
function frozen(rel: string): boolean {
  if (V2) return /^frozen 1$/m.test(cgRead("", rel, "cgroup.events"));
  return cgRead("freezer", rel, "freezer.state") === "FROZEN";
}

/** Host pids of the children of `pid` (its main thread's). */
function childrenOf(pid: number): number[] {
  return readText(`/proc/${pid}/task/${pid}/children`)
    .trim()
    .split(/\s+/)
    .filter((x) => x !== "")
    .map(Number);
}

/**
 * `exec --detach --pid-file` a script into the container; wait for it to print `ready` and, when
 * the script ends by exec'ing a command, for `/proc/<pid>/cmdline` to show `execs`.
 */
async function execDetached(t: Ctx, c: Started, script: string, ready: string, execs?: string): Promise<{ pid: number; out: string }> {
  const pidFile = path.join(t.tmp, `exec-${Date.now()}-${Math.random()}.pid`);
  const r = await t.ok(["exec", "--detach", "--pid-file", pidFile, c.id, "sh", "-c", script]);
  await waitForText(r.outPath, ready);
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  if (execs !== undefined) {
    const cmdline = (): string => readText(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
    await waitFor(() => cmdline() === execs, 10_000, () => `pid ${pid} to exec ${execs} (${JSON.stringify(cmdline())})`);
  }
  return { pid, out: r.outPath };
}

/** The container's pids: pid 1, its children, and the given extra ones. */
function expectedPids(c: Started, extra: number[] = []): number[] {
  return [c.pid, ...childrenOf(c.pid), ...extra].sort((a, b) => a - b);
}

conform("pause: the state is paused and every process is frozen; resume thaws them", async (t) => {
  const c = await started(t, `trap 'echo got-USR1' USR1; ${IDLE}`);
  const sleeper = childrenOf(c.pid)[0] ?? 0;
  expect(sleeper).toBeGreaterThan(0);
  await t.ok(["pause", c.id]);
  expect((await t.state(c.id)).status).toBe("paused");
  expect(frozen(c.b.cgroupsPath)).toBe(true);
  // A frozen task sleeps uninterruptibly (v1 freezer) until thawed.
  if (!V2) {
    expect(procState(c.pid)).toBe("D");
    expect(procState(sleeper)).toBe("D");
  }
  // A signal sent now stays pending: the trap can only run once the process is thawed.
  process.kill(c.pid, "SIGUSR1");
  expect(readText(c.out)).not.toContain("got-USR1");
  expect(frozen(c.b.cgroupsPath)).toBe(true);

  await t.ok(["resume", c.id]);
  expect((await t.state(c.id)).status).toBe("running");
  expect(frozen(c.b.cgroupsPath)).toBe(false);
  await waitForText(c.out, "got-USR1");
  expect(isAlive(c.pid)).toBe(true);
});

conform("pause: a stopped container cannot be paused, a running one cannot be resumed", async (t) => {
  const c = await started(t, IDLE);
  expectFailure(await t.rt(["resume", c.id]), /paused|running/i);
  expect((await t.state(c.id)).status).toBe("running");

  const b = t.bundle((conf) => sh(conf, "true"));
  const id = t.id();
  await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expectFailure(await t.rt(["pause", id]), /not running|stopped/i);
  expect((await t.state(id)).status).toBe("stopped");
  expectFailure(await t.rt(["resume", id]), /not paused|not running|stopped/i);
});

conform("delete --force: removes a paused container, its processes and its cgroup", async (t) => {
  const c = await started(t, IDLE);
  const sleeper = childrenOf(c.pid)[0] ?? 0;
  await t.ok(["pause", c.id]);
  expect(frozen(c.b.cgroupsPath)).toBe(true);
  await t.ok(["delete", "--force", c.id]);
  expect(await waitGone(c.pid)).toBe(true);
  expect(await waitGone(sleeper)).toBe(true);
  expectFailure(await t.rt(["state", c.id]), /does not exist/);
  t.assertNothingLeft(c.id, c.b);
});

conform("ps --format json: exactly the container's pids, exec'd processes included", async (t) => {
  const c = await started(t, IDLE);
  const other = await started(t, IDLE);
  const exec = await execDetached(t, c, "echo exec-ready; exec sleep 100000", "exec-ready", "sleep 100000");
  const r = await t.ok(["ps", "--format", "json", c.id]);
  const pids = (JSON.parse(r.stdout) as number[]).sort((a, b) => a - b);
  expect(pids).toEqual(expectedPids(c, [exec.pid]));
  expect(pids).not.toContain(other.pid);
});

conform("ps: the table has a PID column and one row per container process", async (t) => {
  const c = await started(t, IDLE);
  const exec = await execDetached(t, c, "echo exec-ready; exec sleep 99999", "exec-ready", "sleep 99999");
  const r = await t.ok(["ps", c.id]);
  const rows = r.stdout.split("\n").filter((l) => l.trim() !== "");
  const header = (rows[0] ?? "").trim().split(/\s+/);
  const col = header.indexOf("PID");
  expect(col, r.stdout).toBeGreaterThanOrEqual(0);
  const listed = rows
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[col]))
    .sort((a, b) => a - b);
  expect(listed, r.stdout).toEqual(expectedPids(c, [exec.pid]));
  expect(rows.find((l) => l.trim().split(/\s+/)[col] === String(exec.pid))).toContain("sleep 99999");
});

// The fields runc 1.1.5 prints for a running container with memory and pids limits (measured;
// runc omits zero values of most fields, so only those that are non-zero here are listed).
const STATS_NUMBERS = [
  "cpu.usage.total",
  "cpu.usage.kernel",
  "cpu.usage.user",
  "memory.usage.usage",
  "memory.usage.limit",
  "memory.usage.failcnt",
  "memory.swap.limit",
  "pids.current",
  "pids.limit",
];
const STATS_OBJECTS = ["cpu", "cpu.usage", "cpu.throttling", "memory", "memory.usage", "memory.swap", "memory.raw", "pids", "blkio", "hugetlb"];

function at(o: unknown, dotted: string): unknown {
  let v = o;
  for (const k of dotted.split(".")) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

conform("events --stats: one JSON line with runc's field names", async (t) => {
  const limit = 96 * 1024 * 1024;
  const c = await started(t, IDLE, (conf) => {
    conf.linux.resources = { ...conf.linux.resources, memory: { limit }, pids: { limit: 77 } };
  });
  const r = await t.ok(["events", "--stats", c.id]);
  const out = r.stdout.split("\n").filter((l) => l !== "");
  expect(out.length, r.stdout).toBe(1);
  const ev = JSON.parse(out[0] ?? "") as { type: string; id: string; data: unknown };
  expect(ev.type).toBe("stats");
  expect(ev.id).toBe(c.id);
  for (const k of STATS_OBJECTS) {
    const v = at(ev.data, k);
    expect(v !== null && typeof v === "object" && !Array.isArray(v), `data.${k} is ${JSON.stringify(v)}`).toBe(true);
  }
  for (const k of STATS_NUMBERS) expect(typeof at(ev.data, k), `data.${k}`).toBe("number");
  expect(Array.isArray(at(ev.data, "cpu.usage.percpu")), "data.cpu.usage.percpu").toBe(true);
  // The values that are certain: the limits, and a live container that used some cpu and memory.
  expect(at(ev.data, "memory.usage.limit")).toBe(limit);
  expect(at(ev.data, "pids.limit")).toBe(77);
  expect(at(ev.data, "pids.current") as number).toBeGreaterThanOrEqual(2);
  expect(at(ev.data, "cpu.usage.total") as number).toBeGreaterThan(0);
  expect(at(ev.data, "memory.usage.usage") as number).toBeGreaterThan(0);
});

/** The limits update changes, read from the host. */
function limits(rel: string): { memory: string; pids: string; quota: string; period: string } {
  if (V2) {
    const [quota = "", period = ""] = cgRead("cpu", rel, "cpu.max").split(" ");
    return { memory: cgRead("memory", rel, "memory.max"), pids: cgRead("pids", rel, "pids.max"), quota, period };
  }
  return {
    memory: cgRead("memory", rel, "memory.limit_in_bytes"),
    pids: cgRead("pids", rel, "pids.max"),
    quota: cgRead("cpu", rel, "cpu.cfs_quota_us"),
    period: cgRead("cpu", rel, "cpu.cfs_period_us"),
  };
}

const INITIAL: Resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 }, cpu: { quota: 30000, period: 100000 } };
const INITIAL_LIMITS = { memory: String(64 * 1024 * 1024), pids: "50", quota: "30000", period: "100000" };

async function withLimits(t: Ctx): Promise<Started> {
  const c = await started(t, IDLE, (conf) => (conf.linux.resources = { ...conf.linux.resources, ...INITIAL }));
  expect(limits(c.b.cgroupsPath)).toEqual(INITIAL_LIMITS);
  return c;
}

conform("update --memory, --pids-limit, --cpu-quota, --cpu-period change the container's cgroup", async (t) => {
  const c = await withLimits(t);
  await t.ok(["update", "--memory", String(128 * 1024 * 1024), "--pids-limit", "99", c.id]);
  expect(limits(c.b.cgroupsPath)).toEqual({ ...INITIAL_LIMITS, memory: String(128 * 1024 * 1024), pids: "99" });
  await t.ok(["update", "--cpu-quota", "20000", "--cpu-period", "50000", c.id]);
  expect(limits(c.b.cgroupsPath)).toEqual({ memory: String(128 * 1024 * 1024), pids: "99", quota: "20000", period: "50000" });
  expect((await t.state(c.id)).status).toBe("running");
});

conform("update -r FILE: the resources in a JSON file are applied", async (t) => {
  const c = await withLimits(t);
  const file = path.join(t.tmp, "resources.json");
  fs.writeFileSync(
    file,
    JSON.stringify({ memory: { limit: 80 * 1024 * 1024 }, cpu: { quota: 40000, period: 200000 }, pids: { limit: 66 } }),
  );
  await t.ok(["update", "-r", file, c.id]);
  expect(limits(c.b.cgroupsPath)).toEqual({ memory: String(80 * 1024 * 1024), pids: "66", quota: "40000", period: "200000" });
});

conform("update: an invalid value fails and leaves the previous limits", async (t) => {
  const c = await withLimits(t);
  // Not a number; and a quota the kernel refuses (below its 1 ms minimum).
  expectFailure(await t.rt(["update", "--memory", "lots", c.id]));
  expect(limits(c.b.cgroupsPath)).toEqual(INITIAL_LIMITS);
  expectFailure(await t.rt(["update", "--cpu-quota", "500", c.id]));
  expect(limits(c.b.cgroupsPath)).toEqual(INITIAL_LIMITS);
  const bad = path.join(t.tmp, "bad.json");
  fs.writeFileSync(bad, "{ not json");
  expectFailure(await t.rt(["update", "-r", bad, c.id]));
  expect(limits(c.b.cgroupsPath)).toEqual(INITIAL_LIMITS);
  expect((await t.state(c.id)).status).toBe("running");
});

conform("kill --all: processes exec'd into the container get the signal too", async (t) => {
  // Every sleep ignores USR1 (an ignored disposition survives exec), so only the traps react.
  const hold = '(trap "" USR1; exec sleep 100000)';
  const c = await started(t, `trap 'echo init-got-USR1' USR1; echo ready; while :; do ${hold} & wait $!; done`);
  const a = await execDetached(t, c, `trap 'echo exec-got-USR1; exit 0' USR1; echo exec-ready; ${hold} & wait`, "exec-ready");
  await t.ok(["kill", "--all", c.id, "USR1"]);
  await waitForText(a.out, "exec-got-USR1");
  await waitForText(c.out, "init-got-USR1");
  expect(await waitGone(a.pid)).toBe(true);
  // The exec'd process is not a child of pid 1: only the cgroup knows it.
  expect((await t.state(c.id)).status).toBe("running");
  await t.ok(["kill", "--all", c.id, "KILL"]);
  await t.waitStatus(c.id, "stopped");
  await waitFor(() => readText(path.join(cgroupDir("pids", c.b.cgroupsPath), "cgroup.procs")).trim() === "", 10_000, "an empty cgroup");
  await t.ok(["delete", c.id]);
  expect(cgroupDirsOf(c.b.cgroupsPath), explain(await t.rt(["state", c.id]))).toEqual([]);
});
