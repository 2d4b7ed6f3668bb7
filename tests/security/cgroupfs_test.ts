// Attack class 6 (design.md §6): /sys/fs/cgroup read-only unless the container owns its cgroup
// namespace (CVE-2023-25809). With the default (ro) cgroup mount, with or without a cgroup
// namespace, every write attempt fails: the controllers' files, cgroup.procs, a new cgroup, a
// release_agent, the tmpfs holding the hierarchies. With a config that asks for an rw cgroup
// mount and no cgroup namespace, tsrun still makes everything read-only (runc 1.1.5 honours the
// rw and lets root in the container rewrite its own limits) and only ever mounts the
// container's own cgroups.
import { afterAll, describe, expect } from "bun:test";
import * as path from "node:path";
import { explain, parseMountInfo, removeCaches, RUNC, type Sec, secCase, setNamespace, sh, type Spec } from "./lib/harness.ts";

afterAll(removeCaches);

/**
 * Writes what is there back (a limit, our own pid to cgroup.procs), makes a cgroup and a file,
 * then prints the cgroup mounts as mountinfo lines. "w <path>=ok|fail".
 */
const PROBE = [
  "try() { if (eval \"$2\") 2>/dev/null; then echo \"w $1=ok\"; else echo \"w $1=fail\"; fi; }",
  "for d in /sys/fs/cgroup/*/; do d=${d%/}; [ -L $d ] && continue",
  "  try $d/cgroup.procs 'echo $$ > $d/cgroup.procs'",
  "  for f in memory.limit_in_bytes pids.max cpu.shares memory.max notify_on_release; do",
  "    [ -f $d/$f ] && try $d/$f \"cat $d/$f > /tmp/v && cat /tmp/v > $d/$f\"",
  "  done",
  "  try $d/release_agent \"echo /x > $d/release_agent\"",
  "  try $d/sectest-mkdir \"mkdir $d/sectest-mkdir && rmdir $d/sectest-mkdir\"",
  "done",
  "try /sys/fs/cgroup/sectest-file 'touch /sys/fs/cgroup/sectest-file'",
  "grep ' /sys/fs/cgroup' /proc/self/mountinfo | sed 's/^/m /'",
].join("\n");

interface Probe {
  writable: string[];
  tried: number;
  mounts: ReturnType<typeof parseMountInfo>;
}

function parse(out: string): Probe {
  const w = out.split("\n").filter((l) => l.startsWith("w "));
  return {
    writable: w.filter((l) => l.endsWith("=ok")).map((l) => l.slice(2, -3)),
    tried: w.length,
    mounts: parseMountInfo(out.split("\n").filter((l) => l.startsWith("m ")).map((l) => l.slice(2)).join("\n")),
  };
}

function config(c: Spec, o: { rw?: boolean; cgroupns?: boolean } = {}): void {
  sh(c, PROBE);
  if (o.rw) for (const m of c.mounts ?? []) if (m.type === "cgroup") m.options = (m.options ?? []).filter((x) => x !== "ro").concat("rw");
  if (o.cgroupns) setNamespace(c, "cgroup");
  // Every limit the probe might write back exists.
  c.linux.resources = { ...c.linux.resources, pids: { limit: 100 }, memory: { limit: 256 * 1024 * 1024 } };
}

async function probe(t: Sec, edit: (c: Spec) => void, o: { runtime?: string; root?: string } = {}): Promise<Probe> {
  const b = t.bundle(edit);
  const r = await t.rt(["run", "--bundle", b.dir, t.id("c", o.runtime, o.root)], o);
  expect(r.code, explain(r)).toBe(0);
  const p = parse(r.stdout);
  expect(p.tried, explain(r)).toBeGreaterThan(3);
  expect(p.mounts.length, explain(r)).toBeGreaterThan(0);
  return p;
}

describe("/sys/fs/cgroup (CVE-2023-25809)", () => {
  for (const cgroupns of [false, true]) {
    secCase(`read-only ${cgroupns ? "with" : "without"} a cgroup namespace: every write fails`, async (t) => {
      const p = await probe(t, (c) => config(c, { cgroupns }));
      expect(p.writable).toEqual([]);
      for (const m of p.mounts) expect(m.options.split(","), `${m.mountPoint} is not read-only`).toContain("ro");
    });
  }

  secCase("rw asked without a cgroup namespace: still read-only, and only the container's own cgroups", async (t) => {
    const ours = await probe(t, (c) => config(c, { rw: true }));
    expect(ours.writable).toEqual([]);
    for (const m of ours.mounts) expect(m.options.split(","), `${m.mountPoint} is not read-only`).toContain("ro");
    // Whatever is mounted is the container's own cgroup (its cgroupsPath), never a hierarchy's root.
    for (const m of ours.mounts.filter((x) => x.fsType === "cgroup" || x.fsType === "cgroup2")) {
      expect(m.root, `${m.mountPoint} shows cgroup ${m.root}`).toStartWith(t.cgParent);
    }
    let note = "runc not installed";
    if (RUNC) {
      const theirs = await probe(t, (c) => config(c, { rw: true }), { runtime: RUNC, root: path.join(t.tmp, "runc-state") });
      // The tmpfs that holds the hierarchies is the container's own (runc makes it 0555, tsrun 0755:
      // a new file there changes nothing outside); the cgroup files are what counts.
      const extra = ours.writable.filter((w) => !theirs.writable.includes(w) && w !== "/sys/fs/cgroup/sectest-file");
      expect(extra, `writable under tsrun, not under runc: ${JSON.stringify({ ours, theirs })}`).toEqual([]);
      note = `runc writable: ${JSON.stringify(theirs.writable)}; runc mounts: ${JSON.stringify(theirs.mounts.map((m) => `${m.mountPoint} ${m.options} ${m.root}`))}`;
    }
    console.log(`rw cgroup mount, no cgroupns: tsrun writable: ${JSON.stringify(ours.writable)}; tsrun mounts: ${JSON.stringify(ours.mounts.map((m) => `${m.mountPoint} ${m.options} ${m.root}`))}\n${note}`);
  });
});
