import { describe, expect, test } from "bun:test";
import {
  AT_EMPTY_PATH,
  AT_RECURSIVE,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  MS_BIND,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  S_IFCHR,
} from "../sys/constants.ts";
import { describe as chain } from "../sys/errors.ts";
import { DIR, FakeSys, FILE, NULL_DEVICE } from "../sys/fake.ts";
import type { InitPlan, MountOp } from "../sys/init_plan.ts";
import { enterRoot, finishRootfs, maskPaths, parentMount, prepareRootfs, readonlyPaths } from "./rootfs.ts";

const ROOTFS = "/rootfs";

function mount(over: Partial<MountOp>): MountOp {
  return {
    what: `mount "${over.target}"`,
    kind: "fs",
    source: "tmpfs",
    fstype: "tmpfs",
    target: "/tmp",
    recursive: false,
    create: "dir",
    params: [],
    attrSet: 0,
    attrClr: 0,
    recSet: 0,
    recClr: 0,
    propagation: [],
    deferReadonly: false,
    mustBeDir: false,
    keepMode: false,
    copyUp: false,
    idmap: null,
    tree: null,
    links: [],
    ...over,
  };
}

function plan(over: Partial<InitPlan> = {}): InitPlan {
  return {
    id: "c",
    rootfs: ROOTFS,
    bundle: "/bundle",
    rootPropagation: null,
    newMountNs: true,
    newCgroupNs: false,
    mounts: [],
    setupDev: false,
    devices: [],
    bindDevices: false,
    devLinks: [],
    noPivot: false,
    readonlyRoot: false,
    readonlyPaths: [],
    maskedPaths: [],
    sysctl: [],
    hostname: null,
    domainname: null,
    sessionKeyring: null,
    process: {
      args: ["sh"],
      env: [],
      cwd: "/",
      uid: 0,
      gid: 0,
      groups: [],
      umask: 0o022,
      caps: null,
      noNewPrivileges: false,
      seccomp: null,
      preserveFds: 0,
      console: null,
      needHome: false,
      rlimits: [],
      startHooks: [],
      hookState: "{}",
      attrs: {},
    },
    netDevices: [],
    createHooks: [],
    runtimeHooks: false,
    createState: "{}",
    fds: { sync: 3, helper: 4, fifo: -1, console: -1 },
    ...over,
  };
}

const noJoin = () => {};

