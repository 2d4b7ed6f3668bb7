// The rules a JSON schema cannot say: each is a small named check that yields a plain sentence for
// every problem it finds (runc's libcontainer/configs/validate is the model). They run after the
// schema, on a config of the right shape, and see only the config: anything that needs the kernel
// (is this netns path the host's? is SELinux on?) is the runtime's business.

import type { LinuxNamespaceType, Mount, Spec } from "./schema.ts";
import type { Problem } from "./problem.ts";
import { CAPABILITIES, RLIMIT_TYPES } from "./enums.ts";

export interface CheckOptions {
  /** Not root on the host (runc's rootless mode). */
  rootless?: boolean;
  /** cgroupsPath is systemd's "slice:prefix:name" (--systemd-cgroup). */
  systemdCgroup?: boolean;
}

export type Check = (spec: Spec, options: CheckOptions) => Iterable<Problem>;

type Path = (string | number)[];

const isAbsolute = (p: string) => p.startsWith("/");
const nonEmpty = <T>(list: readonly T[] | undefined): list is readonly T[] => list !== undefined && list.length > 0;

function namespace(spec: Spec, type: LinuxNamespaceType) {
  return spec.linux?.namespaces?.find((ns) => ns.type === type);
}
// Either kind of entry counts, as in runc: new (no path) or joined (path). A joined one is taken
// not to be the host's; the runtime checks that where it matters (net sysctls).
const hasNamespace = (spec: Spec, type: LinuxNamespaceType) => namespace(spec, type) !== undefined;
const needs = (type: LinuxNamespaceType) => `needs a "${type}" entry in linux.namespaces`;

// ---- process ------------------------------------------------------------------------------------

export function* processPresent(spec: Spec): Iterable<Problem> {
  // OPTIONAL until start in the spec; runc refuses to create a container without one, and so do we.
  if (spec.process === undefined) yield { path: ["process"], rule: "is required" };
}

export function* cwdAbsolute(spec: Spec): Iterable<Problem> {
  const cwd = spec.process?.cwd;
  if (cwd !== undefined && !isAbsolute(cwd)) {
    yield { path: ["process", "cwd"], rule: "must be an absolute path", found: cwd };
  }
}

export function* umaskInRange(spec: Spec): Iterable<Problem> {
  // umask(2) keeps only the permission bits; anything larger is a typo (often octal written as decimal).
  const umask = spec.process?.user.umask;
  if (umask !== undefined && umask > 0o777) {
    yield { path: ["process", "user", "umask"], rule: "must be at most 511 (0777)", found: umask };
  }
}

export function* oomScoreAdjInRange(spec: Spec): Iterable<Problem> {
  // The kernel's OOM_SCORE_ADJ_MIN/MAX; saying so here beats an EINVAL from /proc later.
  const adj = spec.process?.oomScoreAdj;
  if (adj !== undefined && (adj < -1000 || adj > 1000)) {
    yield { path: ["process", "oomScoreAdj"], rule: "must be between -1000 and 1000", found: adj };
  }
}

export function* rlimitsValid(spec: Spec): Iterable<Problem> {
  const first = new Map<string, number>();
  for (const [i, r] of (spec.process?.rlimits ?? []).entries()) {
    const path: Path = ["process", "rlimits", i];
    // The spec requires an error for a type the kernel cannot map, and for a repeated type.
    if (!(RLIMIT_TYPES as readonly string[]).includes(r.type)) {
      yield { path: [...path, "type"], rule: "must be a resource getrlimit(2) knows", found: r.type };
    }
    const j = first.get(r.type);
    if (j === undefined) first.set(r.type, i);
    else yield { path: [...path, "type"], rule: `repeats the type at index ${j}`, found: r.type };
    // setrlimit(2) refuses this with EINVAL.
    if (r.soft > r.hard) yield { path: [...path, "soft"], rule: `must not exceed hard (${r.hard})`, found: r.soft };
  }
}

