import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as module from "./checks.ts";
import {
  annotationKeysNotEmpty,
  blockIOWeightDevices,
  cgroupsPathFormat,
  checks,
  cpuAffinityLists,
  cpuBurst,
  cwdAbsolute,
  deviceCgroupAccess,
  devicesValid,
  hookPathsAbsolute,
  intelRdtClosID,
  ioPriorityInRange,
  kernelMemoryIgnored,
  listSize,
  maskedAndReadonlyPaths,
  memoryLimits,
  memoryPolicyNodes,
  mountDestinations,
  mountIdMappings,
  namespacePathsAbsolute,
  namespacesUnique,
  netDevicesValid,
  noNulBytes,
  ociVersionKnown,
  oomScoreAdjInRange,
  personalityFlagsIgnored,
  processPresent,
  rdmaLimits,
  relativeMountDestinations,
  rlimitsValid,
  rootPathNotEmpty,
  rootlessNeedsUserNamespace,
  schedulerValid,
  seccompValid,
  sysctlNamespaces,
  timeNamespaceOffsets,
  umaskInRange,
  unknownCapabilities,
  userNamespaceMappings,
  utsForNames,
  warnings,
  type Check,
  type CheckOptions,
} from "./checks.ts";
import { formatProblem } from "./problem.ts";
import { defaultSpec } from "./defaults.ts";
import type { Spec } from "./schema.ts";

// Valid and quiet under every check: the tests below each break one thing.
function base(): Spec {
  return {
    ociVersion: "1.3.0",
    root: { path: "rootfs" },
    process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
    },
  };
}

const run = (check: Check, spec: Spec, options: CheckOptions = {}) =>
  [...check(spec, options)].map((p) => formatProblem("config.json", p));

const fixture = (name: string): Spec => JSON.parse(readFileSync(join(import.meta.dir, "testdata", name), "utf8"));

describe("the check lists", () => {
  test("every exported check is in the checks or the warnings list, once", () => {
    const exported = Object.values(module).filter((v) => typeof v === "function" && v.constructor.name === "GeneratorFunction");
    expect(exported.length).toBe(checks.length + warnings.length);
    for (const fn of exported) expect([...checks, ...warnings].filter((c) => c === fn)).toHaveLength(1);
  });

  test("the process-only lists are subsets of the config lists", () => {
    for (const check of module.processChecks) expect(checks).toContain(check);
    for (const check of module.processWarnings) expect(warnings).toContain(check);
  });

  test.each([
    ["the base config", base()],
    ["the full fixture", fixture("full.json")],
    ["runc's spec", fixture("runc_spec.json")],
    ["runc's rootless spec", fixture("runc_spec_rootless.json")],
    ["podman's default config", fixture("podman_default.json")],
    ["podman's userns config", fixture("podman_userns_limits.json")],
    ["our default spec", defaultSpec()],
    ["our rootless default spec", defaultSpec({ rootless: true })],
  ])("no check objects to %s", (_, spec) => {
    for (const check of checks) expect({ check: check.name, problems: run(check, spec) }).toEqual({ check: check.name, problems: [] });
  });
});

