// Cases where a runtime demonstrably departs from the runtime-spec. Such a case is skipped, with
// the reason, for that runtime only; every other runtime (tsrun) must pass it.
import * as path from "node:path";

export interface Deviation {
  /** The exact case name given to conform(). */
  case: string;
  /** Basename of the runtime binary, and a pattern its `--version` first line must match. */
  runtime: string;
  version: RegExp;
  /** The runtime-spec sentence the runtime breaks, quoted. */
  spec: string;
  /** What the runtime does instead (measured). */
  does: string;
}

const RUNC_1_1 = /^runc version 1\.1\./;

export const KNOWN: Deviation[] = [
  {
    case: "cgroups: memory.kernelTCP is written under cgroupsPath",
    runtime: "runc",
    version: RUNC_1_1,
    spec: 'config-linux.md, Memory: "`kernelTCP` (int64, OPTIONAL, NOT RECOMMENDED) - sets hard limit for kernel TCP buffer memory (in bytes)"',
    does: "runc 1.1.5 ignores kernel and kernelTCP on cgroup v1 (memory.kmem.tcp.limit_in_bytes stays unlimited)",
  },
  {
    case: "delete of a created container without --force fails and leaves it created",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'runtime.md, Delete: "Attempting to `delete` a container that is not `stopped` MUST have no effect on the container and MUST generate an error."',
    does: "runc 1.1.5 deletes a created (never started) container without --force and exits 0",
  },
  {
    case: "create: duplicated rlimits are rejected",
    runtime: "runc",
    version: RUNC_1_1,
    spec: 'config.md, POSIX process: "If `rlimits` contains duplicated entries with same `type`, the runtime MUST generate an error."',
    does: "runc 1.1.5 accepts the config and applies the entries in order (the last one wins)",
  },
  {
    case: "time namespace: new namespace differs from the host's",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'config-linux.md (runtime-spec 1.1.0): "`time` the container will be able to have its own clocks." and "If `path` is not specified, the runtime MUST create a new container namespace of type `type`."',
    does: 'runc 1.1.5 implements runtime-spec 1.0.2 and rejects the type: namespace {"time" ""} does not exist',
  },
  {
    case: "uts: domainname is set",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'config.md (runtime-spec 1.1.0): "`domainname` (string, OPTIONAL) specifies the container\'s domainname as seen by processes running inside the container."',
    does: 'runc 1.1.5 implements runtime-spec 1.0.2, ignores the field, and the container sees "(none)"',
  },
  {
    case: "rootfsPropagation slave: / is a slave and host mounts below the rootfs reach it",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'config-linux.md, rootfsPropagation: "`slave`: the rootfs mount receives propagation events from the host (e.g. if something is mounted on the host it will also appear in the container) but not the other way around."',
    does:
      "runc 1.1.5 makes the rootfs's parent mount private before binding it (prepareRoot), so / is private and receives nothing; fixed in runc 1.4.0 (04be81b6a)",
  },
  {
    case: "rootfsPropagation shared: / belongs to a new peer group",
    runtime: "runc",
    version: RUNC_1_1,
    spec: 'config-linux.md, rootfsPropagation: "`shared`: the rootfs mount belongs to a new peer group."',
    does: "runc 1.1.5 applies the flag to the old / before pivot_root; the container's / ends up private; fixed in runc 1.4.0",
  },
  {
    case: "rootfsPropagation unbindable: / is unbindable",
    runtime: "runc",
    version: RUNC_1_1,
    spec: 'config-linux.md, rootfsPropagation: "`unbindable`: the rootfs mount is a private mount that cannot be bind-mounted."',
    does:
      "runc 1.1.5 applies the flag to the old / before pivot_root: the container's / is plain private (and when the rootfs is not a mount point of its own, create fails with EINVAL)",
  },
  {
    case: "hooks: poststart runs during start, after the user process was executed, before start returns",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'config.md, Poststart: "The `poststart` hooks MUST be called after the user-specified process is executed but before the `start` operation returns."',
    does:
      'runc 1.1.5 runs poststart hooks at the end of `create` (state "created"), before `start` and before the user process is executed',
  },
  {
    case: "hooks: a failing poststart hook fails start and stops the container",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'runtime.md, Lifecycle 9: "If any `poststart` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12."',
    does: "runc 1.1.5 runs poststart hooks during `create`: a failing one makes `create` fail, so there is no container to start",
  },
  {
    case: "hooks: a failing poststop hook is a warning: delete succeeds and the later poststop hooks run",
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'runtime.md, Lifecycle 13: "If any `poststop` hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded."',
    does:
      "runc 1.1.5 logs the failure as an error and exits 0, but stops at the failing hook: the poststop hooks after it never run (crun 1.8.1 runs them)",
  },
  // features_test.ts: what `runc features` advertises and runc 1.1.5 then cannot do.
  {
    case: 'features: mount option "defaults" on a new tmpfs',
    runtime: "runc",
    version: RUNC_1_1,
    spec:
      'features.md, mountOptions: "The runtime MUST recognize the elements in this array as the `options` of `mounts` objects in `config.json`." config.md, Linux mount options: "`defaults` | MUST"',
    does: 'runc 1.1.5 advertises "defaults" but passes it to the filesystem as data: tmpfs refuses it, create fails with EINVAL',
  },
  ...["ratime", "rnostrictatime"].map((o) => ({
    case: `features: recursive mount option "${o}" on an rbind, seen on its submount`,
    runtime: "runc",
    version: RUNC_1_1,
    spec: `features.md, mountOptions: "The runtime MUST recognize the elements in this array as the \`options\` of \`mounts\` objects in \`config.json\`." config.md, Linux mount options: "\`${o}\` | SHOULD | Recursive \`${o.slice(1)}\`"`,
    does: `runc 1.1.5 advertises "${o}" but clears one access-time bit without MOUNT_ATTR__ATIME, which mount_setattr(2) refuses: create fails with EINVAL`,
  })),
  ...["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X"].map((arch) => ({
    case: `features: seccomp architecture ${arch} in a profile`,
    runtime: "runc",
    version: RUNC_1_1,
    spec: 'features-linux.md, seccomp.archs: "The runtime MUST recognize the elements in this array in the `architectures` property of the `linux.seccomp` object in `config.json`."',
    does: `runc 1.1.5 advertises ${arch}, but on a little-endian host libseccomp 2.5.4 cannot add a big-endian architecture to the filter: "error adding architecture to seccomp filter: numerical argument out of domain"`,
  })),
];

/** The reason to skip `name` for the runtime at `bin`, or undefined to run it. */
export function knownDeviation(name: string, bin: string, versionLine: string): string | undefined {
  // To re-check that each deviation is still real: CONFORMANCE_IGNORE_KNOWN=1 runs them all.
  if (process.env.CONFORMANCE_IGNORE_KNOWN === "1") return undefined;
  const d = KNOWN.find((k) => k.case === name && k.runtime === path.basename(bin) && k.version.test(versionLine));
  if (d === undefined) return undefined;
  return `known ${versionLine} deviation: ${d.does}; spec: ${d.spec}`;
}
