import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCgroup, openCgroup } from "./cgroup.ts";
import { type FakeHost, fakeHost, sampleSelfCgroup } from "./fake_cgroupfs.ts";
import { FakeKernel } from "./fake_kernel.ts";
import { runDeviceProgram } from "./ebpf_interpreter.ts";
import { resolvePaths } from "./paths.ts";
import type { LinuxResources } from "./types.ts";

let host: FakeHost;
let kernel: FakeKernel;
const env = () => ({ fs: host.fs, kernel, wait: { sleep: () => {} } });
afterEach(() => host.cleanup());

const RESOURCES: LinuxResources = {
  memory: { limit: 64 << 20 },
  pids: { limit: 32 },
  devices: [
    { allow: false, access: "rwm" },
    { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  ],
};

function setup(kind: "v1" | "hybrid" | "v2", cgroupsPath = "/ctrs/web") {
  host = fakeHost(kind);
  kernel = new FakeKernel();
  const paths = resolvePaths(host.layout, cgroupsPath, "web", sampleSelfCgroup(kind));
  return { paths, before: host.tree() };
}

describe("createCgroup on v1", () => {
  test("makes the directory in every hierarchy once, records parents before children, applies resources", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, RESOURCES, env());
    expect(cg.created).toContain(join(host.root, "memory/ctrs"));
    expect(cg.created.indexOf(join(host.root, "memory/ctrs"))).toBeLessThan(
      cg.created.indexOf(join(host.root, "memory/ctrs/web")),
    );
    // cpu and cpuacct share one mount: one mkdir, not two.
    expect(cg.created.filter((d) => d.includes("cpu,cpuacct"))).toEqual([
      join(host.root, "cpu,cpuacct/ctrs"),
      join(host.root, "cpu,cpuacct/ctrs/web"),
    ]);
    expect(cg.created).toHaveLength(16);
    expect(readFileSync(join(paths.v1.memory as string, "memory.limit_in_bytes"), "utf8")).toBe(String(64 << 20));
    expect(readFileSync(join(paths.v1.pids as string, "pids.max"), "utf8")).toBe("32");
    expect(host.fs.writesUnder(paths.v1.devices as string)).toEqual(["devices.deny=a", "devices.allow=c 1:3 rwm"]);
  });

  test("new cpuset cgroups inherit cpus and mems, or no task could join them", () => {
    const { paths } = setup("v1");
    createCgroup(host.layout, paths, undefined, env());
    expect(readFileSync(join(paths.v1.cpuset as string, "cpuset.cpus"), "utf8")).toBe("0-3");
    expect(readFileSync(join(host.root, "cpuset/ctrs/cpuset.mems"), "utf8")).toBe("0");
  });

  test("destroy removes exactly what create made, leaving pre-existing parents", () => {
    host = fakeHost("v1");
    for (const mount of new Set(Object.values(host.layout.v1))) host.fs.mkdir(join(mount.dir, "ctrs"));
    const before = host.tree();
    const paths = resolvePaths(host.layout, "/ctrs/web", "web", "");
    const cg = createCgroup(host.layout, paths, RESOURCES, env());
    expect(cg.created.every((d) => d.endsWith("/ctrs/web"))).toBe(true);
    cg.destroy();
    expect(host.tree()).toEqual(before);
  });

  test("a failing write undoes every directory made and names the field and the file", () => {
    const { paths, before } = setup("v1");
    host.fs.failWrites.set("pids.max", "EINVAL");
    let caught: unknown;
    try {
      createCgroup(host.layout, paths, RESOURCES, env());
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).toBe('linux.resources.pids.limit: write "pids.max": EINVAL');
    expect((caught as { code?: string }).code).toBe("EINVAL");
    expect(host.tree()).toEqual(before);
  });

  test("an invalid device rule fails create and leaves nothing behind", () => {
    const { paths, before } = setup("v1");
    expect(() =>
      createCgroup(host.layout, paths, { devices: [{ allow: true, type: "c", major: 1, minor: 3, access: "" }] }, env()),
    ).toThrow("linux.resources.devices[0].access");
    expect(host.tree()).toEqual(before);
  });

  test("a failing mkdir undoes the hierarchies already made", () => {
    const { paths, before } = setup("v1");
    // A file where a directory must go: mkdir below it fails with ENOTDIR.
    writeFileSync(join(host.root, "pids/ctrs"), "");
    expect(() => createCgroup(host.layout, paths, RESOURCES, env())).toThrow(
      `create cgroup "${join(host.root, "pids/ctrs/web")}": ENOTDIR`,
    );
    expect(host.tree()).toEqual(before);
  });
});

