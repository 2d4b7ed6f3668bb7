// The container configuration of runtime-spec 1.3 (config.md + config-linux.md), written once with
// TypeBox: the same objects are the JSON Schema (compiled ahead of time by build.ts) and, through
// Static<>, the TypeScript types the runtime works with.
//
// House rules, so the choices below are not re-argued field by field:
// - Unknown properties are ignored (the spec's extensibility rule), so no object here sets
//   additionalProperties: false. Other platforms' sections (windows, solaris, vm, zos, freebsd)
//   are not described and so pass through untouched.
// - Integer widths follow the spec's uint32/int64/... with the official schema's bounds.
// - A field is required when the spec text marks it REQUIRED for Linux and the Go bindings always
//   write it (no omitempty), even where the official JSON schema leaves it optional for Windows.
// - Where the official schema and the spec text disagree, the text (and what real tools write) wins;
//   each such place says so.
//
// Only runtime-neutral code may import values from this file: it loads TypeBox. The runtime imports
// types only (`import type`), which vanish at build time.

import { Type, type Static, type TSchema } from "@sinclair/typebox";
import {
  IOPRIO_CLASSES,
  MEMORY_POLICY_FLAGS,
  MEMORY_POLICY_MODES,
  NAMESPACE_TYPES,
  PERSONALITY_DOMAINS,
  ROOTFS_PROPAGATIONS,
  SCHEDULER_FLAGS,
  SCHEDULER_POLICIES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from "./enums.ts";

const Opt = Type.Optional;

// JSON numbers become doubles: 2 ** 63 and 2 ** 64 are what int64/uint64 maxima round to anyway,
// and integers past 2 ** 53 lose precision in JSON.parse (see the report on seccomp values).
const int32 = () => Type.Integer({ minimum: -(2 ** 31), maximum: 2 ** 31 - 1 });
const int64 = () => Type.Integer({ minimum: -(2 ** 63), maximum: 2 ** 63 });
const uint16 = () => Type.Integer({ minimum: 0, maximum: 2 ** 16 - 1 });
const uint32 = () => Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 });
const uint64 = () => Type.Integer({ minimum: 0, maximum: 2 ** 64 });

const Strings = () => Type.Array(Type.String());

// A JSON Schema "enum" typed as a string union. No "type": "string" beside it, so a wrong value
// gets one error naming the allowed values instead of two.
function StringEnum<const T extends readonly string[]>(values: T) {
  return Type.Unsafe<T[number]>({ enum: [...values] });
}

const StringMap = () => Type.Record(Type.String(), Type.String());

function MapOf<T extends TSchema>(value: T) {
  return Type.Record(Type.String(), value);
}

// ---- config.md ------------------------------------------------------------------------------

export const LinuxIDMapping = Type.Object({
  containerID: uint32(),
  hostID: uint32(),
  size: uint32(),
});

export const Mount = Type.Object({
  // Linux allows a relative destination (deprecated, taken relative to "/"): checks.ts warns.
  destination: Type.String(),
  source: Opt(Type.String()),
  options: Opt(Strings()),
  type: Opt(Type.String()),
  uidMappings: Opt(Type.Array(LinuxIDMapping)),
  gidMappings: Opt(Type.Array(LinuxIDMapping)),
});

export const Root = Type.Object({
  // Absolute, or relative to the bundle.
  path: Type.String(),
  readonly: Opt(Type.Boolean()),
});

export const Hook = Type.Object({
  path: Type.String(),
  args: Opt(Strings()),
  env: Opt(Strings()),
  // Seconds; the spec requires it to be greater than zero when set.
  timeout: Opt(Type.Integer({ minimum: 1 })),
});

export const Hooks = Type.Object({
  // Deprecated by the spec in favour of the three below, but still run.
  prestart: Opt(Type.Array(Hook)),
  createRuntime: Opt(Type.Array(Hook)),
  createContainer: Opt(Type.Array(Hook)),
  startContainer: Opt(Type.Array(Hook)),
  poststart: Opt(Type.Array(Hook)),
  poststop: Opt(Type.Array(Hook)),
});

export const User = Type.Object({
  // uid and gid are REQUIRED for POSIX in the text (the official schema relaxes them for Windows).
  uid: uint32(),
  gid: uint32(),
  // Unset means: leave the caller's umask alone.
  umask: Opt(uint32()),
  additionalGids: Opt(Type.Array(uint32())),
});

export const POSIXRlimit = Type.Object({
  type: Type.String({ pattern: "^RLIMIT_[A-Z]+$" }),
  soft: uint64(),
  hard: uint64(),
});

export const LinuxCapabilities = Type.Object({
  bounding: Opt(Strings()),
  effective: Opt(Strings()),
  inheritable: Opt(Strings()),
  permitted: Opt(Strings()),
  ambient: Opt(Strings()),
});

