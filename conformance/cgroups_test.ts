// linux.cgroupsPath and linux.resources, checked in the host's cgroup files. Every container here
// lives under the case's own /tsrun-conformance-<random> parent, which cleanup removes.
// This host is hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified); the v2 file names are
// used where the host is cgroup2-only.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { setNamespace, sh, type Resources, type Spec } from "./lib/config.ts";
import { conform, explain, readText, trapper, waitFor, waitForText, type Bundle, type Ctx } from "./lib/harness.ts";
import { cgroupDir, cgroupDirsOf, cgroupHierarchies, isAlive, isCgroup2Only, killQuietly } from "./lib/host.ts";

const V2 = isCgroup2Only();

function read(controller: string, rel: string, file: string): string {
  return fs.readFileSync(path.join(cgroupDir(controller, rel), file), "utf8").trim();
}

/** Create (not start) a container with `resources`; return its bundle and id. */
async function withResources(t: Ctx, resources: Resources, edit?: (c: Spec) => void): Promise<{ b: Bundle; id: string; pid: number }> {
  const b = t.bundle((c) => {
    sh(c, trapper());
    c.linux.resources = { ...c.linux.resources, ...resources };
    edit?.(c);
  });
  const id = t.id();
  await t.create(b, id);
  return { b, id, pid: (await t.state(id)).pid ?? 0 };
}