describe("processes", () => {
  test("addProcess writes the pid to cgroup.procs in every hierarchy; pids() sees it and container-made children", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    cg.addProcess(4242);
    const procsWrites = host.fs.writes.filter((w) => w.path.endsWith("cgroup.procs"));
    expect(procsWrites).toHaveLength(8);
    expect(new Set(procsWrites.map((w) => w.value))).toEqual(new Set(["4242"]));
    const sub = join(paths.v1.devices as string, "sub");
    host.fs.mkdir(sub);
    host.fs.write(join(sub, "cgroup.procs"), "77");
    expect(cg.pids()).toEqual([77, 4242]);
  });

  test("addProcess retries EINVAL (task still forking) a few times, then reports it", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    host.fs.failWrites.set(join(paths.v1.memory as string, "cgroup.procs"), "EINVAL");
    expect(() => cg.addProcess(9)).toThrow(
      `add process 9 to cgroup: write "${join(paths.v1.memory as string, "cgroup.procs")}": EINVAL`,
    );
    expect(host.fs.writes.filter((w) => w.path === join(paths.v1.memory as string, "cgroup.procs"))).toHaveLength(5);
  });
});

describe("destroy", () => {
  test("retries EBUSY while the last task exits", () => {
    const { paths, before } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    host.fs.busyRmdirs.set(paths.v1.memory as string, 3);
    cg.destroy();
    expect(host.tree()).toEqual(before);
  });

  test("gives up after a bounded wait, removes what it can, and names the stuck cgroup", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    host.fs.busyRmdirs.set(paths.v1.memory as string, 1000);
    const start = performance.now();
    expect(() => cg.destroy()).toThrow(`remove cgroup "${paths.v1.memory}": EBUSY`);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(host.tree().filter((d) => d.endsWith("web"))).toEqual(["memory/ctrs/web"]);
  });

  test("removes cgroups the container made inside its own, but not a parent another container now uses", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    host.fs.mkdir(join(paths.v1.pids as string, "inner"));
    host.fs.mkdir(join(host.root, "pids/ctrs/other"));
    cg.destroy();
    expect(host.tree().filter((d) => d.includes("ctrs"))).toEqual(["pids/ctrs", "pids/ctrs/other"]);
  });

  test("openCgroup from the state file's JSON removes only the container's own directories by default", () => {
    const { paths } = setup("v1");
    const made = createCgroup(host.layout, paths, undefined, env());
    const saved = JSON.parse(JSON.stringify({ paths: made.paths, created: made.created }));
    openCgroup(host.layout, saved.paths, undefined, env()).destroy();
    expect(host.tree().filter((d) => d.includes("ctrs"))).toHaveLength(8);
    expect(host.tree().some((d) => d.endsWith("web"))).toBe(false);
    openCgroup(host.layout, saved.paths, saved.created, env()).destroy();
    expect(host.tree().some((d) => d.includes("ctrs"))).toBe(false);
  });
});

describe("createCgroup on v2 and hybrid", () => {
  test("v2: delegates every controller down the tree, as runc, then writes the files", () => {
    const { paths } = setup("v2");
    const cg = createCgroup(host.layout, paths, { memory: { limit: 1 << 20 }, pids: { limit: 8 }, cpu: { shares: 2048 } }, env());
    const all = "cpuset cpu io memory hugetlb pids rdma misc";
    expect(readFileSync(join(host.root, "cgroup.subtree_control"), "utf8")).toBe(all);
    expect(readFileSync(join(host.root, "ctrs/cgroup.subtree_control"), "utf8")).toBe(all);
    expect(host.fs.writesUnder(paths.unified as string)).toEqual([
      "memory.max=1048576",
      "cpu.weight=174",
      "pids.max=8",
    ]);
    expect(cg.created).toEqual([join(host.root, "ctrs"), join(host.root, "ctrs/web")]);
  });

  test("v2: device rules become the one BPF program attached to the container's cgroup", () => {
    const { paths } = setup("v2");
    createCgroup(host.layout, paths, RESOURCES, env());
    const prog = kernel.programOf(paths.unified as string);
    const verdict = (major: number, minor: number) => runDeviceProgram(prog, { type: 2, access: 2, major, minor });
    expect([verdict(1, 3), verdict(1, 5)]).toEqual([1, 0]);
    expect(kernel.openFds()).toEqual([]);
  });

  test("v2: a program the kernel refuses fails create with nothing left behind", () => {
    const { paths, before } = setup("v2");
    kernel.failBpf.set("PROG_LOAD", "EPERM");
    expect(() => createCgroup(host.layout, paths, RESOURCES, env())).toThrow(
      "linux.resources.devices: load the device program (BPF_PROG_LOAD): EPERM",
    );
    expect(host.tree()).toEqual(before);
  });

  test("hybrid: joins the unified hierarchy too, while resources go to v1", () => {
    const { paths, before } = setup("hybrid", "web");
    const cg = createCgroup(host.layout, paths, RESOURCES, env());
    expect(cg.created).toContain(join(host.root, "unified/web"));
    cg.addProcess(7);
    expect(readFileSync(join(host.root, "unified/web/cgroup.procs"), "utf8")).toBe("7\n");
    expect(readFileSync(join(paths.v1.pids as string, "pids.max"), "utf8")).toBe("32");
    writeFileSync(join(host.root, "unified/web/cgroup.procs"), "");
    for (const d of new Set(Object.values(paths.v1))) writeFileSync(join(d, "cgroup.procs"), "");
    cg.destroy();
    expect(host.tree()).toEqual(before);
  });

  test("update changes limits in place, and device rules by difference, without a deny-all gap", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, RESOURCES, env());
    const devices = paths.v1.devices as string;
    expect(readFileSync(join(devices, "devices.list"), "utf8")).toBe("c 1:3 rwm\n");
    host.fs.writes.length = 0;
    cg.update({
      pids: { limit: 100 },
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }],
    });
    expect(readFileSync(join(paths.v1.pids as string, "pids.max"), "utf8")).toBe("100");
    expect(host.fs.writesUnder(devices)).toEqual(["devices.deny=c 1:3 rwm", "devices.allow=c 1:5 rwm"]);
    expect(readFileSync(join(devices, "devices.list"), "utf8")).toBe("c 1:5 rwm\n");
  });
});