export const ConsoleSize = Type.Object({
  height: uint64(),
  width: uint64(),
});

export const Scheduler = Type.Object({
  policy: StringEnum(SCHEDULER_POLICIES),
  nice: Opt(int32()),
  priority: Opt(int32()),
  flags: Opt(Type.Array(StringEnum(SCHEDULER_FLAGS))),
  runtime: Opt(uint64()),
  deadline: Opt(uint64()),
  period: Opt(uint64()),
});

export const LinuxIOPriority = Type.Object({
  class: StringEnum(IOPRIO_CLASSES),
  // REQUIRED in the text (0 highest .. 7 lowest, checked in checks.ts); the schema forgot it.
  priority: int32(),
});

// A CPU list such as "0-3,7"; the exact grammar is checked in checks.ts.
const CpuList = () => Type.String({ pattern: "^[0-9, -]*$" });

export const CPUAffinity = Type.Object({
  initial: Opt(CpuList()),
  final: Opt(CpuList()),
});

export const Process = Type.Object({
  terminal: Opt(Type.Boolean()),
  // Ignored unless terminal is true.
  consoleSize: Opt(ConsoleSize),
  // The Go bindings always write user; the text gives uid and gid no default.
  user: User,
  // At least one entry is REQUIRED outside Windows; it is execvp's file.
  args: Type.Array(Type.String(), { minItems: 1 }),
  env: Opt(Strings()),
  // Must be absolute (checks.ts).
  cwd: Type.String(),
  capabilities: Opt(LinuxCapabilities),
  rlimits: Opt(Type.Array(POSIXRlimit)),
  noNewPrivileges: Opt(Type.Boolean()),
  apparmorProfile: Opt(Type.String()),
  // Unset means the runtime must not touch oom_score_adj.
  oomScoreAdj: Opt(Type.Integer()),
  selinuxLabel: Opt(Type.String()),
  ioPriority: Opt(LinuxIOPriority),
  scheduler: Opt(Scheduler),
  // Applies to exec'd processes only, never to the container's init.
  execCPUAffinity: Opt(CPUAffinity),
});

// ---- config-linux.md --------------------------------------------------------------------------

export const LinuxNamespace = Type.Object({
  type: StringEnum(NAMESPACE_TYPES),
  // Join this namespace instead of creating one; must be absolute (checks.ts).
  path: Opt(Type.String()),
});

export const LinuxDevice = Type.Object({
  type: StringEnum(["c", "b", "u", "p"] as const),
  path: Type.String(),
  // Required unless type is "p" (checks.ts).
  major: Opt(int64()),
  minor: Opt(int64()),
  // uint32 per the text. The official schema caps it at 0777, but podman writes the file type
  // bits too (8630 = S_IFCHR|0666) and runc accepts that, so we do.
  fileMode: Opt(uint32()),
  uid: Opt(uint32()),
  gid: Opt(uint32()),
});

export const LinuxNetDevice = Type.Object({
  // Name inside the container; the host name when unset. A trailing %d asks the kernel to number it.
  name: Opt(Type.String()),
});

export const LinuxDeviceCgroup = Type.Object({
  allow: Type.Boolean(),
  // Unset means "a" (all), as do unset major/minor ("*").
  type: Opt(StringEnum(["a", "c", "b"] as const)),
  major: Opt(int64()),
  minor: Opt(int64()),
  // Some of r(ead), w(rite), m(knod).
  access: Opt(Type.String({ pattern: "^[rwm]*$" })),
});

export const LinuxMemory = Type.Object({
  // Bytes, or -1 for unlimited.
  limit: Opt(int64()),
  reservation: Opt(int64()),
  // memory+swap, so never below limit (checks.ts).
  swap: Opt(int64()),
  // Not recommended by the spec; ignored with a warning, as runc does.
  kernel: Opt(int64()),
  kernelTCP: Opt(int64()),
  swappiness: Opt(uint64()),
  disableOOMKiller: Opt(Type.Boolean()),
  useHierarchy: Opt(Type.Boolean()),
  checkBeforeUpdate: Opt(Type.Boolean()),
});

export const LinuxCPU = Type.Object({
  shares: Opt(uint64()),
  // A positive quota must be no smaller than burst (checks.ts).
  quota: Opt(int64()),
  burst: Opt(uint64()),
  period: Opt(uint64()),
  realtimeRuntime: Opt(int64()),
  realtimePeriod: Opt(uint64()),
  cpus: Opt(Type.String()),
  mems: Opt(Type.String()),
  idle: Opt(int64()),
});

export const LinuxPids = Type.Object({
  // -1 is "max"; 0 is a real limit. OPTIONAL in the 1.3 text, though the schema still requires it.
  limit: Opt(int64()),
});

