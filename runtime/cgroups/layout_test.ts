import { describe, expect, test } from "bun:test";
import { sampleMountinfo } from "./fake_cgroupfs.ts";
import { detectLayout } from "./layout.ts";

// This host's cgroup mounts, verbatim: hybrid, every v1 controller alone, hugetlb on cgroup2.
const THIS_HOST = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

describe("detectLayout", () => {
  test("this host's mountinfo is hybrid: each v1 controller at its own dir, cgroup2 at unified", () => {
    const layout = detectLayout("/sys/fs/cgroup", THIS_HOST);
    expect(layout.kind).toBe("hybrid");
    expect(layout.v1.memory).toEqual({ dir: "/sys/fs/cgroup/memory", root: "/" });
    expect(layout.v1.cpu?.dir).toBe("/sys/fs/cgroup/cpu");
    expect(layout.v1.cpuacct?.dir).toBe("/sys/fs/cgroup/cpuacct");
    expect(layout.v1["name=systemd"]?.dir).toBe("/sys/fs/cgroup/systemd");
    expect(layout.unified).toEqual({ dir: "/sys/fs/cgroup/unified", root: "/" });
    expect(Object.keys(layout.v1).sort()).toEqual(
      ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "name=systemd", "pids"],
    );
  });

  test("co-mounted controllers map to the same mount dir", () => {
    const layout = detectLayout("/sys/fs/cgroup", sampleMountinfo("v1", "/sys/fs/cgroup"));
    expect(layout.kind).toBe("v1");
    expect(layout.unified).toBeUndefined();
    expect(layout.v1.cpu?.dir).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(layout.v1.cpuacct).toBe(layout.v1.cpu);
  });

  test("mount options that are not controllers (xattr, noprefix, release_agent=…) are not taken for controllers", () => {
    const text = [
      "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/lib/systemd/agent,name=systemd",
      "41 31 0:38 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,noprefix,clone_children,cpuset",
    ].join("\n");
    const layout = detectLayout("/sys/fs/cgroup", text);
    expect(Object.keys(layout.v1).sort()).toEqual(["cpuset", "name=systemd"]);
  });

  test("a cgroup2 mount at the root is a pure v2 host", () => {
    const layout = detectLayout("/sys/fs/cgroup", sampleMountinfo("v2", "/sys/fs/cgroup"));
    expect(layout).toEqual({ kind: "v2", root: "/sys/fs/cgroup", v1: {}, unified: { dir: "/sys/fs/cgroup", root: "/" } });
  });

  test("a mount of a subtree keeps the subtree as the hierarchy root", () => {
    const text = "50 40 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
    expect(detectLayout("/sys/fs/cgroup", text).v1.memory).toEqual({ dir: "/sys/fs/cgroup/memory", root: "/docker/abc" });
  });

  test("mounts outside the root are ignored, and a hierarchy mounted twice keeps its first mount", () => {
    const text = [
      "60 1 0:32 / /var/lib/ctr/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
      "61 1 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices",
      "62 1 0:33 / /sys/fs/cgroup/devices2 rw - cgroup cgroup rw,devices",
    ].join("\n");
    const layout = detectLayout("/sys/fs/cgroup", text);
    expect(layout.v1.memory).toBeUndefined();
    expect(layout.v1.devices?.dir).toBe("/sys/fs/cgroup/devices");
  });

  test("optional fields before the separator and octal escapes in paths are handled", () => {
    const text = "70 1 0:40 / /tmp/cg\\040root/memory rw shared:5 master:3 - cgroup cgroup rw,memory\n";
    expect(detectLayout("/tmp/cg root", text).v1.memory?.dir).toBe("/tmp/cg root/memory");
  });

  test("no cgroup mount under the root is an error naming the root", () => {
    expect(() => detectLayout("/sys/fs/cgroup", "25 1 0:23 / /sys rw - sysfs sysfs rw\n")).toThrow(
      'detect cgroup layout: no cgroup filesystem is mounted under "/sys/fs/cgroup"',
    );
  });
});