export function* schedulerValid(spec: Spec): Iterable<Problem> {
  // sched_setattr(2)'s rules, as runc applies them.
  const s = spec.process?.scheduler;
  if (s === undefined) return;
  const path: Path = ["process", "scheduler"];
  const nice = s.nice ?? 0;
  if ((s.policy === "SCHED_OTHER" || s.policy === "SCHED_BATCH") && (nice < -20 || nice > 19)) {
    yield { path: [...path, "nice"], rule: `must be between -20 and 19 for ${s.policy}`, found: nice };
  }
  if ((s.priority ?? 0) !== 0 && s.policy !== "SCHED_FIFO" && s.policy !== "SCHED_RR") {
    yield { path: [...path, "priority"], rule: "is only for SCHED_FIFO and SCHED_RR", found: s.priority };
  }
  if (s.policy !== "SCHED_DEADLINE") {
    for (const key of ["runtime", "deadline", "period"] as const) {
      if ((s[key] ?? 0) !== 0) yield { path: [...path, key], rule: "is only for SCHED_DEADLINE", found: s[key] };
    }
  }
}

export function* ioPriorityInRange(spec: Spec): Iterable<Problem> {
  const priority = spec.process?.ioPriority?.priority;
  if (priority !== undefined && (priority < 0 || priority > 7)) {
    yield { path: ["process", "ioPriority", "priority"], rule: "must be between 0 (highest) and 7 (lowest)", found: priority };
  }
}

export function* cpuAffinityLists(spec: Spec): Iterable<Problem> {
  for (const key of ["initial", "final"] as const) {
    const list = spec.process?.execCPUAffinity?.[key];
    if (list !== undefined && listSize(list) === undefined) {
      yield { path: ["process", "execCPUAffinity", key], rule: 'must be a CPU list such as "0-3,7"', found: list };
    }
  }
}

// ---- root, mounts, hooks, annotations -----------------------------------------------------------

export function* rootPathNotEmpty(spec: Spec): Iterable<Problem> {
  if (spec.root.path === "") yield { path: ["root", "path"], rule: "must not be empty" };
}

export function* mountDestinations(spec: Spec): Iterable<Problem> {
  // A relative destination is deprecated but allowed (see relativeMountDestinations); an empty one
  // would land on the container's root itself.
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    if (m.destination === "") yield { path: ["mounts", i, "destination"], rule: "must not be empty" };
  }
}

const isBind = (m: Mount) => m.options?.some((o) => o === "bind" || o === "rbind") ?? false;
const wantsIdmap = (m: Mount) => m.options?.some((o) => o === "idmap" || o === "ridmap") ?? false;

export function* mountIdMappings(spec: Spec, options: CheckOptions): Iterable<Problem> {
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    const path: Path = ["mounts", i];
    const hasUid = nonEmpty(m.uidMappings);
    const hasGid = nonEmpty(m.gidMappings);
    // The spec: each of the two MUST come with the other.
    if (hasUid && !hasGid) yield { path: [...path, "gidMappings"], rule: "is required with uidMappings" };
    if (hasGid && !hasUid) yield { path: [...path, "uidMappings"], rule: "is required with gidMappings" };
    if (!hasUid && !hasGid && !wantsIdmap(m)) continue;
    // mount_setattr(MOUNT_ATTR_IDMAP) works on detached bind mounts only (runc refuses others).
    if (!isBind(m)) yield { path: [...path, "options"], rule: 'an id-mapped mount must be a "bind" or "rbind" mount', found: m.options ?? [] };
    // The spec: without its own mappings, an idmap mount borrows the container's user namespace,
    // and without that either, it is an error.
    if (!hasUid && !hasGid && !hasNamespace(spec, "user")) {
      yield { path: [...path, "options"], rule: 'idmap needs uidMappings and gidMappings, or a "user" entry in linux.namespaces', found: m.options };
    }
    if (options.rootless) yield { path, rule: "id-mapped mounts are not supported for rootless containers" };
  }
}

const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

export function* hookPathsAbsolute(spec: Spec): Iterable<Problem> {
  for (const kind of HOOK_KINDS) {
    for (const [i, hook] of (spec.hooks?.[kind] ?? []).entries()) {
      if (!isAbsolute(hook.path)) yield { path: ["hooks", kind, i, "path"], rule: "must be an absolute path", found: hook.path };
    }
  }
}