describe("hybrid placement", () => {
  test("hugetlb, which this host has only on cgroup2, goes to the unified hierarchy; stats read it there", () => {
    const { paths } = setup("hybrid", "web");
    const cg = createCgroup(host.layout, paths, { pids: { limit: 4 }, hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }] }, env());
    expect(readFileSync(join(host.root, "unified/cgroup.subtree_control"), "utf8")).toBe("hugetlb");
    expect(host.fs.writesUnder(paths.unified as string)).toEqual([`hugetlb.2MB.max=${2 << 20}`, `hugetlb.2MB.rsvd.max=${2 << 20}`]);
    expect(readFileSync(join(paths.v1.pids as string, "pids.max"), "utf8")).toBe("4");
    expect(Object.keys(cg.stats().hugetlb).sort()).toEqual(["1GB", "2MB"]);
  });

  test("device rules stay with the v1 devices hierarchy: no BPF program", () => {
    const { paths } = setup("hybrid", "web");
    createCgroup(host.layout, paths, RESOURCES, env());
    expect(kernel.calls).toEqual([]);
  });
});

describe("freeze, kill and OOM through the Cgroup", () => {
  test("v1: pause and resume use the freezer hierarchy", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    cg.freeze();
    expect(cg.freezerState()).toBe("frozen");
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");
    expect(host.fs.writesUnder(paths.v1.freezer as string)).toEqual(["freezer.state=FROZEN", "freezer.state=THAWED"]);
  });

  test("kill --all on v1: freeze, signal every pid (gone ones skipped), thaw", () => {
    const { paths } = setup("v1");
    const cg = createCgroup(host.layout, paths, undefined, env());
    writeFileSync(join(paths.v1.devices as string, "cgroup.procs"), "10\n11\n");
    const sent: string[] = [];
    cg.killAll(15, (pid, sig) => {
      sent.push(`${pid}:${sig}:${readFileSync(join(paths.v1.freezer as string, "freezer.state"), "utf8")}`);
      if (pid === 10) throw Object.assign(new Error("gone"), { code: "ESRCH" });
    });
    expect(sent).toEqual(["10:15:FROZEN", "11:15:FROZEN"]);
    expect(cg.freezerState()).toBe("thawed");
  });

  test("kill --all with SIGKILL on v2 writes cgroup.kill; other signals go pid by pid", () => {
    const { paths } = setup("v2");
    const cg = createCgroup(host.layout, paths, undefined, env());
    writeFileSync(join(paths.unified as string, "cgroup.procs"), "20\n");
    const sent: number[] = [];
    cg.killAll(9, (pid) => void sent.push(pid));
    expect(sent).toEqual([]);
    expect(host.fs.writesUnder(paths.unified as string)).toContain("cgroup.kill=1");
    cg.killAll(1, (pid) => void sent.push(pid));
    expect(sent).toEqual([20]);
  });

  test("watchOom picks v1's memory hierarchy on hybrid", () => {
    const { paths } = setup("hybrid", "web");
    const cg = createCgroup(host.layout, paths, undefined, env());
    const watch = cg.watchOom();
    expect(kernel.calls).toContain(`openFile ${join(paths.v1.memory as string, "memory.oom_control")}`);
    watch.close();
  });
});