describe("prepareRootfs", () => {
  test("makes / rslave, binds the rootfs onto itself, and opens it before any mount", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    prepareRootfs(sys, plan(), () => "", noJoin);
    expect(sys.calls.slice(0, 3)).toEqual([
      ["mount", null, "/", null, MS_SLAVE | MS_REC, null],
      ["mount", ROOTFS, ROOTFS, null, MS_BIND | MS_REC, null],
      ["openat", "<fd -100>", ROOTFS, expect.any(Number), undefined],
    ]);
  });

  test("with shared propagation the namespace stays shared, but a shared parent of the rootfs is made private for pivot_root", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    const mountinfo = "22 1 8:1 / / rw shared:1 - ext4 /dev/vda rw\n30 22 0:5 / /rootfs rw shared:7 - tmpfs t rw\n";
    prepareRootfs(sys, plan({ rootPropagation: MS_SHARED | MS_REC }), () => mountinfo, noJoin);
    expect(sys.calls.slice(0, 3)).toEqual([
      ["mount", null, "/", null, MS_SHARED | MS_REC, null],
      ["mount", null, "/rootfs", null, 0x40000 /* MS_PRIVATE */, null],
      ["mount", ROOTFS, ROOTFS, null, MS_BIND | MS_REC, null],
    ]);
  });

  test("without a mount namespace leaves the host's / alone and keeps its mounts private", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    prepareRootfs(sys, plan({ newMountNs: false }), () => "", noJoin);
    expect(sys.calls.filter((c) => c[0] === "mount" && c[2] === "/")).toEqual([]);
    expect(sys.calls).toContainEqual(["mount", null, ROOTFS, null, 0x40000 | MS_REC, null]);
  });

  test("bind mount: the target is resolved inside the rootfs and flags are set on the detached tree before it is attached", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/data`]: DIR });
    const m = mount({ kind: "bind", source: "/srv/data", fstype: "", target: "/data", recursive: true, attrSet: MOUNT_ATTR_RDONLY });
    prepareRootfs(sys, plan({ mounts: [m] }), () => "", noJoin);
    const lookup = sys.calls.find((c) => c[0] === "openat2" && c[2] === "/data")!;
    expect(lookup[1]).toBe(ROOTFS);
    expect((lookup[4] as number) & (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)).toBe(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    const names = sys.names();
    expect(names.indexOf("openTree")).toBeLessThan(names.indexOf("mountSetattr"));
    expect(names.indexOf("mountSetattr")).toBeLessThan(names.indexOf("moveMount"));
    expect(sys.calls).toContainEqual(["openTree", "<fd -100>", "/srv/data", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE]);
    expect(sys.calls).toContainEqual(["mountSetattr", "<tree /srv/data>", "", AT_EMPTY_PATH, { set: MOUNT_ATTR_RDONLY, clr: 0 }]);
    expect(sys.calls).toContainEqual(["moveMount", "<tree /srv/data>", "", `${ROOTFS}/data`, "", 0x4 | 0x40]);
  });

  test("a missing target is created with its parents, a file for a file source", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    const m = mount({ kind: "bind", source: "/etc/hosts", target: "/a/b/hosts", create: "file" });
    prepareRootfs(sys, plan({ mounts: [m] }), () => "", noJoin);
    expect(sys.calls.filter((c) => c[0] === "mkdirat").map((c) => c[2])).toEqual(["a", "b"]);
    expect(sys.tree.get(`${ROOTFS}/a/b/hosts`)?.mode).toBe(0o100755);
  });

  test("a new filesystem gets its options through fsconfig and its flags from fsmount", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    const m = mount({ target: "/run", params: [["size", "64m"], ["noswap", null]], attrSet: MOUNT_ATTR_NOSUID });
    prepareRootfs(sys, plan({ mounts: [m] }), () => "", noJoin);
    const fs = sys.calls.filter((c) => ["fsopen", "fsconfig", "fsmount"].includes(c[0]));
    expect(fs.map((c) => c.slice(0, 1).concat(c.slice(2)))).toEqual([
      ["fsopen", 1],
      ["fsconfig", 1, "source", "tmpfs"],
      ["fsconfig", 1, "size", "64m"],
      ["fsconfig", 0, "noswap", null],
      ["fsconfig", 6, null, null],
      ["fsmount", 1, MOUNT_ATTR_NOSUID],
    ]);
  });

  test("a read-only tmpfs is mounted writable and made read-only only after pivot_root", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/tmp`]: DIR });
    const m = mount({ target: "/tmp", attrSet: MOUNT_ATTR_RDONLY, deferReadonly: true });
    const { deferred } = prepareRootfs(sys, plan({ mounts: [m] }), () => "", noJoin);
    expect(sys.calls.find((c) => c[0] === "fsmount")![3]).toBe(0);
    expect(deferred).toHaveLength(1);
    finishRootfs(sys, 1, plan(), deferred);
    expect(sys.calls.at(-2)).toEqual(["mountSetattr", expect.stringContaining("<mount of"), "", AT_EMPTY_PATH, { set: MOUNT_ATTR_RDONLY }]);
  });

  test("proc must land on a real directory, never through a symlink", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/proc`]: 0o120777 });
    const m = mount({ source: "proc", fstype: "proc", target: "/proc", mustBeDir: true });
    expectFailure(() => prepareRootfs(sys, plan({ mounts: [m] }), () => "", noJoin), /real directory/);
    expect(sys.names()).not.toContain("fsopen");
  });

  test("nothing but proc may be mounted on /proc, nothing at all under it outside the allowed files", () => {
    const onProc = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/proc`]: DIR });
    expectFailure(() => prepareRootfs(onProc, plan({ mounts: [mount({ target: "/proc" })] }), () => "", noJoin), /not of type proc/);
    const under = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/proc`]: DIR, [`${ROOTFS}/proc/sysrq-trigger`]: FILE });
    expectFailure(
      () => prepareRootfs(under, plan({ mounts: [mount({ kind: "bind", source: "/x", target: "/proc/sysrq-trigger" })] }), () => "", noJoin),
      /inside \/proc/,
    );
    const allowed = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/proc`]: DIR, [`${ROOTFS}/proc/meminfo`]: FILE });
    prepareRootfs(allowed, plan({ mounts: [mount({ kind: "bind", source: "/x", target: "/proc/meminfo" })] }), () => "", noJoin);
    expect(allowed.names()).toContain("moveMount");
  });

  test("the cgroup namespace is awaited before the first cgroup mount, not before others", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    const order: string[] = [];
    const mounts = [mount({ target: "/tmp" }), mount({ target: "/sys/fs/cgroup", fstype: "cgroup2", source: "cgroup2" })];
    prepareRootfs(sys, plan({ mounts }), () => "", () => order.push(`join after ${sys.names().filter((n) => n === "moveMount").length} mounts`));
    expect(order[0]).toBe("join after 1 mounts");
  });

  test("devices are made with mknodat and chowned; an existing node is kept", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/dev`]: DIR, [`${ROOTFS}/dev/null`]: NULL_DEVICE });
    const devices = [
      { path: "/dev/null", type: "c" as const, major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/fuse", type: "c" as const, major: 10, minor: 229, mode: 0o600, uid: 7, gid: 8 },
    ];
    prepareRootfs(sys, plan({ setupDev: true, devices }), () => "", noJoin);
    const mknods = sys.calls.filter((c) => c[0] === "mknodat");
    expect(mknods).toEqual([
      ["mknodat", `${ROOTFS}/dev`, "null", S_IFCHR | 0o666, 1, 3],
      ["mknodat", `${ROOTFS}/dev`, "fuse", S_IFCHR | 0o600, 10, 229],
    ]);
    expect(sys.calls.filter((c) => c[0] === "fchownat")).toEqual([["fchownat", `${ROOTFS}/dev`, "fuse", 7, 8, 0x100]]);
    expect(sys.calls).toContainEqual(["symlinkat", "pts/ptmx", `${ROOTFS}/dev`, "ptmx"]);
  });

  test("in a user namespace devices are bound from the host, not made", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/dev`]: DIR });
    const devices = [{ path: "/dev/zero", type: "c" as const, major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }];
    prepareRootfs(sys, plan({ setupDev: true, devices, bindDevices: true }), () => "", noJoin);
    expect(sys.names()).not.toContain("mknodat");
    expect(sys.calls).toContainEqual(["openTree", "<fd -100>", "/dev/zero", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC]);
    expect(sys.calls).toContainEqual(["moveMount", "<tree /dev/zero>", "", `${ROOTFS}/dev/zero`, "", 0x44]);
  });

  test("without CAP_MKNOD a device falls back to a bind of the host's node", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR, [`${ROOTFS}/dev`]: DIR });
    sys.failOn = (name) => (name === "mknodat" ? Object.assign(new Error("EPERM"), { code: "EPERM" }) : undefined);
    const devices = [{ path: "/dev/zero", type: "c" as const, major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }];
    prepareRootfs(sys, plan({ setupDev: true, devices }), () => "", noJoin);
    expect(sys.names()).toContain("openTree");
  });
});

