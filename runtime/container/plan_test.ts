import { describe, expect, test } from "bun:test";
import type { Spec } from "../../spec/schema.ts";
import { MOUNT_ATTR_NOEXEC, MOUNT_ATTR_RDONLY, MS_PRIVATE, MS_REC, MS_SHARED } from "../sys/constants.ts";
import { capMask, defaultDeviceRules, type PlanInput, planInit, processEnv } from "./plan.ts";

function config(over: Partial<Spec> = {}, linux: Spec["linux"] = {}): Spec {
  return {
    ociVersion: "1.3.0",
    root: { path: "rootfs" },
    process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: "pid" }, { type: "mount" }], ...linux },
    ...over,
  } as Spec;
}

function input(c: Spec, over: Partial<PlanInput> = {}): PlanInput {
  return {
    id: "c1",
    bundle: "/b",
    rootfs: "/b/rootfs",
    config: c,
    noPivot: false,
    noNewKeyring: false,
    preserveFds: 0,
    extraEnv: [],
    console: false,
    fds: { sync: 3, helper: 4, fifo: 5, console: -1 },
    cgroupMounts: () => [],
    idmap: () => null,
    preparedTree: () => null,
    sourceKind: (p) => (p.endsWith(".conf") ? "file" : "dir"),
    grantable: { capLast: 40, bounding: (1n << 41n) - 1n },
    hasKcore: true,
    seccomp: null,
    warn: () => {},
    ...over,
  };
}