export const LinuxWeightDevice = Type.Object({
  major: int64(),
  minor: int64(),
  // At least one of the two (checks.ts).
  weight: Opt(uint16()),
  leafWeight: Opt(uint16()),
});

export const LinuxThrottleDevice = Type.Object({
  major: int64(),
  minor: int64(),
  rate: uint64(),
});

export const LinuxBlockIO = Type.Object({
  weight: Opt(uint16()),
  leafWeight: Opt(uint16()),
  weightDevice: Opt(Type.Array(LinuxWeightDevice)),
  throttleReadBpsDevice: Opt(Type.Array(LinuxThrottleDevice)),
  throttleWriteBpsDevice: Opt(Type.Array(LinuxThrottleDevice)),
  throttleReadIOPSDevice: Opt(Type.Array(LinuxThrottleDevice)),
  throttleWriteIOPSDevice: Opt(Type.Array(LinuxThrottleDevice)),
});

export const LinuxHugepageLimit = Type.Object({
  // <size><K|M|G>B, base 1024: "64KB", "2MB", "1GB".
  pageSize: Type.String({ pattern: "^[1-9][0-9]*[KMG]B$" }),
  limit: uint64(),
});

export const LinuxInterfacePriority = Type.Object({
  name: Type.String(),
  priority: uint32(),
});

export const LinuxNetwork = Type.Object({
  classID: Opt(uint32()),
  priorities: Opt(Type.Array(LinuxInterfacePriority)),
});

export const LinuxRdma = Type.Object({
  // At least one of the two (checks.ts).
  hcaHandles: Opt(uint32()),
  hcaObjects: Opt(uint32()),
});

export const LinuxResources = Type.Object({
  // Applied in the listed order.
  devices: Opt(Type.Array(LinuxDeviceCgroup)),
  memory: Opt(LinuxMemory),
  cpu: Opt(LinuxCPU),
  pids: Opt(LinuxPids),
  blockIO: Opt(LinuxBlockIO),
  hugepageLimits: Opt(Type.Array(LinuxHugepageLimit)),
  network: Opt(LinuxNetwork),
  // Keyed by device name.
  rdma: Opt(MapOf(LinuxRdma)),
  // cgroup v2 file name -> content, written even when the runtime does not know the file.
  unified: Opt(StringMap()),
});

export const LinuxSeccompArg = Type.Object({
  index: uint32(),
  value: uint64(),
  valueTwo: Opt(uint64()),
  op: StringEnum(SECCOMP_OPERATORS),
});

export const LinuxSyscall = Type.Object({
  names: Type.Array(Type.String(), { minItems: 1 }),
  action: StringEnum(SECCOMP_ACTIONS),
  // Only for actions that return an errno (checks.ts); EPERM when unset.
  errnoRet: Opt(uint32()),
  args: Opt(Type.Array(LinuxSeccompArg)),
});

export const LinuxSeccomp = Type.Object({
  defaultAction: StringEnum(SECCOMP_ACTIONS),
  defaultErrnoRet: Opt(uint32()),
  architectures: Opt(Type.Array(StringEnum(SECCOMP_ARCHES))),
  flags: Opt(Type.Array(StringEnum(SECCOMP_FLAGS))),
  // Unix socket that receives the seccomp fd when SCMP_ACT_NOTIFY is used.
  listenerPath: Opt(Type.String()),
  // Must not be set without listenerPath (checks.ts).
  listenerMetadata: Opt(Type.String()),
  syscalls: Opt(Type.Array(LinuxSyscall)),
});

// One line of the resctrl schemata file: the text forbids newlines.
const SchemataLine = () => Type.String({ pattern: "^[^\\n]*$" });

export const LinuxIntelRdt = Type.Object({
  // "/" means the default CLOS; unset means a group named after the container.
  closID: Opt(Type.String()),
  schemata: Opt(Type.Array(SchemataLine())),
  l3CacheSchema: Opt(Type.String()),
  memBwSchema: Opt(Type.String({ pattern: "^MB:[^\\n]*$" })),
  enableMonitoring: Opt(Type.Boolean()),
});

export const LinuxMemoryPolicy = Type.Object({
  // REQUIRED in the text; the official schema forgot it.
  mode: StringEnum(MEMORY_POLICY_MODES),
  // A node list such as "0-3,7"; which modes need nodes is checked in checks.ts.
  nodes: Opt(Type.String()),
  flags: Opt(Type.Array(StringEnum(MEMORY_POLICY_FLAGS))),
});

export const LinuxPersonality = Type.Object({
  // REQUIRED in the text; the official schema forgot it.
  domain: StringEnum(PERSONALITY_DOMAINS),
  // No flags are defined yet; any given are ignored with a warning, as runc does.
  flags: Opt(Strings()),
});