describe("process", () => {
  test("a missing process is refused", () => {
    const spec = base();
    delete spec.process;
    expect(run(processPresent, spec)).toEqual(["config.json: process: is required"]);
    expect(run(processPresent, base())).toEqual([]);
  });

  test("a relative cwd is refused", () => {
    const spec = base();
    spec.process!.cwd = "home/user";
    expect(run(cwdAbsolute, spec)).toEqual(['config.json: process.cwd: must be an absolute path, found "home/user"']);
  });

  test("umask accepts 0777 and refuses anything larger", () => {
    const spec = base();
    spec.process!.user.umask = 0o777;
    expect(run(umaskInRange, spec)).toEqual([]);
    spec.process!.user.umask = 0o1000;
    expect(run(umaskInRange, spec)).toEqual(["config.json: process.user.umask: must be at most 511 (0777), found 512"]);
  });

  test("oomScoreAdj stays within the kernel's -1000..1000", () => {
    const spec = base();
    spec.process!.oomScoreAdj = -1000;
    expect(run(oomScoreAdjInRange, spec)).toEqual([]);
    spec.process!.oomScoreAdj = 1001;
    expect(run(oomScoreAdjInRange, spec)).toEqual(["config.json: process.oomScoreAdj: must be between -1000 and 1000, found 1001"]);
  });

  test("an rlimit type listed twice is refused at the second entry", () => {
    const spec = base();
    spec.process!.rlimits = [
      { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
      { type: "RLIMIT_NOFILE", soft: 2, hard: 2 },
    ];
    expect(run(rlimitsValid, spec)).toEqual([
      'config.json: process.rlimits[2].type: repeats the type at index 0, found "RLIMIT_NOFILE"',
    ]);
  });

  test("an rlimit the kernel does not know is refused", () => {
    const spec = base();
    spec.process!.rlimits = [{ type: "RLIMIT_FILES", soft: 1, hard: 1 }];
    expect(run(rlimitsValid, spec)).toEqual(['config.json: process.rlimits[0].type: must be a resource getrlimit(2) knows, found "RLIMIT_FILES"']);
  });

  test("an rlimit whose soft limit exceeds its hard limit is refused", () => {
    const spec = base();
    spec.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 2048, hard: 1024 }];
    expect(run(rlimitsValid, spec)).toEqual(["config.json: process.rlimits[0].soft: must not exceed hard (1024), found 2048"]);
  });

  test("scheduler nice, priority and deadline fields must suit the policy", () => {
    const spec = base();
    spec.process!.scheduler = { policy: "SCHED_OTHER", nice: 20, priority: 5, runtime: 10 };
    expect(run(schedulerValid, spec)).toEqual([
      "config.json: process.scheduler.nice: must be between -20 and 19 for SCHED_OTHER, found 20",
      "config.json: process.scheduler.priority: is only for SCHED_FIFO and SCHED_RR, found 5",
      "config.json: process.scheduler.runtime: is only for SCHED_DEADLINE, found 10",
    ]);
    spec.process!.scheduler = { policy: "SCHED_FIFO", nice: 30, priority: 50 };
    expect(run(schedulerValid, spec)).toEqual([]);
    spec.process!.scheduler = { policy: "SCHED_DEADLINE", runtime: 1, deadline: 2, period: 3 };
    expect(run(schedulerValid, spec)).toEqual([]);
  });

  test("ioPriority must be 0..7", () => {
    const spec = base();
    spec.process!.ioPriority = { class: "IOPRIO_CLASS_RT", priority: 7 };
    expect(run(ioPriorityInRange, spec)).toEqual([]);
    spec.process!.ioPriority = { class: "IOPRIO_CLASS_RT", priority: 8 };
    expect(run(ioPriorityInRange, spec)).toEqual(["config.json: process.ioPriority.priority: must be between 0 (highest) and 7 (lowest), found 8"]);
  });

  test("execCPUAffinity lists must parse", () => {
    const spec = base();
    spec.process!.execCPUAffinity = { initial: "0-3,7", final: "3-1" };
    expect(run(cpuAffinityLists, spec)).toEqual(['config.json: process.execCPUAffinity.final: must be a CPU list such as "0-3,7", found "3-1"']);
  });

  test("listSize counts CPU and node lists and rejects malformed ones", () => {
    expect(listSize("0-3,7")).toBe(5);
    expect(listSize(" 1 - 2 , 4 ")).toBe(3);
    expect(listSize("")).toBe(0);
    for (const bad of ["1-", "a", "1,,2", "3-1", "-1"]) expect(listSize(bad)).toBeUndefined();
  });
});

