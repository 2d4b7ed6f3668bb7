import { describe, expect, test } from "bun:test";
import { sampleMountinfo, sampleSelfCgroup } from "./fake_cgroupfs.ts";
import { detectLayout } from "./layout.ts";
import { cleanPath, parseProcCgroup, resolvePaths } from "./paths.ts";

const R = "/sys/fs/cgroup";
const v1 = detectLayout(R, sampleMountinfo("v1", R));
const hybrid = detectLayout(R, sampleMountinfo("hybrid", R));
const v2 = detectLayout(R, sampleMountinfo("v2", R));

// This host's /proc/self/cgroup shape: the runtime sits in a nested memory cgroup only.
const SELF = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/615c
3:cpuset:/
2:cpu,cpuacct:/
0::/
`;

describe("resolvePaths", () => {
  test("an absolute cgroupsPath is taken below each hierarchy's mount, co-mounted ones sharing a dir", () => {
    const paths = resolvePaths(v1, "/myRuntime/web", "web", SELF);
    expect(paths).toEqual({
      v1: {
        cpu: `${R}/cpu,cpuacct/myRuntime/web`,
        cpuacct: `${R}/cpu,cpuacct/myRuntime/web`,
        cpuset: `${R}/cpuset/myRuntime/web`,
        memory: `${R}/memory/myRuntime/web`,
        devices: `${R}/devices/myRuntime/web`,
        freezer: `${R}/freezer/myRuntime/web`,
        blkio: `${R}/blkio/myRuntime/web`,
        pids: `${R}/pids/myRuntime/web`,
        "name=systemd": `${R}/systemd/myRuntime/web`,
      },
    });
  });

  test("a relative cgroupsPath is taken below the runtime's own cgroup in each v1 hierarchy", () => {
    const paths = resolvePaths(v1, "ctrs/web", "web", SELF);
    expect(paths.v1.memory).toBe(`${R}/memory/process_api/615c/ctrs/web`);
    expect(paths.v1.pids).toBe(`${R}/pids/ctrs/web`);
    expect(paths.v1["name=systemd"]).toBe(`${R}/systemd/ctrs/web`);
  });

  test("an empty or missing cgroupsPath uses the container id as a relative path (runc 1.1.5)", () => {
    expect(resolvePaths(v1, undefined, "web", SELF).v1.memory).toBe(`${R}/memory/process_api/615c/web`);
    expect(resolvePaths(v1, "", "web", SELF).v1.devices).toBe(`${R}/devices/web`);
  });

  test("on hybrid the unified hierarchy is joined too, relative paths below its mount, not the own cgroup", () => {
    const self = sampleSelfCgroup("hybrid", "/session");
    const rel = resolvePaths(hybrid, "web", "web", self);
    expect(rel.v1.pids).toBe(`${R}/pids/session/web`);
    expect(rel.unified).toBe(`${R}/unified/web`);
    expect(resolvePaths(hybrid, "/a/web", "web", self).unified).toBe(`${R}/unified/a/web`);
  });

  test("on v2 a relative path goes below the parent of the runtime's own cgroup, which holds the runtime", () => {
    const self = "0::/user.slice/user-0.slice/session-1.scope\n";
    expect(resolvePaths(v2, "web", "web", self)).toEqual({ v1: {}, unified: `${R}/user.slice/user-0.slice/web` });
    expect(resolvePaths(v2, undefined, "web", "0::/\n").unified).toBe(`${R}/web`);
    expect(resolvePaths(v2, "/machine/web", "web", self).unified).toBe(`${R}/machine/web`);
  });

  test("the runtime's own cgroup is taken relative to the subtree a hierarchy mount shows", () => {
    const nested = detectLayout(
      R,
      [
        "50 40 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory",
        "51 40 0:33 /docker/abc /sys/fs/cgroup/devices ro - cgroup cgroup rw,devices",
      ].join("\n"),
    );
    const paths = resolvePaths(nested, "web", "web", "5:devices:/docker/abc/app\n4:memory:/docker/abc\n");
    expect(paths.v1).toEqual({ memory: `${R}/memory/web`, devices: `${R}/devices/app/web` });
    expect(() => resolvePaths(nested, "web", "web", "5:devices:/other\n4:memory:/docker/abc\n")).toThrow(
      'the runtime\'s own "devices" cgroup "/other" is outside the subtree "/docker/abc"',
    );
  });

  test("a cgroupsPath cannot climb out with '..'", () => {
    expect(resolvePaths(v1, "../../etc", "web", SELF).v1.devices).toBe(`${R}/devices/etc`);
    expect(resolvePaths(v1, "/a/../../b", "web", SELF).v1.devices).toBe(`${R}/devices/b`);
  });

  test("a cgroupsPath naming the hierarchy root or the runtime's own cgroup is refused", () => {
    for (const bad of ["/", ".", "..", "a/.."]) {
      expect(() => resolvePaths(v1, bad, "web", SELF)).toThrow("linux.cgroupsPath");
    }
  });

  test("a v1 host without the devices hierarchy is refused: the container would reach every device", () => {
    const noDevices = detectLayout(R, "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    expect(() => resolvePaths(noDevices, "/web", "web", SELF)).toThrow('no "devices" cgroup hierarchy');
  });

  test("hierarchies outside runc's list (a custom named one) are not joined", () => {
    const layout = detectLayout(
      R,
      [
        "36 31 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices",
        "37 31 0:34 / /sys/fs/cgroup/mine rw - cgroup cgroup rw,name=mine",
      ].join("\n"),
    );
    expect(Object.keys(resolvePaths(layout, "/web", "web", SELF).v1)).toEqual(["devices"]);
  });
});

describe("cleanPath and parseProcCgroup", () => {
  test("cleanPath keeps absolute paths absolute and relative ones inside", () => {
    expect(cleanPath("/a//b/")).toBe("/a/b");
    expect(cleanPath("a/./b/../c")).toBe("a/c");
    expect(cleanPath("../x")).toBe("x");
    expect(cleanPath("")).toBe("");
  });

  test("parseProcCgroup splits co-mounted controllers and keys the cgroup2 line by ''", () => {
    const m = parseProcCgroup("2:cpu,cpuacct:/a\n1:name=systemd:/b:c\n0::/d\n");
    expect([...m]).toEqual([
      ["cpu", "/a"],
      ["cpuacct", "/a"],
      ["name=systemd", "/b:c"],
      ["", "/d"],
    ]);
  });
});
