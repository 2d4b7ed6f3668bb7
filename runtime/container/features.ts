// The runtime-spec features document (`tsrun features`): what tsrun recognizes and does, said
// honestly. Most of it is fixed when tsrun is built, as features.md asks ("SHOULD be determined on
// the compilation time of the runtime"); only the seccomp flags that also need the kernel
// (supportedFlags) and the native seccomp architectures depend on the host.
//
// Keep each list in step with the code that acts on it; features_test.ts checks every entry
// against that code (parseMountOptions, compileSeccomp, CLONE_FLAG, CAPS).
import type { Features, FeaturesSeccomp } from "../../spec/features.ts";
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES, NAMESPACE_TYPES, SECCOMP_ACTIONS, SECCOMP_OPERATORS } from "../../spec/enums.ts";
import { SPEC_VERSION } from "../../spec/version.ts";
import { CAPS } from "../sys/constants.ts";

export interface HostFacts {
  /** process.arch: "x64" or "arm64". */
  arch: string;
  /** The kernel release, /proc/sys/kernel/osrelease ("6.1.0-18-amd64"). */
  kernelRelease: string;
}

/** Every hook runtime/sys/hooks.ts runs, in the order the spec lists them. */
export const HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

/**
 * The option names mount_options.ts gives a meaning to (its tables), none of them fs data:
 * per-mount and recursive attributes, access-time modes, bind and propagation, superblock flags
 * (fsconfig flags every filesystem takes), tmpcopyup, idmap/ridmap, and the ones accepted with no
 * effect, as runc does. Left out: "remount", which it refuses for a new mount.
 */
export const MOUNT_OPTIONS = [
  "bind", "rbind",
  "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "nodiratime", "diratime", "nosymfollow", "symfollow",
  "noatime", "relatime", "strictatime", "atime", "norelatime", "nostrictatime",
  "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnodiratime", "rdiratime", "rnosymfollow", "rsymfollow",
  "rnoatime", "rrelatime", "rstrictatime", "ratime", "rnorelatime", "rnostrictatime",
  "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
  "sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime", "iversion", "noiversion",
  "tmpcopyup", "idmap", "ridmap",
  "defaults", "silent", "loud", "acl", "noacl",
] as const;

/** The seccomp ABIs compileSeccomp builds rules for, per host: the native one and its compat ABIs.
 *  (It also accepts the names of other architectures, but makes no rules for them.) */
const SECCOMP_ARCHS: Record<string, FeaturesSeccomp["archs"]> = {
  x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
};

/**
 * The filter flags compileSeccomp knows, with the first kernel that takes each. tsrun has no
 * seccomp(2) in its Sys seam to probe with (libseccomp asks seccomp(SECCOMP_SET_MODE_FILTER, flag,
 * NULL) and takes EFAULT for yes), so the kernel release decides. TSYNC is accepted and, as in
 * runc, not passed to the kernel; WAIT_KILLABLE_RECV goes only with an SCMP_ACT_NOTIFY rule.
 */
const SECCOMP_FLAGS: [NonNullable<FeaturesSeccomp["knownFlags"]>[number], [number, number]][] = [
  ["SECCOMP_FILTER_FLAG_TSYNC", [3, 17]],
  ["SECCOMP_FILTER_FLAG_LOG", [4, 14]],
  ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", [4, 17]],
  ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", [5, 19]],
];

export function buildFeatures(host: HostFacts, version: string): Features {
  const kernel = kernelVersion(host.kernelRelease);
  const atLeast = ([major, minor]: [number, number]) => kernel !== null && (kernel[0] > major || (kernel[0] === major && kernel[1] >= minor));
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOKS],
    mountOptions: [...MOUNT_OPTIONS].sort(),
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      // Every name tsrun knows, as features-linux.md asks ("including capabilities that might
      // not be supported by the host"): one newer than the kernel is left out with a warning.
      capabilities: [...CAPS],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        // SCMP_ACT_NOTIFY: the notify fd goes to linux.seccomp.listenerPath (stages.ts).
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...(SECCOMP_ARCHS[host.arch] ?? [])],
        knownFlags: SECCOMP_FLAGS.map(([flag]) => flag),
        supportedFlags: SECCOMP_FLAGS.filter(([, since]) => atLeast(since)).map(([flag]) => flag),
      },
      // What tsrun does with these, whether or not this host has them (features-linux.md: "Irrelevant
      // to the availability of AppArmor on the host"): labels through the exec stage
      // (process_attrs.ts), linux.memoryPolicy before execve, Intel RDT through resctrl
      // (intelrdt/resctrl.ts), idmapped mounts (idmap.ts), net devices over rtnetlink.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      memoryPolicy: { modes: [...MEMORY_POLICY_MODES], flags: [...MEMORY_POLICY_FLAGS] },
      intelRdt: { enabled: true, schemata: true, monitoring: true },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
    },
    annotations: {
      "io.github.tsrun.version": version,
      // runc's annotation, which other runtimes may use (runc types/features): no CRIU support.
      "org.opencontainers.runc.checkpoint.enabled": "false",
    },
    // tsrun gives no config.json annotation a meaning.
    potentiallyUnsafeConfigAnnotations: [],
  };
}

/** "6.1.0-18-amd64" → [6, 1]; null when unreadable. */
export function kernelVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}
