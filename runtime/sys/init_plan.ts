import type { Address } from "./netlink.ts";

// INIT_PLAN: what the host tells `tsrun init` to do inside the container's namespaces. The host
// decides everything (runtime/container/plan.ts); init only carries it out (runtime/init/).
// Travels as JSON in one INIT_PLAN frame (see protocol.ts).

export interface MountOp {
  /** How errors name this mount: `mount "/data" (bind from "/srv/data")`. */
  what: string;
  kind: "bind" | "fs";
  /** bind: an absolute host path; fs: the fs source ("proc", "tmpfs", a device, …). */
  source: string;
  fstype: string;
  /** Absolute path inside the rootfs, resolved inside it by the kernel. */
  target: string;
  /** rbind: the whole tree under source. */
  recursive: boolean;
  /** What to create at the target when it is missing. */
  create: "dir" | "file";
  /** fsconfig(2) parameters: [key, value] or [key, null] for a flag. */
  params: [string, string | null][];
  /** MOUNT_ATTR_* set/cleared on the new mount itself. */
  attrSet: number;
  attrClr: number;
  /** MOUNT_ATTR_* set/cleared on the whole tree (the r* options). */
  recSet: number;
  recClr: number;
  /** MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, each maybe with MS_REC, applied in order. */
  propagation: number[];
  /** Made read-only only after init has created what goes inside (tmpfs, /dev), as runc does. */
  deferReadonly: boolean;
  /** proc and sysfs must land on a real directory, never through a symlink. */
  mustBeDir: boolean;
  /** A tmpfs over an existing directory takes that directory's mode (runc). */
  keepMode: boolean;
  /** tmpcopyup: the new filesystem starts with a copy of the directory it covers. */
  copyUp: boolean;
  /** An idmapped mount: the user namespace fd (in init) holding the mapping; ridmap = recursive. */
  idmap: { fd: number; recursive: boolean } | null;
  /** A bind mount the host prepared (idmapped: that needs privilege over the source's
   * filesystem, which init in a user namespace lacks): the detached tree's fd in init. */
  tree: number | null;
  /** Symlinks to create after mounting it: [link target, absolute path of the link]. */
  links: [string, string][];
}

export interface DeviceOp {
  path: string;
  type: "c" | "b" | "u" | "p";
  major: number;
  minor: number;
  /** Permission bits only. */
  mode: number;
  uid: number;
  gid: number;
}

export interface HookOp {
  path: string;
  args: string[];
  env: string[];
  /** seconds; 0 = none */
  timeout: number;
}

export interface RlimitOp {
  type: string;
  resource: number;
  soft: string;
  hard: string;
}

/** Attributes the exec stage sets before execve, as the kernel takes them (binary as base64). */
export interface ProcessAttrs {
  personality?: number;
  ioprio?: number;
  /** struct sched_attr */
  sched?: string;
  mempolicy?: { mode: number; nodes: string };
  /** execCPUAffinity.final, a cpu mask */
  affinity?: string;
  /** the value written to attr/apparmor/exec ("exec <profile>") */
  apparmor?: string;
  /** the value written to attr/exec */
  selinux?: string;
}

/** Everything the exec stage needs; init encodes it as an exec plan (protocol.ts Exec). */
export interface ProcessPlan {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  /** null: setgroups() is not called (denied in a user namespace without a privileged mapping). */
  groups: number[] | null;
  umask: number;
  /** bounding, effective, permitted, inheritable, ambient as decimal u64 strings; null = unchanged. */
  caps: [string, string, string, string, string] | null;
  noNewPrivileges: boolean;
  /** flags, the BPF program (base64), and when to install it (protocol.ts SeccompWhen). */
  seccomp: { flags: number; program: string; when: number } | null;
  preserveFds: number;
  /** Applied by the exec stage while still root. */
  rlimits: RlimitOp[];
  /** startContainer hooks, run by the exec stage inside the container before execve. */
  startHooks: HookOp[];
  /** The state JSON those hooks get on stdin (filled in by the host once the pid is known). */
  hookState: string;
  attrs: ProcessAttrs;
  /** Make a pty inside the container and send its master to the console socket. */
  console: { rows: number; cols: number; bindConsole: boolean } | null;
  /** HOME is looked up in the container's /etc/passwd when the env lacks it (runc). */
  needHome: boolean;
}

export interface InitPlan {
  id: string;
  rootfs: string;
  bundle: string;
  /** linux.rootfsPropagation: MS_* applied to the container's "/" after pivot_root, or null. */
  rootPropagation: number | null;
  newMountNs: boolean;
  /** unshare(CLONE_NEWCGROUP) first thing: the host has placed init in its cgroup by now. */
  newCgroupNs: boolean;
  mounts: MountOp[];
  setupDev: boolean;
  devices: DeviceOp[];
  /** Inside a user namespace device nodes cannot be made: bind the host's instead. */
  bindDevices: boolean;
  /** /dev symlinks: [link target, path]. */
  devLinks: [string, string][];
  noPivot: boolean;
  readonlyRoot: boolean;
  readonlyPaths: string[];
  maskedPaths: string[];
  sysctl: [string, string][];
  hostname: string | null;
  domainname: string | null;
  /** Name of a fresh session keyring to join, or null for --no-new-keyring. */
  sessionKeyring: string | null;
  process: ProcessPlan;
  /** linux.netDevices already moved in by the host: their addresses to restore, then up. A
   * name with "%d" was chosen by the kernel: the device is found by hardware address then. */
  netDevices: { name: string; mac?: string; addresses: Address[] }[];
  /** createContainer hooks, run by init in the container's namespaces before pivot_root. */
  createHooks: HookOp[];
  /** Ask the host to run prestart and createRuntime hooks (HOOK frame) before those. */
  runtimeHooks: boolean;
  /** The state JSON createContainer hooks get ("created", see create.ts), filled in by the host. */
  createState: string;
  fds: { sync: number; helper: number; fifo: number; console: number };
}