describe("planInit", () => {
  test("every container gets the default devices; linux.devices may redefine one, and never /dev/ptmx", () => {
    const c = config({}, {
      devices: [
        { path: "/dev/null", type: "c", major: 1, minor: 3, fileMode: 0o600 },
        { path: "/dev/ptmx", type: "c", major: 5, minor: 2 },
        { path: "/dev/sda", type: "b", major: 8, minor: 0, uid: 5, gid: 6 },
      ],
    });
    const p = planInit(input(c));
    const byPath = new Map(p.devices.map((d) => [d.path, d]));
    expect([...byPath.keys()].sort()).toEqual(["/dev/full", "/dev/null", "/dev/random", "/dev/sda", "/dev/tty", "/dev/urandom", "/dev/zero"]);
    expect(byPath.get("/dev/null")!.mode).toBe(0o600);
    expect(byPath.get("/dev/sda")).toEqual({ path: "/dev/sda", type: "b", major: 8, minor: 0, mode: 0o666, uid: 5, gid: 6 });
    expect(p.devLinks).toContainEqual(["/proc/kcore", "/dev/core"]);
  });

  test("a bind mount of /dev means the container brings its own /dev: nothing is created there", () => {
    const c = config({ mounts: [{ destination: "/dev", type: "bind", source: "/dev", options: ["rbind"] }] });
    expect(planInit(input(c)).setupDev).toBe(false);
    expect(planInit(input(config())).setupDev).toBe(true);
  });

  test("bind sources are taken relative to the bundle, and a file source makes a file target", () => {
    const c = config({ mounts: [{ destination: "/etc/app.conf", source: "app.conf", options: ["bind", "ro"] }] });
    const [m] = planInit(input(c)).mounts;
    expect(m).toMatchObject({ kind: "bind", source: "/b/app.conf", target: "/etc/app.conf", create: "file", attrSet: MOUNT_ATTR_RDONLY });
  });

  test("a missing bind source is an error naming the mount", () => {
    const c = config({ mounts: [{ destination: "/data", source: "/nope", options: ["bind"] }] });
    expect(() => planInit(input(c, { sourceKind: () => null }))).toThrow('mount "/data" (bind from "/nope"): source does not exist');
  });

  test("read-only tmpfs and /dev are made read-only after their contents exist", () => {
    const c = config({
      mounts: [
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["ro", "mode=755"] },
        { destination: "/proc", type: "proc", source: "proc", options: ["noexec"] },
      ],
    });
    const [dev, proc] = planInit(input(c)).mounts;
    expect(dev).toMatchObject({ deferReadonly: true, params: [["mode", "755"]], keepMode: true });
    expect(proc).toMatchObject({ deferReadonly: false, mustBeDir: true, attrSet: MOUNT_ATTR_NOEXEC });
  });

  test("rootfsPropagation maps to mount flags; nothing when unset", () => {
    expect(planInit(input(config())).rootPropagation).toBeNull();
    expect(planInit(input(config({}, { rootfsPropagation: "shared" }))).rootPropagation).toBe(MS_SHARED);
    expect(planInit(input(config({}, { rootfsPropagation: "rprivate" as never }))).rootPropagation).toBe(MS_PRIVATE | MS_REC);
  });

  test("capabilities become masks; an unknown name is an error naming the set", () => {
    const all = { capLast: 40, bounding: (1n << 41n) - 1n };
    expect(capMask(["CAP_CHOWN", "CAP_KILL"], "f", all, () => {})).toBe(0b100001n);
    expect(() => capMask(["CAP_TEST"], "process.capabilities.bounding", all, () => {})).toThrow(
      'process.capabilities.bounding: unknown capability "CAP_TEST"',
    );
  });

  test("capabilities that cannot be granted are left out with a warning, not refused", () => {
    const warnings: string[] = [];
    expect(capMask(["CAP_CHECKPOINT_RESTORE"], "f", { capLast: 39, bounding: (1n << 40n) - 1n }, (w) => warnings.push(w))).toBe(0n);
    // Root here lacks CAP_SYS_RESOURCE (24) in its bounding set.
    const noResource = { capLast: 40, bounding: ((1n << 41n) - 1n) & ~(1n << 24n) };
    expect(capMask(["CAP_SYS_RESOURCE", "CAP_KILL"], "f", noResource, (w) => warnings.push(w))).toBe(1n << 5n);
    expect(warnings).toEqual([
      'f: capability "CAP_CHECKPOINT_RESTORE" is not supported by this kernel; left out',
      'f: capability "CAP_SYS_RESOURCE" is not in tsrun\'s own bounding set, so it cannot be granted; left out',
    ]);
  });

  test("no capabilities in the config means they are left as they are", () => {
    expect(planInit(input(config())).process.caps).toBeNull();
  });

  test("rlimits keep their full 64-bit range and unknown types are refused", () => {
    const c = config({ process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 }, rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }] } });
    expect(planInit(input(c)).process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", resource: 7, soft: "1024", hard: "4096" }]);
    const bad = config({ process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 }, rlimits: [{ type: "RLIMIT_TEST", soft: 1, hard: 1 }] } });
    expect(() => planInit(input(bad))).toThrow('unknown rlimit "RLIMIT_TEST"');
  });

  test("HOME is looked up only when the env lacks it; LISTEN_FDS is added to the env", () => {
    const c = config({ process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 }, env: ["HOME=/root"] } });
    expect(planInit(input(c)).process.needHome).toBe(false);
    const p = planInit(input(config(), { extraEnv: ["LISTEN_FDS=2", "LISTEN_PID=1"], preserveFds: 3 })).process;
    expect(p).toMatchObject({ needHome: true, preserveFds: 3, env: ["LISTEN_FDS=2", "LISTEN_PID=1"] });
  });

  test("a terminal takes the console size; the session keyring is per container unless --no-new-keyring", () => {
    const c = config({ process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 }, terminal: true, consoleSize: { height: 40, width: 120 } } });
    expect(planInit(input(c, { console: true })).process.console).toEqual({ rows: 40, cols: 120, bindConsole: true });
    expect(planInit(input(config())).sessionKeyring).toBe("_ses.c1");
    expect(planInit(input(config(), { noNewKeyring: true })).sessionKeyring).toBeNull();
  });

  test("a new cgroup namespace is left to init; a joined one is not", () => {
    expect(planInit(input(config({}, { namespaces: [{ type: "cgroup" }, { type: "mount" }] }))).newCgroupNs).toBe(true);
    expect(planInit(input(config({}, { namespaces: [{ type: "cgroup", path: "/proc/1/ns/cgroup" }] }))).newCgroupNs).toBe(false);
  });
});

describe("defaultDeviceRules", () => {
  test("runc's defaults follow, minus a default device the config redefines", () => {
    const rules = defaultDeviceRules(config({}, { devices: [{ path: "/dev/tty", type: "c", major: 5, minor: 0 }] }));
    expect(rules.slice(0, 2)).toEqual([
      { allow: true, type: "c", access: "m" },
      { allow: true, type: "b", access: "m" },
    ]);
    expect(rules.some((r) => r.major === 5 && r.minor === 0)).toBe(false);
    expect(rules.some((r) => r.major === 136 && r.minor === undefined)).toBe(true);
  });
});

describe("processEnv", () => {
  test("a later entry overrides an earlier one in place (exec --env over the config's)", () => {
    expect(processEnv(["PATH=/bin", "A=1", "B=2", "A=3", "C="], "process.env")).toEqual(["PATH=/bin", "A=3", "B=2", "C="]);
  });

  test("entries that are not NAME=value are refused, naming the entry", () => {
    expect(() => processEnv(["A=1", "JUSTNAME"], "process.env")).toThrow('process.env[1]: "JUSTNAME" is not NAME=value');
    expect(() => processEnv(["=x"], "process.env")).toThrow("empty name");
    expect(() => processEnv(["A=\0"], "process.env")).toThrow("NUL");
  });
});