export function* annotationKeysNotEmpty(spec: Spec): Iterable<Problem> {
  if (spec.annotations !== undefined && "" in spec.annotations) {
    yield { path: ["annotations"], rule: "keys must not be empty", found: "" };
  }
}

export function* noNulBytes(spec: Spec): Iterable<Problem> {
  // C strings end at the first NUL, so the kernel would silently act on a shorter path, name or
  // argument than the one written (runc refuses NULs in mounts). Annotations never reach C.
  const { annotations: _, ...rest } = spec;
  // JSON escapes NUL as \u0000: one cheap scan spares walking every seccomp name (measured ~2 ms).
  if (JSON.stringify(rest).includes("\\u0000")) yield* nulBytes(rest, []);
}

function* nulBytes(value: unknown, path: Path): Iterable<Problem> {
  if (typeof value === "string") {
    if (value.includes("\0")) yield { path, rule: "must not contain a NUL byte", found: value };
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* nulBytes(item, [...path, i]);
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes("\0")) yield { path, rule: "keys must not contain a NUL byte", found: key };
      yield* nulBytes(item, [...path, key]);
    }
  }
}

// ---- namespaces and id mappings -----------------------------------------------------------------

export function* namespacesUnique(spec: Spec): Iterable<Problem> {
  const first = new Map<string, number>();
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    const j = first.get(ns.type);
    if (j === undefined) first.set(ns.type, i);
    else yield { path: ["linux", "namespaces", i, "type"], rule: `repeats the type at index ${j}`, found: ns.type };
  }
}

export function* namespacePathsAbsolute(spec: Spec): Iterable<Problem> {
  // The spec: a path MUST be absolute in the runtime's mount namespace. "" means "new", as in Go.
  for (const [i, ns] of (spec.linux?.namespaces ?? []).entries()) {
    if (ns.path !== undefined && ns.path !== "" && !isAbsolute(ns.path)) {
      yield { path: ["linux", "namespaces", i, "path"], rule: "must be an absolute path", found: ns.path };
    }
  }
}

export function* userNamespaceMappings(spec: Spec): Iterable<Problem> {
  const userns = namespace(spec, "user");
  for (const key of ["uidMappings", "gidMappings"] as const) {
    const maps = spec.linux?.[key];
    if (userns === undefined) {
      // runc silently drops these; a config that asks for remapping but would run as the host's
      // root deserves an error instead.
      if (nonEmpty(maps)) yield { path: ["linux", key], rule: needs("user") };
    } else if (!userns.path && !nonEmpty(maps)) {
      // Both maps are needed: with either missing, setuid/setgid in the container fails.
      yield { path: ["linux", key], rule: "is required for a new user namespace" };
    }
  }
}

const CLOCKS = ["boottime", "monotonic"];

export function* timeNamespaceOffsets(spec: Spec): Iterable<Problem> {
  const offsets = spec.linux?.timeOffsets;
  if (offsets === undefined || Object.keys(offsets).length === 0) return;
  const timens = namespace(spec, "time");
  if (timens === undefined) yield { path: ["linux", "timeOffsets"], rule: needs("time") };
  // Offsets can only be written into a namespace nobody has entered yet, i.e. a new one.
  else if (timens.path) yield { path: ["linux", "timeOffsets"], rule: "cannot apply to a joined time namespace (linux.namespaces has a path for it)" };
  for (const clock of Object.keys(offsets)) {
    // time_namespaces(7): the only clocks with offsets.
    if (!CLOCKS.includes(clock)) yield { path: ["linux", "timeOffsets", clock], rule: 'must be "boottime" or "monotonic"', found: clock };
  }
}

export function* utsForNames(spec: Spec): Iterable<Problem> {
  // Without a uts namespace these would rename the host (runc refuses; a joined one is fine).
  for (const key of ["hostname", "domainname"] as const) {
    const name = spec[key];
    if (name && !hasNamespace(spec, "uts")) yield { path: [key], rule: needs("uts"), found: name };
  }
}