describe("enterRoot", () => {
  test("pivot_root stacks the old root on the new one, makes it rslave, then detaches it", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    enterRoot(sys, 42, plan(), "");
    expect(sys.calls.filter((c) => c[0] !== "openat" && c[0] !== "close")).toEqual([
      ["fchdir", "<fd 42>"],
      ["pivotRoot", ".", "."],
      ["fchdir", "/"],
      ["mount", null, ".", null, MS_SLAVE | MS_REC, null],
      ["umount2", ".", 2],
      ["chdir", "/"],
    ]);
  });

  test("rootfsPropagation is applied to the new root once it is the root", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    enterRoot(sys, 42, plan({ rootPropagation: 0x100000 /* MS_SHARED */ }), "");
    expect(sys.calls.filter((c) => c[0] === "mount").at(-1)).toEqual(["mount", null, "/", null, 0x100000, null]);
  });

  test("without a mount namespace only chroot is possible", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    enterRoot(sys, 42, plan({ newMountNs: false }), "");
    expect(sys.names()).not.toContain("pivotRoot");
    expect(sys.calls).toContainEqual(["chroot", "."]);
  });

  test("--no-pivot detaches the host's full procfs and sysfs before moving the root", () => {
    const sys = new FakeSys({ [ROOTFS]: DIR });
    const mountinfo = [
      "22 1 8:1 / / rw shared:1 - ext4 /dev/vda rw",
      "23 22 0:4 / /proc rw - proc proc rw",
      "24 22 0:5 / /sys rw - sysfs sysfs rw",
      "25 22 0:6 / /rootfs/proc rw - proc proc rw",
    ].join("\n");
    enterRoot(sys, 42, plan({ noPivot: true }), mountinfo);
    expect(sys.calls.filter((c) => c[0] === "umount2").map((c) => c[1])).toEqual(["/proc", "/sys"]);
    expect(sys.calls).toContainEqual(["mount", ROOTFS, "/", null, 0x2000, null]);
    expect(sys.calls).toContainEqual(["chroot", "."]);
  });
});