describe("root, mounts, hooks, annotations", () => {
  test("an empty root.path is refused", () => {
    const spec = base();
    spec.root.path = "";
    expect(run(rootPathNotEmpty, spec)).toEqual(["config.json: root.path: must not be empty"]);
  });

  test("an empty mount destination is refused", () => {
    const spec = base();
    spec.mounts!.push({ destination: "" });
    expect(run(mountDestinations, spec)).toEqual(["config.json: mounts[1].destination: must not be empty"]);
  });

  test("a relative mount destination is accepted with a warning, as runc does", () => {
    const spec = base();
    spec.mounts!.push({ destination: "data", source: "/srv", options: ["rbind"] });
    expect(run(mountDestinations, spec)).toEqual([]);
    expect(run(relativeMountDestinations, spec)).toEqual([
      'config.json: mounts[1].destination: is relative, which is deprecated; taking it as relative to "/", found "data"',
    ]);
  });

  test("mount uidMappings and gidMappings must come together", () => {
    const spec = base();
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    spec.mounts = [
      { destination: "/a", source: "/a", options: ["bind", "idmap"], uidMappings: map },
      { destination: "/b", source: "/b", options: ["bind", "idmap"], gidMappings: map },
    ];
    expect(run(mountIdMappings, spec)).toEqual([
      "config.json: mounts[0].gidMappings: is required with uidMappings",
      "config.json: mounts[1].uidMappings: is required with gidMappings",
    ]);
  });

  test("an id-mapped mount must be a bind mount", () => {
    const spec = base();
    const map = [{ containerID: 0, hostID: 1000, size: 10 }];
    spec.mounts = [{ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"], uidMappings: map, gidMappings: map }];
    expect(run(mountIdMappings, spec)).toEqual([
      'config.json: mounts[0].options: an id-mapped mount must be a "bind" or "rbind" mount, found ["idmap"]',
    ]);
  });

  test("idmap without mappings needs the container's user namespace", () => {
    const spec = base();
    spec.mounts = [{ destination: "/d", source: "/d", options: ["rbind", "ridmap"] }];
    expect(run(mountIdMappings, spec)).toEqual([
      'config.json: mounts[0].options: idmap needs uidMappings and gidMappings, or a "user" entry in linux.namespaces, found ["rbind","ridmap"]',
    ]);
    spec.linux!.namespaces!.push({ type: "user" });
    expect(run(mountIdMappings, spec)).toEqual([]);
  });

  test("id-mapped mounts are refused for rootless containers", () => {
    const spec = base();
    spec.linux!.namespaces!.push({ type: "user" });
    spec.mounts = [{ destination: "/d", source: "/d", options: ["bind", "idmap"] }];
    expect(run(mountIdMappings, spec, { rootless: true })).toEqual([
      "config.json: mounts[0]: id-mapped mounts are not supported for rootless containers",
    ]);
  });

  test("a relative hook path is refused wherever the hook is", () => {
    const spec = base();
    spec.hooks = { createRuntime: [{ path: "/bin/ok" }, { path: "bin/setup" }], poststop: [{ path: "cleanup" }] };
    expect(run(hookPathsAbsolute, spec)).toEqual([
      'config.json: hooks.createRuntime[1].path: must be an absolute path, found "bin/setup"',
      'config.json: hooks.poststop[0].path: must be an absolute path, found "cleanup"',
    ]);
  });

  test("an empty annotation key is refused; an empty value is fine", () => {
    const spec = base();
    spec.annotations = { "com.example": "" };
    expect(run(annotationKeysNotEmpty, spec)).toEqual([]);
    spec.annotations = { "": "x" };
    expect(run(annotationKeysNotEmpty, spec)).toEqual(['config.json: annotations: keys must not be empty, found ""']);
  });

  test("a NUL byte in any string or key that reaches the kernel is refused, but not in annotations", () => {
    const spec = base();
    spec.process!.args = ["sh", "-c\0rm"];
    spec.linux!.sysctl = { "net.core\0x": "1" };
    spec.annotations = { note: "a\0b" };
    expect(run(noNulBytes, spec)).toEqual([
      'config.json: process.args[1]: must not contain a NUL byte, found "-c\\u0000rm"',
      'config.json: linux.sysctl: keys must not contain a NUL byte, found "net.core\\u0000x"',
    ]);
  });
});

describe("namespaces", () => {
  test("a namespace type listed twice is refused at the second entry", () => {
    const spec = base();
    spec.linux!.namespaces!.push({ type: "network", path: "/run/netns/a" });
    expect(run(namespacesUnique, spec)).toEqual(['config.json: linux.namespaces[5].type: repeats the type at index 1, found "network"']);
  });

  test("a relative namespace path is refused; an empty one means a new namespace", () => {
    const spec = base();
    spec.linux!.namespaces = [{ type: "pid", path: "" }, { type: "network", path: "proc/1/ns/net" }];
    expect(run(namespacePathsAbsolute, spec)).toEqual(['config.json: linux.namespaces[1].path: must be an absolute path, found "proc/1/ns/net"']);
  });

  test("id mappings without a user namespace are refused", () => {
    const spec = base();
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    spec.linux!.gidMappings = [];
    expect(run(userNamespaceMappings, spec)).toEqual(['config.json: linux.uidMappings: needs a "user" entry in linux.namespaces']);
  });

  test("a new user namespace needs both mappings", () => {
    const spec = base();
    spec.linux!.namespaces!.push({ type: "user" });
    expect(run(userNamespaceMappings, spec)).toEqual([
      "config.json: linux.uidMappings: is required for a new user namespace",
      "config.json: linux.gidMappings: is required for a new user namespace",
    ]);
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(run(userNamespaceMappings, spec)).toEqual(["config.json: linux.gidMappings: is required for a new user namespace"]);
  });

  test("a joined user namespace needs no mappings", () => {
    const spec = base();
    spec.linux!.namespaces!.push({ type: "user", path: "/proc/42/ns/user" });
    expect(run(userNamespaceMappings, spec)).toEqual([]);
  });

  test("timeOffsets need a new time namespace and known clocks", () => {
    const spec = base();
    spec.linux!.timeOffsets = { monotonic: { secs: 1 }, realtime: { secs: 5 } };
    expect(run(timeNamespaceOffsets, spec)).toEqual([
      'config.json: linux.timeOffsets: needs a "time" entry in linux.namespaces',
      'config.json: linux.timeOffsets.realtime: must be "boottime" or "monotonic", found "realtime"',
    ]);
    spec.linux!.timeOffsets = { boottime: { secs: 1 } };
    spec.linux!.namespaces!.push({ type: "time", path: "/proc/42/ns/time" });
    expect(run(timeNamespaceOffsets, spec)).toEqual([
      "config.json: linux.timeOffsets: cannot apply to a joined time namespace (linux.namespaces has a path for it)",
    ]);
    spec.linux!.namespaces![5] = { type: "time" };
    expect(run(timeNamespaceOffsets, spec)).toEqual([]);
  });

  test("hostname and domainname need a uts namespace, new or joined", () => {
    const spec = base();
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== "uts");
    spec.hostname = "web";
    spec.domainname = "example.test";
    expect(run(utsForNames, spec)).toEqual([
      'config.json: hostname: needs a "uts" entry in linux.namespaces, found "web"',
      'config.json: domainname: needs a "uts" entry in linux.namespaces, found "example.test"',
    ]);
    spec.linux!.namespaces!.push({ type: "uts", path: "/proc/42/ns/uts" });
    expect(run(utsForNames, spec)).toEqual([]);
  });

  test("rootless containers need a user namespace", () => {
    expect(run(rootlessNeedsUserNamespace, base(), { rootless: true })).toEqual([
      'config.json: linux.namespaces: needs a "user" entry in linux.namespaces for a rootless container',
    ]);
    expect(run(rootlessNeedsUserNamespace, base())).toEqual([]);
  });
});

describe("sysctl", () => {
  function sysctlProblems(names: string[], namespaces: string[]) {
    const spec = base();
    spec.linux = { namespaces: namespaces.map((type) => ({ type }) as never), sysctl: Object.fromEntries(names.map((n) => [n, "1"])) };
    return run(sysctlNamespaces, spec);
  }

  test("ipc sysctls need an ipc namespace", () => {
    const names = ["kernel.shmmax", "kernel.msgmnb", "kernel.sem", "kernel.shm_rmid_forced", "fs.mqueue.msg_max"];
    expect(sysctlProblems(names, ["ipc"])).toEqual([]);
    expect(sysctlProblems(names, ["network"])).toEqual(names.map((n) => `config.json: linux.sysctl["${n}"]: needs a "ipc" entry in linux.namespaces`));
  });

  test("net sysctls need a network namespace, in dotted or slashed form", () => {
    expect(sysctlProblems(["net.ipv4.ip_forward", "net/ipv4/conf/eth0.100/rp_filter"], ["network"])).toEqual([]);
    expect(sysctlProblems(["net.ipv4.ip_forward", "net/ipv4/conf/eth0.100/rp_filter"], ["ipc"])).toEqual([
      'config.json: linux.sysctl["net.ipv4.ip_forward"]: needs a "network" entry in linux.namespaces',
      'config.json: linux.sysctl["net/ipv4/conf/eth0.100/rp_filter"]: needs a "network" entry in linux.namespaces',
    ]);
    // The slashed form of an ipc sysctl is recognised too.
    expect(sysctlProblems(["kernel/shmmax"], ["ipc"])).toEqual([]);
  });

  test("kernel.domainname needs a uts namespace; kernel.hostname is refused in favour of the hostname field", () => {
    expect(sysctlProblems(["kernel.domainname"], ["uts"])).toEqual([]);
    expect(sysctlProblems(["kernel.domainname", "kernel.hostname"], [])).toEqual([
      'config.json: linux.sysctl["kernel.domainname"]: needs a "uts" entry in linux.namespaces',
      'config.json: linux.sysctl["kernel.hostname"]: needs a "uts" entry in linux.namespaces',
    ]);
    expect(sysctlProblems(["kernel.hostname"], ["uts"])).toEqual([
      'config.json: linux.sysctl["kernel.hostname"]: conflicts with the "hostname" field; set that instead',
    ]);
  });

  test("user.* sysctls need a user namespace", () => {
    expect(sysctlProblems(["user.max_user_namespaces"], ["user"])).toEqual([]);
    expect(sysctlProblems(["user.max_user_namespaces"], ["ipc"])).toEqual([
      'config.json: linux.sysctl["user.max_user_namespaces"]: needs a "user" entry in linux.namespaces',
    ]);
  });

  test("sysctls no namespace owns are refused whatever the namespaces", () => {
    expect(sysctlProblems(["vm.swappiness", "kernel.pid_max"], ["pid", "network", "ipc", "uts", "user", "mount", "cgroup", "time"])).toEqual([
      'config.json: linux.sysctl["vm.swappiness"]: is not namespaced: setting it would change the host',
      'config.json: linux.sysctl["kernel.pid_max"]: is not namespaced: setting it would change the host',
    ]);
  });
});

describe("filesystem", () => {
  test("masked and readonly paths must be absolute and need a mount namespace", () => {
    const spec = base();
    spec.linux!.maskedPaths = ["/proc/kcore", "proc/keys"];
    spec.linux!.readonlyPaths = ["/proc/sys"];
    expect(run(maskedAndReadonlyPaths, spec)).toEqual(['config.json: linux.maskedPaths[1]: must be an absolute path, found "proc/keys"']);
    spec.linux!.namespaces = [{ type: "pid" }];
    expect(run(maskedAndReadonlyPaths, spec)).toEqual([
      'config.json: linux.maskedPaths[1]: must be an absolute path, found "proc/keys"',
      'config.json: linux.maskedPaths: needs a "mount" entry in linux.namespaces',
      'config.json: linux.readonlyPaths: needs a "mount" entry in linux.namespaces',
    ]);
  });

  test("c, b and u devices need major and minor; p devices do not", () => {
    const spec = base();
    spec.linux!.devices = [
      { type: "c", path: "/dev/fuse", major: 10 },
      { type: "b", path: "/dev/sda" },
      { type: "u", path: "/dev/u", major: 1, minor: 2 },
      { type: "p", path: "/dev/fifo" },
    ];
    expect(run(devicesValid, spec)).toEqual([
      'config.json: linux.devices[0]: needs major and minor for type "c"',
      'config.json: linux.devices[1]: needs major and minor for type "b"',
    ]);
  });

  test("a device path must be absolute", () => {
    const spec = base();
    spec.linux!.devices = [{ type: "p", path: "dev/fifo" }];
    expect(run(devicesValid, spec)).toEqual(['config.json: linux.devices[0].path: must be an absolute path, found "dev/fifo"']);
  });
});

describe("cgroups", () => {
  test("a device cgroup rule without access is refused, as runc does", () => {
    const spec = base();
    spec.linux!.resources = { devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3 }, { allow: true, access: "" }] };
    expect(run(deviceCgroupAccess, spec)).toEqual([
      "config.json: linux.resources.devices[1].access: must not be empty",
      "config.json: linux.resources.devices[2].access: must not be empty",
    ]);
  });

  test("memory swap below the memory limit is refused", () => {
    const spec = base();
    spec.linux!.resources = { memory: { limit: 1024, swap: 512 } };
    expect(run(memoryLimits, spec)).toEqual([
      "config.json: linux.resources.memory.swap: must be at least limit (1024): it counts memory+swap, found 512",
    ]);
    for (const swap of [-1, 0, 1024, 4096]) {
      spec.linux!.resources = { memory: { limit: 1024, swap } };
      expect(run(memoryLimits, spec)).toEqual([]);
    }
    spec.linux!.resources = { memory: { limit: -1, swap: 512 } };
    expect(run(memoryLimits, spec)).toEqual([]);
  });

  test("swappiness must be 0..100, except uint64 -1 which means unset", () => {
    const spec = base();
    spec.linux!.resources = { memory: { swappiness: 101 } };
    expect(run(memoryLimits, spec)).toEqual(["config.json: linux.resources.memory.swappiness: must be between 0 and 100, found 101"]);
    spec.linux!.resources = { memory: { swappiness: 18446744073709551615 } };
    expect(run(memoryLimits, spec)).toEqual([]);
  });

  test("cpu burst must not exceed a positive quota", () => {
    const spec = base();
    spec.linux!.resources = { cpu: { quota: 1000, burst: 2000 } };
    expect(run(cpuBurst, spec)).toEqual(["config.json: linux.resources.cpu.burst: must not exceed quota (1000), found 2000"]);
    spec.linux!.resources = { cpu: { quota: -1, burst: 2000 } };
    expect(run(cpuBurst, spec)).toEqual([]);
  });

  test("a weightDevice entry needs weight or leafWeight", () => {
    const spec = base();
    spec.linux!.resources = { blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 10 }, { major: 8, minor: 16 }] } };
    expect(run(blockIOWeightDevices, spec)).toEqual(["config.json: linux.resources.blockIO.weightDevice[1]: needs weight or leafWeight"]);
  });

  test("an rdma entry needs hcaHandles or hcaObjects", () => {
    const spec = base();
    spec.linux!.resources = { rdma: { mlx5_1: { hcaObjects: 1 }, mlx4_0: {} } };
    expect(run(rdmaLimits, spec)).toEqual(["config.json: linux.resources.rdma.mlx4_0: needs hcaHandles or hcaObjects"]);
  });

  test("with the systemd driver cgroupsPath must be slice:prefix:name", () => {
    const spec = base();
    spec.linux!.cgroupsPath = "/tsrun/web";
    expect(run(cgroupsPathFormat, spec)).toEqual([]);
    expect(run(cgroupsPathFormat, spec, { systemdCgroup: true })).toEqual([
      'config.json: linux.cgroupsPath: must be "slice:prefix:name" with the systemd cgroup driver, found "/tsrun/web"',
    ]);
    for (const ok of ["system.slice:tsrun:web", ":tsrun:web", "machine-web.slice:tsrun:web"]) {
      spec.linux!.cgroupsPath = ok;
      expect(run(cgroupsPathFormat, spec, { systemdCgroup: true })).toEqual([]);
    }
    for (const bad of ["system:tsrun:web", ".slice:tsrun:web", "a/b.slice:tsrun:web"]) {
      spec.linux!.cgroupsPath = bad;
      expect(run(cgroupsPathFormat, spec, { systemdCgroup: true })).toEqual([
        `config.json: linux.cgroupsPath: must name a slice unit such as "system.slice" before the first ":", found "${bad}"`,
      ]);
    }
  });
});