// ---- sysctl -------------------------------------------------------------------------------------

// Namespaced by the ipc namespace.
const IPC_SYSCTLS = new Set([
  "kernel.msgmax",
  "kernel.msgmnb",
  "kernel.msgmni",
  "kernel.sem",
  "kernel.shmall",
  "kernel.shmmax",
  "kernel.shmmni",
  "kernel.shm_rmid_forced",
]);

// sysctl(8) accepts "net/ipv4/ip_forward" too; "/" and "." swap roles in that form.
function dottedSysctl(name: string): string {
  const sep = name.search(/[./]/);
  if (sep === -1 || name[sep] === ".") return name;
  return name.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
}

export function* sysctlNamespaces(spec: Spec): Iterable<Problem> {
  // /proc/sys is only partly namespaced: a sysctl is allowed when the namespace that owns it is in
  // the config, because otherwise the write would change the host (runc's rules).
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    const name = dottedSysctl(key);
    const path: Path = ["linux", "sysctl", key];
    if (IPC_SYSCTLS.has(name) || name.startsWith("fs.mqueue.")) {
      if (!hasNamespace(spec, "ipc")) yield { path, rule: needs("ipc") };
    } else if (name.startsWith("net.")) {
      // Whether a joined netns is really the host's needs the kernel: the runtime checks that.
      if (!hasNamespace(spec, "network")) yield { path, rule: needs("network") };
    } else if (name === "kernel.hostname") {
      yield { path, rule: hasNamespace(spec, "uts") ? 'conflicts with the "hostname" field; set that instead' : needs("uts") };
    } else if (name === "kernel.domainname") {
      if (!hasNamespace(spec, "uts")) yield { path, rule: needs("uts") };
    } else if (name.startsWith("user.")) {
      // ucounts such as user.max_user_namespaces would change limits for the whole host.
      if (!hasNamespace(spec, "user")) yield { path, rule: needs("user") };
    } else {
      yield { path, rule: "is not namespaced: setting it would change the host" };
    }
  }
}

// ---- filesystem ---------------------------------------------------------------------------------

export function* maskedAndReadonlyPaths(spec: Spec): Iterable<Problem> {
  for (const key of ["maskedPaths", "readonlyPaths"] as const) {
    const paths = spec.linux?.[key] ?? [];
    // The spec: these MUST be absolute paths in the container.
    for (const [i, p] of paths.entries()) {
      if (!isAbsolute(p)) yield { path: ["linux", key, i], rule: "must be an absolute path", found: p };
    }
    // Masking mounts over /proc entries; without a mount namespace that would be the host's /proc.
    if (paths.length > 0 && !hasNamespace(spec, "mount")) yield { path: ["linux", key], rule: needs("mount") };
  }
}

export function* devicesValid(spec: Spec): Iterable<Problem> {
  for (const [i, d] of (spec.linux?.devices ?? []).entries()) {
    const path: Path = ["linux", "devices", i];
    // The spec: "full path to device inside container".
    if (!isAbsolute(d.path)) yield { path: [...path, "path"], rule: "must be an absolute path", found: d.path };
    // mknod(2) needs the numbers for c, u and b; a fifo (p) has none.
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined)) {
      yield { path, rule: `needs major and minor for type "${d.type}"` };
    }
  }
}

// ---- cgroups ------------------------------------------------------------------------------------

export function* deviceCgroupAccess(spec: Spec): Iterable<Problem> {
  // OPTIONAL in the spec, but runc refuses a rule that grants or denies nothing, and so do we.
  for (const [i, rule] of (spec.linux?.resources?.devices ?? []).entries()) {
    if (!rule.access) yield { path: ["linux", "resources", "devices", i, "access"], rule: "must not be empty" };
  }
}