describe("masked and read-only paths", () => {
  test("a file is covered with /dev/null, a directory with a read-only tmpfs, a missing path skipped", () => {
    const sys = new FakeSys({ "/dev/null": NULL_DEVICE, "/proc/kcore": FILE, "/proc/acpi": DIR });
    maskPaths(sys, AT_ROOT(sys), ["/proc/kcore", "/proc/acpi", "/proc/missing"]);
    const moves = sys.calls.filter((c) => c[0] === "moveMount").map((c) => [c[1], c[3]]);
    expect(moves).toEqual([
      ["<tree /dev/null>", "/proc/kcore"],
      ["<mount of <fs tmpfs>>", "/proc/acpi"],
    ]);
    expect(sys.calls.find((c) => c[0] === "fsmount")![3]).toBe(MOUNT_ATTR_RDONLY);
  });

  test("refuses a /dev/null that is not the null device (CVE-2025-31133)", () => {
    const sys = new FakeSys({ "/dev/null": FILE, "/proc/kcore": FILE });
    expect(() => maskPaths(sys, AT_ROOT(sys), ["/proc/kcore"])).toThrow(/not the null device/);
    expect(sys.names()).not.toContain("moveMount");
  });

  test("read-only paths get a recursive read-only clone of themselves", () => {
    const sys = new FakeSys({ "/proc/sys": DIR });
    readonlyPaths(sys, AT_ROOT(sys), ["/proc/sys", "/proc/nope"]);
    expect(sys.calls.filter((c) => ["openTree", "mountSetattr", "moveMount"].includes(c[0]))).toEqual([
      ["openTree", "/proc/sys", "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH],
      ["mountSetattr", "<tree /proc/sys>", "", AT_EMPTY_PATH | AT_RECURSIVE, { set: MOUNT_ATTR_RDONLY }],
      ["moveMount", "<tree /proc/sys>", "", "/proc/sys", "", 0x44],
    ]);
  });
});

describe("parentMount", () => {
  test("finds the longest mount point holding the path", () => {
    const info = "1 0 0:1 / / rw shared:1 - ext4 a rw\n2 1 0:2 / /tmp rw - tmpfs b rw\n3 1 0:3 / /tmpfoo rw - tmpfs c rw\n";
    expect(parentMount(info, "/tmp/x/rootfs")?.mountPoint).toBe("/tmp");
    expect(parentMount(info, "/srv/rootfs")?.shared).toBe(true);
  });
});

/** An fd for "/" of the fake tree, as after pivot_root. */
function AT_ROOT(sys: FakeSys): number {
  return sys.openat(-100, "/", 0);
}

/** The error's whole chain (as users see it) must match. */
function expectFailure(fn: () => unknown, re: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeDefined();
  expect(chain(error)).toMatch(re);
}