conform("cgroups: memory limit and reservation are written under cgroupsPath", async (t) => {
  const { b } = await withResources(t, { memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 } });
  if (V2) {
    expect(read("memory", b.cgroupsPath, "memory.max")).toBe(String(64 * 1024 * 1024));
    expect(read("memory", b.cgroupsPath, "memory.low")).toBe(String(32 * 1024 * 1024));
  } else {
    expect(read("memory", b.cgroupsPath, "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(read("memory", b.cgroupsPath, "memory.soft_limit_in_bytes")).toBe(String(32 * 1024 * 1024));
  }
});

// config-linux.md: "kernelTCP (int64, OPTIONAL, NOT RECOMMENDED) - sets hard limit for kernel TCP
// buffer memory (in bytes)". Only cgroup v1 has a file for it, and only where the kernel still
// accounts TCP buffers per cgroup.
const KMEM_TCP = "memory.kmem.tcp.limit_in_bytes";
if (V2 || !fs.existsSync(cgroupDir("memory", KMEM_TCP))) {
  test.skip(`cgroups: memory.kernelTCP is written under cgroupsPath [skipped: this host has no ${KMEM_TCP}]`, () => {});
} else {
  conform("cgroups: memory.kernelTCP is written under cgroupsPath", async (t) => {
    const { b } = await withResources(t, { memory: { kernelTCP: 8 * 1024 * 1024 } });
    expect(read("memory", b.cgroupsPath, KMEM_TCP)).toBe(String(8 * 1024 * 1024));
  });
}

conform("cgroups: cpu shares, quota and period are written under cgroupsPath", async (t) => {
  const { b } = await withResources(t, { cpu: { shares: 512, quota: 50000, period: 100000 } });
  if (V2) {
    // The conversion runc and crun use: weight = 1 + (shares - 2) * 9999 / 262142.
    expect(read("cpu", b.cgroupsPath, "cpu.weight")).toBe(String(1 + Math.floor(((512 - 2) * 9999) / 262142)));
    expect(read("cpu", b.cgroupsPath, "cpu.max")).toBe("50000 100000");
  } else {
    expect(read("cpu", b.cgroupsPath, "cpu.shares")).toBe("512");
    expect(read("cpu", b.cgroupsPath, "cpu.cfs_quota_us")).toBe("50000");
    expect(read("cpu", b.cgroupsPath, "cpu.cfs_period_us")).toBe("100000");
  }
});

conform("cgroups: cpuset cpus and mems are written under cgroupsPath", async (t) => {
  const { b } = await withResources(t, { cpu: { cpus: "0", mems: "0" } });
  expect(read("cpuset", b.cgroupsPath, "cpuset.cpus")).toBe("0");
  expect(read("cpuset", b.cgroupsPath, "cpuset.mems")).toBe("0");
});

conform("cgroups: pids limit is written under cgroupsPath", async (t) => {
  const { b } = await withResources(t, { pids: { limit: 42 } });
  expect(read("pids", b.cgroupsPath, "pids.max")).toBe("42");
});

conform("cgroups: the container process is in cgroupsPath in every hierarchy", async (t) => {
  const { b, pid } = await withResources(t, {});
  const hierarchies = cgroupHierarchies();
  expect(hierarchies.length).toBeGreaterThan(0);
  for (const h of hierarchies) {
    const procs = fs.readFileSync(path.join(h, b.cgroupsPath, "cgroup.procs"), "utf8").split("\n");
    expect(procs, h).toContain(String(pid));
  }
});

conform("cgroups: delete removes the container's cgroup everywhere", async (t) => {
  const { b, id } = await withResources(t, { pids: { limit: 42 } });
  expect(cgroupDirsOf(b.cgroupsPath).length).toBeGreaterThan(0);
  await t.ok(["kill", id, "KILL"]);
  await t.waitStatus(id, "stopped");
  await t.ok(["delete", id]);
  expect(cgroupDirsOf(b.cgroupsPath)).toEqual([]);
});

conform("cgroups: delete kills what outlived pid 1 (no pid namespace) and removes the cgroup", async (t) => {
  const b = t.bundle((c) => {
    setNamespace(c, "pid", null);
    sh(c, "sleep 100000 & echo $!; echo ready");
    c.linux.resources = { ...c.linux.resources, pids: { limit: 42 } };
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  const left = Number((await waitForText(cr.outPath, "ready")).split("\n")[0]);
  t.defer(() => killQuietly(left, "SIGKILL"));
  expect(isAlive(left), `the sleep (pid ${left}) outlived pid 1`).toBe(true);
  await t.ok(["delete", id]);
  // Its cgroup is gone, so it has exited (a zombie is no longer in any cgroup).
  expect(cgroupDirsOf(b.cgroupsPath)).toEqual([]);
  expect(isAlive(left)).toBe(false);
});

conform("cgroups: delete removes the cgroups the container made below its own (cgroup namespace, cgroup mount rw)", async (t) => {
  const dir = V2 ? "/sys/fs/cgroup/made-inside" : "/sys/fs/cgroup/pids/made-inside";
  const b = t.bundle((c) => {
    sh(c, `mkdir ${dir} && echo made`);
    setNamespace(c, "cgroup");
    const cg = c.mounts?.find((m) => m.destination === "/sys/fs/cgroup");
    if (!cg) throw new Error("the default config has no /sys/fs/cgroup mount");
    cg.options = (cg.options ?? []).filter((o) => o !== "ro").concat("rw");
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expect(readText(cr.outPath)).toBe("made\n");
  expect(cgroupDirsOf(path.join(b.cgroupsPath, "made-inside")).length).toBeGreaterThan(0);
  await t.ok(["delete", id]);
  expect(cgroupDirsOf(b.cgroupsPath)).toEqual([]);
});

conform("cgroups: the pids limit is enforced", async (t) => {
  // With pids.max 5, sh (pid 1) plus four sleeps fill the cgroup; the fifth fork fails.
  const script = "for i in 1 2 3 4 5 6 7 8; do sleep 100000 & echo started-$i; done; echo all-started";
  const r = await t.run(script, (c) => (c.linux.resources = { ...c.linux.resources, pids: { limit: 5 } }));
  const started = r.stdout.split("\n").filter((l) => l.startsWith("started-")).length;
  expect(started, explain(r)).toBeGreaterThanOrEqual(1);
  expect(started, explain(r)).toBeLessThanOrEqual(4);
  expect(r.stdout).not.toContain("all-started");
  expect(r.stderr).toMatch(/fork/i);
});

conform("cgroups: the memory limit is enforced (the hog is OOM-killed)", async (t) => {
  const limit = 32 * 1024 * 1024;
  const b = t.bundle((c) => {
    // A shell variable of 64 MiB cannot fit in 32 MiB; the subshell holding it is killed.
    sh(c, "echo ready; (x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived ${#x}); echo rc=$?");
    c.linux.resources = { ...c.linux.resources, memory: { limit, ...(V2 ? {} : { swap: limit }) } };
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  // Normally the subshell is killed and pid 1 reports it; should the OOM killer pick pid 1
  // instead, the container stops. Either way the kernel counts an OOM kill in the cgroup.
  let out = "";
  await waitFor(
    async () => {
      out = readText(cr.outPath);
      return out.includes("rc=") || (await t.state(id)).status === "stopped";
    },
    30_000,
    () => `the memory hog to be killed (output so far: ${JSON.stringify(out)})`,
  );
  expect(out).not.toContain("survived");
  const events = V2 ? read("memory", b.cgroupsPath, "memory.events") : read("memory", b.cgroupsPath, "memory.oom_control");
  expect(Number(/oom_kill (\d+)/.exec(events)?.[1] ?? 0)).toBeGreaterThan(0);
});

conform("cgroups: linux.resources.devices denies unlisted devices and allows listed ones", async (t) => {
  // Char major 240 is "local/experimental use": no driver, so an allowed open fails with ENXIO
  // while a denied one fails with EPERM before reaching any driver.
  const script = "cat /dev/fake0 2>&1; cat /dev/fake1 2>&1; true";
  const out = await t.runOk(script, (c) => {
    c.linux.devices = [
      { type: "c", path: "/dev/fake0", major: 240, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
      { type: "c", path: "/dev/fake1", major: 240, minor: 1, fileMode: 0o666, uid: 0, gid: 0 },
    ];
    c.linux.resources = {
      ...c.linux.resources,
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 240, minor: 1, access: "rw" },
      ],
    };
  });
  const [denied, allowed] = out.trim().split("\n");
  expect(denied).toMatch(/\/dev\/fake0'?: Operation not permitted/);
  expect(allowed).toMatch(/\/dev\/fake1'?: No such device/);
});
