// The features document against the code that acts on each entry: what is advertised must work,
// and what works should be advertised.
import { describe, expect, test } from "bun:test";
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../../spec/enums.ts";
import { validateFeatures } from "../../spec/generated/features_validator.js";
import { Hooks, type LinuxSeccomp, type Spec } from "../../spec/schema.ts";
import { SPEC_VERSION } from "../../spec/version.ts";
import { compileSeccomp, type NativeArch } from "../seccomp/seccomp.ts";
import { CAPS } from "../sys/constants.ts";
import { compileFilter } from "./create.ts";
import { buildFeatures, kernelVersion, MOUNT_OPTIONS } from "./features.ts";
import { applyIntelRdt } from "../intelrdt/resctrl.ts";
import { parseMountOptions } from "./mount_options.ts";
import { CLONE_FLAG } from "./namespaces.ts";
import { planInit, type PlanInput } from "./plan.ts";
import { planAttrs } from "./process_attrs.ts";

const HOST = { arch: "x64", kernelRelease: "6.1.0-18-amd64" };
const doc = buildFeatures(HOST, "9.9.9");
const linux = doc.linux!;
const seccomp = linux.seccomp!;

test("the document is valid by the features schema and says runtime-spec 1.0.0 up to ours", () => {
  expect(validateFeatures(doc), JSON.stringify(validateFeatures.errors)).toBe(true);
  expect(validateFeatures(buildFeatures({ arch: "arm64", kernelRelease: "garbage" }, "0"))).toBe(true);
  expect([doc.ociVersionMin, doc.ociVersionMax]).toEqual(["1.0.0", SPEC_VERSION]);
  expect(doc.annotations?.["io.github.tsrun.version"]).toBe("9.9.9");
});

test("hooks: every hook the config schema has", () => {
  expect(doc.hooks).toEqual(Object.keys(Hooks.properties));
});

test("namespaces: every type the enter stage knows", () => {
  expect([...linux.namespaces!].sort() as string[]).toEqual(Object.keys(CLONE_FLAG).sort());
});

test("capabilities: every name tsrun maps to a bit", () => {
  expect(linux.capabilities).toEqual([...CAPS]);
});

describe("mountOptions", () => {
  // config.md's table of Linux mount options (runtime-spec 1.3), and three more runc takes: acl,
  // noacl, and rnodev (the table has rdev but not rnodev).
  const CANDIDATES = `async atime bind defaults dev diratime dirsync exec iversion lazytime loud mand noatime nodev
    nodiratime noexec noiversion nolazytime nomand norelatime nostrictatime nosuid nosymfollow private ratime rbind rdev
    rdiratime relatime remount rexec rnoatime rnodiratime rnoexec rnorelatime rnostrictatime rnosuid rnosymfollow ro
    rprivate rrelatime rro rrw rshared rslave rstrictatime rsuid rsymfollow runbindable rw shared silent slave strictatime
    suid symfollow sync tmpcopyup unbindable idmap ridmap acl noacl rnodev`.split(/\s+/);
  // Superblock flags go to fsconfig(2) as flags, like fs data, but every filesystem takes them.
  const SB_FLAGS = new Set(["sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime", "iversion", "noiversion"]);

  function plans(options: string[]): boolean {
    const config = { ociVersion: "1.3.0", root: { path: "rootfs" }, process: { cwd: "/", args: ["sh"], user: { uid: 0, gid: 0 } },
      mounts: [{ destination: "/m", type: "tmpfs", source: "tmpfs", options }] } as Spec;
    const input: PlanInput = {
      id: "c1", bundle: "/b", rootfs: "/b/rootfs", config, noPivot: false, noNewKeyring: false, preserveFds: 0, extraEnv: [],
      console: false, fds: { sync: 3, helper: 4, fifo: 5, console: -1 }, cgroupMounts: () => [], sourceKind: () => "dir",
      grantable: { capLast: 40, bounding: (1n << 41n) - 1n }, hasKcore: true, seccomp: null, warn: () => {},
      idmap: () => null,
      preparedTree: () => null, lsm: { apparmor: true, selinux: true },
    };
    try {
      planInit(input);
      return true;
    } catch {
      return false;
    }
  }

  /** tsrun gives `name` a meaning of its own (not fs data) and carries it out. */
  function recognized(name: string): boolean {
    const o = parseMountOptions([name]);
    if (typeof o === "string") return false;
    if (o.params.length > 0 && !SB_FLAGS.has(name)) return false;
    return plans([name]);
  }

  test("every option tsrun gives a meaning and carries out is advertised, and nothing else", () => {
    const advertised = new Set(doc.mountOptions);
    expect(CANDIDATES.filter((name) => recognized(name) !== advertised.has(name))).toEqual([]);
    expect([...advertised].filter((name) => !CANDIDATES.includes(name))).toEqual([]);
    expect(doc.mountOptions).toEqual([...MOUNT_OPTIONS].sort());
  });

  test("remount is left out because tsrun refuses it", () => {
    expect(parseMountOptions(["remount"])).toBeTypeOf("string");
    expect(doc.mountOptions).not.toContain("remount");
  });
});