export function* memoryLimits(spec: Spec): Iterable<Problem> {
  const m = spec.linux?.resources?.memory;
  if (m === undefined) return;
  const path: Path = ["linux", "resources", "memory"];
  // swap limits memory+swap, so it can never be below limit (0 is unset, -1 unlimited).
  if (m.swap !== undefined && m.limit !== undefined && m.swap > 0 && m.limit > 0 && m.swap < m.limit) {
    yield { path: [...path, "swap"], rule: `must be at least limit (${m.limit}): it counts memory+swap`, found: m.swap };
  }
  // The text: 0 to 100. 2^64-1 is uint64 -1, which runc (and so Kubernetes) read as "unset".
  if (m.swappiness !== undefined && m.swappiness > 100 && m.swappiness !== 2 ** 64) {
    yield { path: [...path, "swappiness"], rule: "must be between 0 and 100", found: m.swappiness };
  }
}

export function* cpuBurst(spec: Spec): Iterable<Problem> {
  // The spec: a positive quota must be no smaller than burst.
  const cpu = spec.linux?.resources?.cpu;
  if (cpu?.quota !== undefined && cpu.burst !== undefined && cpu.quota > 0 && cpu.burst > cpu.quota) {
    yield { path: ["linux", "resources", "cpu", "burst"], rule: `must not exceed quota (${cpu.quota})`, found: cpu.burst };
  }
}

export function* blockIOWeightDevices(spec: Spec): Iterable<Problem> {
  // The spec: each entry MUST give weight, leafWeight or both.
  for (const [i, d] of (spec.linux?.resources?.blockIO?.weightDevice ?? []).entries()) {
    if (d.weight === undefined && d.leafWeight === undefined) {
      yield { path: ["linux", "resources", "blockIO", "weightDevice", i], rule: "needs weight or leafWeight" };
    }
  }
}

export function* rdmaLimits(spec: Spec): Iterable<Problem> {
  // The spec: each entry MUST give hcaHandles, hcaObjects or both.
  for (const [name, limit] of Object.entries(spec.linux?.resources?.rdma ?? {})) {
    if (limit.hcaHandles === undefined && limit.hcaObjects === undefined) {
      yield { path: ["linux", "resources", "rdma", name], rule: "needs hcaHandles or hcaObjects" };
    }
  }
}

export function* cgroupsPathFormat(spec: Spec, options: CheckOptions): Iterable<Problem> {
  // The systemd driver names units, not directories: "slice:prefix:name", where a given slice
  // must be a slice unit's name (runc's rules; an empty one means the default slice).
  const cgroupsPath = spec.linux?.cgroupsPath;
  if (!options.systemdCgroup || !cgroupsPath) return;
  const path: Path = ["linux", "cgroupsPath"];
  const parts = cgroupsPath.split(":");
  if (parts.length !== 3) {
    yield { path, rule: 'must be "slice:prefix:name" with the systemd cgroup driver', found: cgroupsPath };
  } else if (parts[0] !== "" && (!/.\.slice$/.test(parts[0]!) || parts[0]!.includes("/"))) {
    yield { path, rule: 'must name a slice unit such as "system.slice" before the first ":"', found: cgroupsPath };
  }
}

// ---- security -----------------------------------------------------------------------------------

const ERRNO_ACTIONS = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];

export function* seccompValid(spec: Spec): Iterable<Problem> {
  const s = spec.linux?.seccomp;
  if (s === undefined) return;
  const path: Path = ["linux", "seccomp"];
  // The spec: MUST NOT be set without listenerPath.
  if (s.listenerMetadata && !s.listenerPath) yield { path: [...path, "listenerMetadata"], rule: "needs listenerPath" };
  // The spec: an errno on an action that cannot return one is an error.
  if (s.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.includes(s.defaultAction)) {
    yield { path: [...path, "defaultErrnoRet"], rule: `is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${s.defaultAction}`, found: s.defaultErrnoRet };
  }
  // The init process itself must write() the notify fd to the runtime after loading the filter.
  if (s.defaultAction === "SCMP_ACT_NOTIFY") {
    yield { path: [...path, "defaultAction"], rule: "cannot be SCMP_ACT_NOTIFY: the runtime's own writes would be trapped", found: s.defaultAction };
  }
  let notifies = false;
  for (const [i, call] of (s.syscalls ?? []).entries()) {
    const at: Path = [...path, "syscalls", i];
    if (call.errnoRet !== undefined && !ERRNO_ACTIONS.includes(call.action)) {
      yield { path: [...at, "errnoRet"], rule: `is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${call.action}`, found: call.errnoRet };
    }
    for (const [j, name] of call.names.entries()) {
      if (name === "") yield { path: [...at, "names", j], rule: "must not be empty" };
    }
    if (call.action === "SCMP_ACT_NOTIFY") {
      notifies = true;
      if (call.names.includes("write")) yield { path: [...at, "names"], rule: "cannot send write to SCMP_ACT_NOTIFY: the runtime's own writes would be trapped" };
    }
    for (const [j, arg] of (call.args ?? []).entries()) {
      if (arg.index > 5) yield { path: [...at, "args", j, "index"], rule: "must be at most 5: syscalls take six arguments", found: arg.index };
    }
  }
  if (notifies && !s.listenerPath) yield { path: [...path, "listenerPath"], rule: "is required when a rule uses SCMP_ACT_NOTIFY" };
}