export const LinuxTimeOffset = Type.Object({
  secs: Opt(int64()),
  nanosecs: Opt(uint32()),
});

export const Linux = Type.Object({
  uidMappings: Opt(Type.Array(LinuxIDMapping)),
  gidMappings: Opt(Type.Array(LinuxIDMapping)),
  sysctl: Opt(StringMap()),
  resources: Opt(LinuxResources),
  cgroupsPath: Opt(Type.String()),
  namespaces: Opt(Type.Array(LinuxNamespace)),
  devices: Opt(Type.Array(LinuxDevice)),
  // Host interface name -> how it appears in the container.
  netDevices: Opt(MapOf(LinuxNetDevice)),
  seccomp: Opt(LinuxSeccomp),
  // The spec lists the four plain values; runc also takes the recursive spellings, so we do too.
  rootfsPropagation: Opt(
    StringEnum([...ROOTFS_PROPAGATIONS, "rprivate", "rshared", "rslave", "runbindable"] as const),
  ),
  maskedPaths: Opt(Strings()),
  readonlyPaths: Opt(Strings()),
  mountLabel: Opt(Type.String()),
  intelRdt: Opt(LinuxIntelRdt),
  memoryPolicy: Opt(LinuxMemoryPolicy),
  personality: Opt(LinuxPersonality),
  // Clock name ("boottime" or "monotonic", checks.ts) -> offset.
  timeOffsets: Opt(MapOf(LinuxTimeOffset)),
});

export const Spec = Type.Object({
  // SemVer of the spec the bundle follows; anything not 1.x is warned about, never refused (runc
  // does not look at it).
  ociVersion: Type.String(),
  // OPTIONAL in the spec, but a container cannot start without it: checks.ts requires it, as runc does.
  process: Opt(Process),
  // REQUIRED on Linux in the text (optional in the schema only for Hyper-V).
  root: Root,
  hostname: Opt(Type.String()),
  domainname: Opt(Type.String()),
  // Mounted in the listed order.
  mounts: Opt(Type.Array(Mount)),
  hooks: Opt(Hooks),
  // Keys must not be empty (checks.ts); values may be.
  annotations: Opt(StringMap()),
  linux: Opt(Linux),
});

export type LinuxIDMapping = Static<typeof LinuxIDMapping>;
export type Mount = Static<typeof Mount>;
export type Root = Static<typeof Root>;
export type Hook = Static<typeof Hook>;
export type Hooks = Static<typeof Hooks>;
export type User = Static<typeof User>;
export type POSIXRlimit = Static<typeof POSIXRlimit>;
export type LinuxCapabilities = Static<typeof LinuxCapabilities>;
export type ConsoleSize = Static<typeof ConsoleSize>;
export type Scheduler = Static<typeof Scheduler>;
export type LinuxIOPriority = Static<typeof LinuxIOPriority>;
export type CPUAffinity = Static<typeof CPUAffinity>;
export type Process = Static<typeof Process>;
export type LinuxNamespace = Static<typeof LinuxNamespace>;
export type LinuxNamespaceType = LinuxNamespace["type"];
export type LinuxDevice = Static<typeof LinuxDevice>;
export type LinuxNetDevice = Static<typeof LinuxNetDevice>;
export type LinuxDeviceCgroup = Static<typeof LinuxDeviceCgroup>;
export type LinuxMemory = Static<typeof LinuxMemory>;
export type LinuxCPU = Static<typeof LinuxCPU>;
export type LinuxPids = Static<typeof LinuxPids>;
export type LinuxWeightDevice = Static<typeof LinuxWeightDevice>;
export type LinuxThrottleDevice = Static<typeof LinuxThrottleDevice>;
export type LinuxBlockIO = Static<typeof LinuxBlockIO>;
export type LinuxHugepageLimit = Static<typeof LinuxHugepageLimit>;
export type LinuxInterfacePriority = Static<typeof LinuxInterfacePriority>;
export type LinuxNetwork = Static<typeof LinuxNetwork>;
export type LinuxRdma = Static<typeof LinuxRdma>;
export type LinuxResources = Static<typeof LinuxResources>;
export type LinuxSeccompArg = Static<typeof LinuxSeccompArg>;
export type LinuxSyscall = Static<typeof LinuxSyscall>;
export type LinuxSeccomp = Static<typeof LinuxSeccomp>;
export type LinuxSeccompAction = LinuxSeccomp["defaultAction"];
export type LinuxIntelRdt = Static<typeof LinuxIntelRdt>;
export type LinuxMemoryPolicy = Static<typeof LinuxMemoryPolicy>;
export type LinuxPersonality = Static<typeof LinuxPersonality>;
export type LinuxTimeOffset = Static<typeof LinuxTimeOffset>;
export type Linux = Static<typeof Linux>;
export type Spec = Static<typeof Spec>;
