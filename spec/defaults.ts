// The starting config `tsrun spec` writes: the same shape as `runc spec` (and `runc spec
// --rootless`), so tutorials written for runc work unchanged, with two deliberate differences:
// - no inheritable capabilities (CVE-2022-29162: inheritable caps survive execve of a file with
//   inheritable file caps), and so no ambient ones either, since the kernel only raises an ambient
//   capability that is also inheritable;
// - ociVersion is the spec version we implement.

import type { LinuxNamespace, Mount, Spec } from "./schema.ts";
import { SPEC_VERSION } from "./version.ts";

export interface DefaultSpecOptions {
  /** For a user without root: a user namespace mapping them to root, no network namespace, no cgroup limits. */
  rootless?: boolean;
  /** The host uid/gid mapped to root in a rootless spec (runc uses the caller's euid/egid). */
  hostUid?: number;
  hostGid?: number;
  /** Give the container its own cgroup namespace (runc does when the host runs pure cgroup v2). */
  cgroupNamespace?: boolean;
}

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];

const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function mounts(): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
}

export function defaultSpec(options: DefaultSpecOptions = {}): Spec {
  const namespaces: LinuxNamespace[] = [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (options.cgroupNamespace) namespaces.push({ type: "cgroup" });
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "tsrun",
    mounts: mounts(),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (!options.rootless) return spec;

  // Rootless, as `runc spec --rootless` writes it.
  return {
    ...spec,
    // Only one id is mapped, so uid=/gid= options would name ids that do not exist; and a new sysfs
    // needs a network namespace the user owns, so /sys is bind-mounted from the host instead.
    mounts: mounts().map((m): Mount => {
      if (m.destination === "/sys") {
        return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
      }
      if (m.options === undefined) return m;
      return { ...m, options: m.options.filter((o) => !o.startsWith("uid=") && !o.startsWith("gid=")) };
    }),
    linux: {
      // No resources: without root on the host the cgroup cannot be written to.
      uidMappings: [{ containerID: 0, hostID: options.hostUid ?? 0, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: options.hostGid ?? 0, size: 1 }],
      // A network namespace nobody could configure without root is left out; user goes last.
      namespaces: [...namespaces.filter((ns) => ns.type !== "network"), { type: "user" }],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}