export function* intelRdtClosID(spec: Spec): Iterable<Problem> {
  // One directory under /sys/fs/resctrl, or "/" for its root (runc's rule).
  const clos = spec.linux?.intelRdt?.closID;
  if (clos === undefined) return;
  if (clos === "." || clos === ".." || (clos.length > 1 && clos.includes("/"))) {
    yield { path: ["linux", "intelRdt", "closID"], rule: 'must be "/" or a single directory name', found: clos };
  }
}

export function* memoryPolicyNodes(spec: Spec): Iterable<Problem> {
  // set_mempolicy(2): some modes take no nodes, others at least one (runc's rules).
  const mp = spec.linux?.memoryPolicy;
  if (mp === undefined) return;
  const path: Path = ["linux", "memoryPolicy", "nodes"];
  const count = listSize(mp.nodes ?? "");
  if (count === undefined) {
    yield { path, rule: 'must be a node list such as "0-3,7"', found: mp.nodes };
  } else if ((mp.mode === "MPOL_DEFAULT" || mp.mode === "MPOL_LOCAL") && count > 0) {
    yield { path, rule: `must be empty for ${mp.mode}`, found: mp.nodes };
  } else if (mp.mode !== "MPOL_DEFAULT" && mp.mode !== "MPOL_LOCAL" && mp.mode !== "MPOL_PREFERRED" && count === 0) {
    yield { path, rule: `needs at least one node for ${mp.mode}` };
  }
}

// dev_valid_name() in the kernel: what an interface may be called.
const validInterfaceName = (name: string) =>
  name.length > 0 && name.length < 16 && name !== "." && name !== ".." && !/[/: \s]/.test(name);

export function* netDevicesValid(spec: Spec, options: CheckOptions): Iterable<Problem> {
  const devices = spec.linux?.netDevices ?? {};
  if (Object.keys(devices).length === 0) return;
  const path: Path = ["linux", "netDevices"];
  if (!hasNamespace(spec, "network")) yield { path, rule: needs("network") };
  // Moving a host interface needs CAP_NET_ADMIN in the host's network namespace.
  if (options.rootless) yield { path, rule: "cannot be used by a rootless container" };
  for (const [name, dev] of Object.entries(devices)) {
    if (!validInterfaceName(name)) yield { path: [...path, name], rule: "is not a valid interface name", found: name };
    if (dev.name !== undefined && dev.name !== "" && !validInterfaceName(dev.name)) {
      yield { path: [...path, name, "name"], rule: "is not a valid interface name", found: dev.name };
    }
  }
}

export function* rootlessNeedsUserNamespace(spec: Spec, options: CheckOptions): Iterable<Problem> {
  // Without root on the host, only a user namespace gives the container the privileges it needs.
  if (options.rootless && !hasNamespace(spec, "user")) {
    yield { path: ["linux", "namespaces"], rule: `${needs("user")} for a rootless container` };
  }
}