describe("security", () => {
  test("errnoRet is only accepted on actions that return an errno", () => {
    const spec = base();
    spec.linux!.seccomp = {
      defaultAction: "SCMP_ACT_KILL",
      defaultErrnoRet: 1,
      syscalls: [
        { names: ["mount"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
        { names: ["ptrace"], action: "SCMP_ACT_TRACE", errnoRet: 1 },
        { names: ["reboot"], action: "SCMP_ACT_ALLOW", errnoRet: 1 },
      ],
    };
    expect(run(seccompValid, spec)).toEqual([
      "config.json: linux.seccomp.defaultErrnoRet: is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_KILL, found 1",
      "config.json: linux.seccomp.syscalls[2].errnoRet: is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_ALLOW, found 1",
    ]);
  });

  test("listenerMetadata needs listenerPath", () => {
    const spec = base();
    spec.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" };
    expect(run(seccompValid, spec)).toEqual(["config.json: linux.seccomp.listenerMetadata: needs listenerPath"]);
  });

  test("SCMP_ACT_NOTIFY needs a listener and may trap neither everything nor write", () => {
    const spec = base();
    spec.linux!.seccomp = { defaultAction: "SCMP_ACT_NOTIFY", syscalls: [{ names: ["mkdir", "write"], action: "SCMP_ACT_NOTIFY" }] };
    expect(run(seccompValid, spec)).toEqual([
      `config.json: linux.seccomp.defaultAction: cannot be SCMP_ACT_NOTIFY: the runtime's own writes would be trapped, found "SCMP_ACT_NOTIFY"`,
      "config.json: linux.seccomp.syscalls[0].names: cannot send write to SCMP_ACT_NOTIFY: the runtime's own writes would be trapped",
      "config.json: linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY",
    ]);
  });

  test("empty syscall names and argument indexes past the sixth are refused", () => {
    const spec = base();
    spec.linux!.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["read", ""], action: "SCMP_ACT_ERRNO", args: [{ index: 5, value: 1, op: "SCMP_CMP_EQ" }, { index: 6, value: 1, op: "SCMP_CMP_EQ" }] }],
    };
    expect(run(seccompValid, spec)).toEqual([
      "config.json: linux.seccomp.syscalls[0].names[1]: must not be empty",
      "config.json: linux.seccomp.syscalls[0].args[1].index: must be at most 5: syscalls take six arguments, found 6",
    ]);
  });

  test("intelRdt closID must be one directory or the root", () => {
    const spec = base();
    for (const closID of ["/", "gold"]) {
      spec.linux!.intelRdt = { closID };
      expect(run(intelRdtClosID, spec)).toEqual([]);
    }
    for (const closID of [".", "..", "a/b", "/gold"]) {
      spec.linux!.intelRdt = { closID };
      expect(run(intelRdtClosID, spec)).toEqual([`config.json: linux.intelRdt.closID: must be "/" or a single directory name, found ${JSON.stringify(closID)}`]);
    }
  });

  test("memoryPolicy nodes must suit the mode", () => {
    const spec = base();
    const cases: [NonNullable<Spec["linux"]>["memoryPolicy"], string[]][] = [
      [{ mode: "MPOL_BIND", nodes: "0-1" }, []],
      [{ mode: "MPOL_PREFERRED" }, []],
      [{ mode: "MPOL_LOCAL", nodes: "" }, []],
      [{ mode: "MPOL_DEFAULT", nodes: "0" }, ['config.json: linux.memoryPolicy.nodes: must be empty for MPOL_DEFAULT, found "0"']],
      [{ mode: "MPOL_INTERLEAVE" }, ["config.json: linux.memoryPolicy.nodes: needs at least one node for MPOL_INTERLEAVE"]],
      [{ mode: "MPOL_BIND", nodes: "1-0" }, ['config.json: linux.memoryPolicy.nodes: must be a node list such as "0-3,7", found "1-0"']],
    ];
    for (const [memoryPolicy, expected] of cases) {
      spec.linux!.memoryPolicy = memoryPolicy;
      expect(run(memoryPolicyNodes, spec)).toEqual(expected);
    }
  });

  test("netDevices need a network namespace and valid names, and no rootless mode", () => {
    const spec = base();
    spec.linux!.netDevices = { eth1: { name: "ctr0" }, "bad/name": {}, eth2: { name: "x".repeat(16) } };
    expect(run(netDevicesValid, spec)).toEqual([
      'config.json: linux.netDevices["bad/name"]: is not a valid interface name, found "bad/name"',
      `config.json: linux.netDevices.eth2.name: is not a valid interface name, found "${"x".repeat(16)}"`,
    ]);
    spec.linux!.netDevices = { eth1: {} };
    spec.linux!.namespaces = [{ type: "pid" }];
    expect(run(netDevicesValid, spec, { rootless: true })).toEqual([
      'config.json: linux.netDevices: needs a "network" entry in linux.namespaces',
      "config.json: linux.netDevices: cannot be used by a rootless container",
    ]);
  });
});

