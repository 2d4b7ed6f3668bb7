// config.json → the plan `tsrun init` carries out. Pure: every host fact it needs comes in as a
// parameter, so the whole mapping is unit-tested without root.
import { posix } from "../sys/path.ts";
import type { Hook, LinuxDevice, LinuxDeviceCgroup, Mount, Process, Spec } from "../../spec/schema.ts";
import { CAPS, RLIMIT } from "../sys/constants.ts";
import type { DeviceOp, HookOp, InitPlan, MountOp, ProcessPlan, RlimitOp } from "../sys/init_plan.ts";
import { PROPAGATION, parseMountOptions } from "./mount_options.ts";
import { hostLsm, type LsmState, planAttrs } from "./process_attrs.ts";

export interface PlanInput {
  id: string;
  bundle: string;
  rootfs: string;
  config: Spec;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** fds beyond stdio that pass into the container (LISTEN_FDS + --preserve-fds). */
  preserveFds: number;
  /** Added to process.env (LISTEN_FDS, LISTEN_PID). */
  extraEnv: string[];
  console: boolean;
  fds: InitPlan["fds"];
  /** The idmapping (user namespace fd in init) of mounts[index], if it asks for one. */
  idmap(m: Mount, index: number): MountOp["idmap"];
  /** The fd in init of the tree the host prepared for bind mount mounts[index], if any. */
  preparedTree(index: number): number | null;
  /** Expands a mount of type "cgroup" into what this host needs. */
  cgroupMounts(m: Mount): MountOp[];
  /** Host stat of a bind source: "dir", "file", or null when missing. */
  sourceKind(path: string): "dir" | "file" | null;
  /** What capabilities this kernel and tsrun's own bounding set allow. */
  grantable: Grantable;
  /** Whether /proc/kcore exists (then /dev/core links to it, as runc does). */
  hasKcore: boolean;
  seccomp: ProcessPlan["seccomp"];
  /** Which LSMs the host has (tests set it; default: looked up). */
  lsm?: LsmState;
  /** setgroups(2) is denied in the container's user namespace (rootless): no supplementary groups. */
  setgroupsDenied?: boolean;
  /** Called for things tsrun skips on purpose, as runc warns about them. */
  warn(message: string): void;
  /** Details for --debug: what the kernel does on its own, e.g. ambient capabilities it will not raise. */
  debug?(message: string): void;
}

/** Devices every container gets (runtime-spec "Default Devices"), unless linux.devices names the path. */
const DEFAULT_DEVICES: DeviceOp[] = [
  { path: "/dev/null", type: "c", major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/zero", type: "c", major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/full", type: "c", major: 1, minor: 7, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/random", type: "c", major: 1, minor: 8, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/urandom", type: "c", major: 1, minor: 9, mode: 0o666, uid: 0, gid: 0 },
  { path: "/dev/tty", type: "c", major: 5, minor: 0, mode: 0o666, uid: 0, gid: 0 },
];

/**
 * Device cgroup rules runc appends to every container's own: mknod of anything, the default
 * devices, ptys, ptmx and tun. Dropped for a default device whose path linux.devices redefines.
 */