/** Problems that make the config unusable, in document order. */
export const checks: readonly Check[] = [
  processPresent,
  cwdAbsolute,
  umaskInRange,
  oomScoreAdjInRange,
  rlimitsValid,
  schedulerValid,
  ioPriorityInRange,
  cpuAffinityLists,
  rootPathNotEmpty,
  mountDestinations,
  mountIdMappings,
  hookPathsAbsolute,
  annotationKeysNotEmpty,
  noNulBytes,
  namespacesUnique,
  namespacePathsAbsolute,
  userNamespaceMappings,
  timeNamespaceOffsets,
  utsForNames,
  sysctlNamespaces,
  maskedAndReadonlyPaths,
  devicesValid,
  deviceCgroupAccess,
  memoryLimits,
  cpuBurst,
  blockIOWeightDevices,
  rdmaLimits,
  cgroupsPathFormat,
  seccompValid,
  intelRdtClosID,
  memoryPolicyNodes,
  netDevicesValid,
  rootlessNeedsUserNamespace,
];

// ---- warnings: accepted, but worth telling the user ---------------------------------------------

export function* ociVersionKnown(spec: Spec): Iterable<Problem> {
  // Any 1.x is compatible by the spec's versioning promise; runc does not look at it at all.
  if (!/^1\.\d+\.\d+(?:[-+].*)?$/.test(spec.ociVersion)) {
    yield { path: ["ociVersion"], rule: "is not a 1.x.y version; reading the config as 1.x anyway", found: spec.ociVersion };
  }
}

export function* relativeMountDestinations(spec: Spec): Iterable<Problem> {
  // The spec deprecates relative destinations but says they MAY be used, taken relative to "/";
  // runc warns the same way, so refusing them would break configs that work elsewhere.
  for (const [i, m] of (spec.mounts ?? []).entries()) {
    if (m.destination !== "" && !isAbsolute(m.destination)) {
      yield { path: ["mounts", i, "destination"], rule: 'is relative, which is deprecated; taking it as relative to "/"', found: m.destination };
    }
  }
}

export function* unknownCapabilities(spec: Spec): Iterable<Problem> {
  // The spec: log capabilities that cannot be mapped, and do not fail on them.
  const caps = spec.process?.capabilities ?? {};
  for (const [set, names] of Object.entries(caps)) {
    for (const [i, name] of (names ?? []).entries()) {
      if (!(CAPABILITIES as readonly string[]).includes(name)) {
        yield { path: ["process", "capabilities", set, i], rule: "is not a known capability and is skipped", found: name };
      }
    }
  }
}

export function* kernelMemoryIgnored(spec: Spec): Iterable<Problem> {
  // Kernel memory accounting is gone from cgroup v2 and deprecated in v1; runc ignores it too.
  const m = spec.linux?.resources?.memory;
  for (const key of ["kernel", "kernelTCP"] as const) {
    if (m?.[key] !== undefined) yield { path: ["linux", "resources", "memory", key], rule: "is ignored: kernel memory limits are obsolete", found: m[key] };
  }
}

export function* personalityFlagsIgnored(spec: Spec): Iterable<Problem> {
  const flags = spec.linux?.personality?.flags;
  if (nonEmpty(flags)) yield { path: ["linux", "personality", "flags"], rule: "are ignored: the spec defines none yet", found: flags };
}

/** Accepted, but reported so the user can fix them. */
export const warnings: readonly Check[] = [
  ociVersionKnown,
  relativeMountDestinations,
  unknownCapabilities,
  kernelMemoryIgnored,
  personalityFlagsIgnored,
];

/** The subsets that apply to a process object on its own (`exec --process`). */
export const processChecks: readonly Check[] = [
  cwdAbsolute,
  umaskInRange,
  oomScoreAdjInRange,
  rlimitsValid,
  schedulerValid,
  ioPriorityInRange,
  cpuAffinityLists,
  noNulBytes,
];
export const processWarnings: readonly Check[] = [unknownCapabilities];

/** Size of a CPU or node list such as "0-3,7" (4 + 1 = 5); undefined when it does not parse. */
export function listSize(text: string): number | undefined {
  if (text.trim() === "") return 0;
  let size = 0;
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (m === null) return undefined;
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    if (high < low) return undefined;
    size += high - low + 1;
  }
  return size;
}