describe("warnings", () => {
  test("an ociVersion that is not 1.x.y is warned about", () => {
    const spec = base();
    for (const ok of ["1.0.0", "1.0.2-dev", "1.3.0+dev"]) {
      spec.ociVersion = ok;
      expect(run(ociVersionKnown, spec)).toEqual([]);
    }
    spec.ociVersion = "2.0.0";
    expect(run(ociVersionKnown, spec)).toEqual(['config.json: ociVersion: is not a 1.x.y version; reading the config as 1.x anyway, found "2.0.0"']);
  });

  test("unknown capabilities are warned about, not refused", () => {
    const spec = base();
    spec.process!.capabilities = { bounding: ["CAP_KILL", "CAP_FLY"], ambient: ["NET_ADMIN"] };
    expect(run(unknownCapabilities, spec)).toEqual([
      'config.json: process.capabilities.bounding[1]: is not a known capability and is skipped, found "CAP_FLY"',
      'config.json: process.capabilities.ambient[0]: is not a known capability and is skipped, found "NET_ADMIN"',
    ]);
  });

  test("kernel memory limits and personality flags are reported as ignored", () => {
    const spec = base();
    spec.linux!.resources = { memory: { kernelTCP: 1 } };
    spec.linux!.personality = { domain: "LINUX32", flags: ["SHORT_INODE"] };
    expect(run(kernelMemoryIgnored, spec)).toEqual(["config.json: linux.resources.memory.kernelTCP: is ignored: kernel memory limits are obsolete, found 1"]);
    expect(run(personalityFlagsIgnored, spec)).toEqual(['config.json: linux.personality.flags: are ignored: the spec defines none yet, found ["SHORT_INODE"]']);
  });
});