describe("seccomp", () => {
  const profile = (over: Partial<LinuxSeccomp> = {}): LinuxSeccomp => ({
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["getppid"], action: "SCMP_ACT_ERRNO" }],
    ...over,
  });
  // NOTIFY needs a listener path before anything else is looked at; give it one, so only tsrun's
  // own support decides.
  const notify = (): Partial<LinuxSeccomp> => ({
    listenerPath: "/run/agent.sock",
    syscalls: [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }],
  });
  /** Whether create accepts the profile (create.ts compileFilter, the path every container takes). */
  async function creates(s: LinuxSeccomp): Promise<boolean> {
    try {
      await compileFilter({ linux: { seccomp: s } } as Spec, () => {});
      return true;
    } catch {
      return false;
    }
  }

  test("actions: exactly those create accepts as a rule's action", async () => {
    const accepted: string[] = [];
    for (const action of SECCOMP_ACTIONS) {
      const extra = action === "SCMP_ACT_NOTIFY" ? notify() : {};
      if (await creates(profile({ ...extra, syscalls: [{ names: ["getppid"], action }] }))) accepted.push(action);
    }
    expect(seccomp.actions as string[]).toEqual(accepted);
  });

  test("operators: all seven compile", async () => {
    const accepted: string[] = [];
    for (const op of SECCOMP_OPERATORS) {
      if (await creates(profile({ syscalls: [{ names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0, valueTwo: 0, op }] }] }))) accepted.push(op);
    }
    expect(seccomp.operators as string[]).toEqual(accepted);
  });

  for (const [arch, nativeArch] of [["x64", "x86_64"], ["arm64", "aarch64"]] as const) {
    test(`archs on ${nativeArch}: exactly those the compiler makes rules for`, () => {
      const made = SECCOMP_ARCHES.filter((name) => {
        const skipped: string[] = [];
        try {
          compileSeccomp(profile({ architectures: [name] }), { nativeArch: nativeArch as NativeArch, debug: (m) => skipped.push(m) });
        } catch {
          return false;
        }
        return !skipped.some((m) => m.includes("no rules are made"));
      });
      expect([...buildFeatures({ ...HOST, arch }, "0").linux!.seccomp!.archs!].sort()).toEqual([...made].sort());
    });
  }

  test("knownFlags: every flag the compiler takes", () => {
    const known = SECCOMP_FLAGS.filter((flag) => {
      const extra = flag === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" ? notify() : {};
      try {
        compileSeccomp(profile({ ...extra, flags: [flag] }), { nativeArch: "x86_64" });
        return true;
      } catch {
        return false;
      }
    });
    expect(seccomp.knownFlags).toEqual(known);
  });

  test("supportedFlags: the known flags create accepts, on a kernel that has them", async () => {
    const accepted: string[] = [];
    for (const flag of SECCOMP_FLAGS) {
      const extra = flag === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" ? notify() : {};
      if (await creates(profile({ ...extra, flags: [flag] }))) accepted.push(flag);
    }
    expect(seccomp.supportedFlags as string[]).toEqual(accepted);
    const on = (kernelRelease: string) => buildFeatures({ ...HOST, kernelRelease }, "0").linux!.seccomp!.supportedFlags;
    expect(on("4.16.18")).toEqual(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]);
    expect(on("5.18.0")).toEqual(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
    expect(on("5.19.0") as string[]).toEqual(accepted);
    expect(on("3.10.0-1160.el7.x86_64")).toEqual([]);
    expect(on("unknown")).toEqual([]);
  });
});

test("kernelVersion reads major and minor from a release string", () => {
  expect(kernelVersion("6.18.44-fc-v857")).toEqual([6, 18]);
  expect(kernelVersion("5.10.0-28-amd64")).toEqual([5, 10]);
  expect(kernelVersion("")).toBeNull();
});

test("memoryPolicy: every mode and flag the exec stage can set", () => {
  const modes = MEMORY_POLICY_MODES.filter((mode) => accepts(() => planAttrs({ memoryPolicy: { mode, nodes: "0" } })));
  const flags = MEMORY_POLICY_FLAGS.filter((f) => accepts(() => planAttrs({ memoryPolicy: { mode: "MPOL_BIND", nodes: "0", flags: [f] } })));
  expect(linux.memoryPolicy).toEqual({ modes, flags });
});

test("apparmor and selinux: labels are applied where the host has the LSM (the document does not depend on the host)", () => {
  const both = { apparmor: true, selinux: true };
  expect(accepts(() => planAttrs({ apparmorProfile: "p" }, both))).toBe(linux.apparmor?.enabled === true);
  expect(accepts(() => planAttrs({ selinuxLabel: "l" }, both))).toBe(linux.selinux?.enabled === true);
  expect(buildFeatures({ arch: "x64", kernelRelease: "6.1" }, "0").linux?.apparmor).toEqual(linux.apparmor!);
});

test("intelRdt: schemata and monitoring reach resctrl", () => {
  const writes: string[] = [];
  const fake = { exists: () => false, mkdir: () => {}, write: (p: string, d: string) => void writes.push(`${p} ${d}`), rmdir: () => {} };
  applyIntelRdt("/rdt", "c1", { schemata: ["L3:0=f"], enableMonitoring: true }, 42, fake);
  expect(writes.some((w) => w.startsWith("/rdt/c1/schemata"))).toBe(linux.intelRdt?.schemata === true);
  expect(writes.some((w) => w.includes("mon_groups") && w.endsWith(" 42"))).toBe(linux.intelRdt?.monitoring === true);
  expect(linux.intelRdt?.enabled).toBe(true);
});

test("what tsrun does not do is said as such", () => {
  // --systemd-cgroup is refused (create.ts); there is no CRIU.
  expect(linux.cgroup).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false, rdma: true });
  expect(doc.annotations?.["org.opencontainers.runc.checkpoint.enabled"]).toBe("false");
  expect(doc.potentiallyUnsafeConfigAnnotations).toEqual([]);
  expect([linux.mountExtensions?.idmap, linux.netDevices]).toEqual([{ enabled: true }, { enabled: true }]);
});

function accepts(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}