export function defaultDeviceRules(config: Spec): LinuxDeviceCgroup[] {
  const redefined = new Set((config.linux?.devices ?? []).map((d) => posix.normalize(d.path)));
  const rules: LinuxDeviceCgroup[] = [
    { allow: true, type: "c", access: "m" },
    { allow: true, type: "b", access: "m" },
  ];
  for (const d of DEFAULT_DEVICES)
    if (!redefined.has(d.path)) rules.push({ allow: true, type: "c", major: d.major, minor: d.minor, access: "rwm" });
  rules.push(
    { allow: true, type: "c", major: 136, access: "rwm" },
    { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
    { allow: true, type: "c", major: 10, minor: 200, access: "rwm" },
  );
  return rules;
}

export class PlanError extends Error {}

export function planInit(input: PlanInput): InitPlan {
  const { config } = input;
  const linux = config.linux ?? {};
  const namespaces = new Set((linux.namespaces ?? []).map((n) => n.type));
  const userns = namespaces.has("user");
  const mounts = config.mounts ?? [];
  const setupDev = !mounts.some((m) => posix.normalize(m.destination) === "/dev" && isBind(m));

  // runc passes the label anyway and the mount fails with EINVAL; the reason is clearer here.
  if (linux.mountLabel && !(input.lsm ?? hostLsm()).selinux) throw new PlanError(`linux.mountLabel "${linux.mountLabel}": SELinux is not enabled on this host`);
  let rootPropagation: number | null = null;
  if (linux.rootfsPropagation) {
    const p = PROPAGATION[linux.rootfsPropagation];
    if (p === undefined) throw new PlanError(`linux.rootfsPropagation: unknown propagation "${linux.rootfsPropagation}"`);
    rootPropagation = p;
  }

  return {
    id: input.id,
    rootfs: input.rootfs,
    bundle: input.bundle,
    rootPropagation,
    newMountNs: namespaces.has("mount"),
    newCgroupNs: (linux.namespaces ?? []).some((n) => n.type === "cgroup" && !n.path),
    mounts: mounts.flatMap((m, i) => planMount(input, m, i)),
    setupDev,
    devices: planDevices(linux.devices ?? []),
    bindDevices: userns,
    devLinks: [
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
      ...(input.hasKcore ? [["/proc/kcore", "/dev/core"] as [string, string]] : []),
    ],
    noPivot: input.noPivot,
    readonlyRoot: config.root?.readonly === true,
    readonlyPaths: linux.readonlyPaths ?? [],
    maskedPaths: linux.maskedPaths ?? [],
    sysctl: Object.entries(linux.sysctl ?? {}),
    hostname: config.hostname ?? null,
    domainname: config.domainname ?? null,
    sessionKeyring: input.noNewKeyring ? null : `_ses.${input.id}`,
    process: planProcess(input, setupDev),
    netDevices: [],
    createHooks: planHooks(config.hooks?.createContainer),
    runtimeHooks: Boolean(config.hooks?.prestart?.length || config.hooks?.createRuntime?.length),
    createState: "{}",
    fds: input.fds,
  };
}

function isBind(m: Mount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function planMount(input: PlanInput, m: Mount, index: number): MountOp[] {
  const field = `mounts[${index}]`;
  if (m.type === "cgroup") return input.cgroupMounts(m);
  const opts = parseMountOptions(m.options);
  if (typeof opts === "string") throw new PlanError(`${field}.options: ${opts}`);
  const target = posix.resolve("/", m.destination);
  const bind = opts.bind || m.type === "bind";
  if (bind) {
    if (!m.source) throw new PlanError(`${field}.source: a bind mount needs a source`);
    const source = posix.resolve(input.bundle, m.source);
    const kind = input.sourceKind(source);
    if (kind === null) throw new PlanError(`mount "${target}" (bind from "${source}"): source does not exist`);
    return [
      {
        what: `mount "${target}" (bind from "${source}")`,
        kind: "bind",
        source,
        fstype: "",
        target,
        recursive: opts.recursive,
        create: kind,
        params: [],
        attrSet: opts.attrSet,
        attrClr: opts.attrClr,
        recSet: opts.recSet,
        recClr: opts.recClr,
        propagation: opts.propagation,
        deferReadonly: target === "/dev" && opts.readonly,
        mustBeDir: false,
        keepMode: false,
        copyUp: false,
        // An idmapped bind is prepared by the host; init attaches it.
        idmap: null,
        tree: input.preparedTree(index),
        links: [],
      },
    ];
  }
  if (!m.type) throw new PlanError(`${field}.type: required for a mount that is not a bind mount`);
  // linux.mountLabel: the SELinux context of new filesystems (not proc and sysfs, which cannot
  // be labelled, nor bind mounts, which keep their files' labels).
  const label = input.config.linux?.mountLabel;
  if (label && m.type !== "proc" && m.type !== "sysfs") opts.params.push(["context", label]);
  if (opts.tmpcopyup && m.type !== "tmpfs") throw new PlanError(`${field}.options: "tmpcopyup" is only for tmpfs`);
  const deferReadonly = opts.readonly && (m.type === "tmpfs" || target === "/dev");
  return [
    {
      what: `mount "${target}" (${m.type})`,
      kind: "fs",
      source: m.source ?? m.type,
      fstype: m.type,
      target,
      recursive: false,
      create: "dir",
      params: opts.params,
      attrSet: opts.attrSet,
      attrClr: opts.attrClr,
      recSet: opts.recSet,
      recClr: opts.recClr,
      propagation: opts.propagation,
      deferReadonly,
      mustBeDir: m.type === "proc" || m.type === "sysfs",
      keepMode: m.type === "tmpfs",
      copyUp: opts.tmpcopyup,
      idmap: input.idmap(m, index),
      tree: null,
      links: [],
    },
  ];
}

function planDevices(devices: LinuxDevice[]): DeviceOp[] {
  const own = devices.map((d) => ({
    path: posix.normalize(d.path),
    type: d.type as DeviceOp["type"],
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    // runc: 0666 unless fileMode says otherwise; the type bits come from `type`.
    mode: (d.fileMode ?? 0o666) & 0o7777,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  }));
  const paths = new Set(own.map((d) => d.path));
  // /dev/ptmx is always a link to pts/ptmx; a node for it would bypass the container's devpts.
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...own.filter((d) => d.path !== "/dev/ptmx")];
}

/**
 * Capability names → a mask. A name no kernel knows is refused (a typo must not pass silently;
 * the runtime-spec asks for at least a warning). One that cannot be granted here — newer than
 * this kernel, or outside tsrun's own bounding set (root on these hosts lacks CAP_SYS_RESOURCE)
 * — is left out with a warning, as the runtime-spec says runtimes SHOULD do rather than fail.
 */
export function capMask(names: readonly string[] | undefined, field: string, grantable: Grantable, warn: (m: string) => void): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const bit = (CAPS as readonly string[]).indexOf(name);
    if (bit < 0) throw new PlanError(`${field}: unknown capability "${name}"`);
    if (bit > grantable.capLast) {
      warn(`${field}: capability "${name}" is not supported by this kernel; left out`);
      continue;
    }
    if (!(grantable.bounding & (1n << BigInt(bit)))) {
      warn(`${field}: capability "${name}" is not in tsrun's own bounding set, so it cannot be granted; left out`);
      continue;
    }
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export interface Grantable {
  /** Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  capLast: number;
  /** tsrun's own bounding set: what a process it starts can possibly hold. */
  bounding: bigint;
}

/**
 * One entry per name, at the place of its first occurrence with the value of its last (a later
 * entry overrides, as exec --env must; runc sets them one by one with setenv). An entry that is
 * not NAME=value is refused rather than handed to execve.
 */
export function processEnv(entries: readonly string[], field: string): string[] {
  const at = new Map<string, number>();
  const out: string[] = [];
  for (const [i, e] of entries.entries()) {
    const eq = e.indexOf("=");
    if (eq < 0) throw new PlanError(`${field}[${i}]: ${JSON.stringify(e)} is not NAME=value`);
    if (eq === 0) throw new PlanError(`${field}[${i}]: ${JSON.stringify(e)} has an empty name`);
    if (e.includes("\0")) throw new PlanError(`${field}[${i}]: ${JSON.stringify(e)} contains a NUL byte`);
    const name = e.slice(0, eq);
    const j = at.get(name);
    if (j === undefined) {
      at.set(name, out.length);
      out.push(e);
    } else out[j] = e;
  }
  return out;
}

function planProcess(input: PlanInput, setupDev: boolean): ProcessPlan {
  const p = input.config.process;
  if (!p) throw new PlanError("process: required to create a container");
  const c = p.capabilities;
  const mask = (set: keyof NonNullable<typeof c>) =>
    capMask(c?.[set], `process.capabilities.${set}`, input.grantable, input.warn).toString();
  const env = processEnv([...(p.env ?? []), ...input.extraEnv], "process.env");
  const caps = c ? ([mask("bounding"), mask("effective"), mask("permitted"), mask("inheritable"), mask("ambient")] as const) : null;
  if (caps) {
    const ambient = BigInt(caps[4]) & ~(BigInt(caps[2]) & BigInt(caps[3]));
    if (ambient) input.debug?.("process.capabilities.ambient: capabilities not both permitted and inheritable are not raised");
  }
  return {
    args: p.args ?? [],
    env,
    cwd: p.cwd,
    uid: p.user.uid,
    gid: p.user.gid,
    groups: input.setgroupsDenied ? null : (p.user.additionalGids ?? []),
    umask: p.user.umask ?? 0o022,
    caps: caps ? [...caps] : null,
    noNewPrivileges: p.noNewPrivileges === true,
    seccomp: input.seccomp,
    preserveFds: input.preserveFds,
    // /dev/console is the pty too, where init made /dev (an empty file for it).
    console: input.console ? { rows: p.consoleSize?.height ?? 0, cols: p.consoleSize?.width ?? 0, bindConsole: setupDev } : null,
    needHome: !env.some((e) => e.startsWith("HOME=")),
    rlimits: planRlimits(p.rlimits),
    startHooks: planHooks(input.config.hooks?.startContainer),
    hookState: "{}",
    // execCPUAffinity is not for the container's init (runtime-spec); exec applies it.
    attrs: planAttrs({ ...p, memoryPolicy: input.config.linux?.memoryPolicy, personality: input.config.linux?.personality, execCPUAffinity: undefined }, input.lsm),
  };
}

export function planHooks(hooks: readonly Hook[] | undefined): HookOp[] {
  return (hooks ?? []).map((h) => ({ path: h.path, args: [...(h.args ?? [])], env: [...(h.env ?? [])], timeout: h.timeout ?? 0 }));
}

export function planRlimits(rlimits: Process["rlimits"]): RlimitOp[] {
  return (rlimits ?? []).map((r, i) => {
    const resource = RLIMIT[r.type];
    if (resource === undefined) throw new PlanError(`process.rlimits[${i}].type: unknown rlimit "${r.type}"`);
    return { type: r.type, resource, soft: String(r.soft), hard: String(r.hard) };
  });
}
