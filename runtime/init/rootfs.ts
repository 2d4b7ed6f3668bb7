// The container's filesystem, built inside its mount namespace from the host's plan. Every mount
// lands on an fd resolved inside the rootfs (paths.ts); flags are applied to detached mounts
// before they are attached, so no remount dance and no window with the wrong flags.
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_RECURSIVE,
  AT_SYMLINK_NOFOLLOW,
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_FLAG,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MNT_DETACH,
  MOUNT_ATTR_IDMAP,
  MOUNT_ATTR_RDONLY,
  MOVE_MOUNT_F_EMPTY_PATH,
  MOVE_MOUNT_T_EMPTY_PATH,
  MS_BIND,
  MS_PRIVATE,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  O_CLOEXEC,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
} from "../sys/constants.ts";
import { hasCode, wrap } from "../sys/errors.ts";
import type { DeviceOp, InitPlan, MountOp } from "../sys/init_plan.ts";
import type { Sys } from "../sys/sys.ts";
import { copyTree } from "./copyup.ts";
import { basename, dirname, ensureIn, IN_ROOT, mkdirAllIn, openIn } from "./paths.ts";

/** Mounts whose fds stay open until they are made read-only (deferReadonly). */
type Deferred = number[];

/** Everything before pivot_root: propagation, the rootfs bind, mounts, devices. Returns the rootfs fd. */
export function prepareRootfs(
  sys: Sys,
  plan: InitPlan,
  readMountinfo: () => string,
  beforeCgroupMount: () => void,
): { root: number; deferred: Deferred } {
  if (plan.newMountNs) {
    // By default the namespace's mounts become slaves: host mounts still propagate in, nothing
    // done here propagates out. A shared rootfsPropagation keeps them shared instead, so that
    // a bind mount with "rshared" really shares with the host (what docker relies on); the
    // propagation asked for is applied to the container's "/" again once it is the root.
    const shared = plan.rootPropagation !== null && (plan.rootPropagation & MS_SHARED) !== 0;
    sys.mount(null, "/", null, shared ? plan.rootPropagation! : MS_SLAVE | MS_REC, null);
    // pivot_root(2) refuses a new root whose parent mount is shared, and a shared parent would
    // carry the rootfs bind below out to its peers: such a parent is made private first.
    if (shared) {
      const parent = parentMount(readMountinfo(), plan.rootfs);
      if (parent?.shared) sys.mount(null, parent.mountPoint, null, MS_PRIVATE, null);
    }
    sys.mount(plan.rootfs, plan.rootfs, null, MS_BIND | MS_REC, null);
  } else {
    // No mount namespace: the config asks for the host's, so everything below lands there. The
    // host's "/" is left alone (runc makes it rslave); a private bind of the rootfs keeps the
    // container's mounts from propagating anywhere, and `delete` detaches it whole.
    sys.mount(plan.rootfs, plan.rootfs, null, MS_BIND | MS_REC, null);
    sys.mount(null, plan.rootfs, null, MS_PRIVATE | MS_REC, null);
  }
  const root = sys.openat(AT_FDCWD, plan.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

  const deferred: Deferred = [];
  for (const m of plan.mounts) {
    // A cgroup filesystem shows the mounting thread's cgroup namespace: it must exist by now.
    if (m.fstype === "cgroup" || m.fstype === "cgroup2") beforeCgroupMount();
    try {
      mountOne(sys, root, plan.rootfs, m, deferred);
    } catch (e) {
      throw wrap(m.what, e);
    }
  }
  if (plan.setupDev) setupDev(sys, root, plan);
  return { root, deferred };
}

function mountOne(sys: Sys, root: number, rootfs: string, m: MountOp, deferred: Deferred): void {
  const { fd: target, existed } = ensureIn(sys, root, m.target, m.create, m.mustBeDir ? O_NOFOLLOW : 0);
  let mnt = -1;
  try {
    const st = sys.statx(target, "", AT_EMPTY_PATH);
    if (m.mustBeDir && (st.mode & S_IFMT) !== S_IFDIR) throw new Error(`${m.fstype} must be mounted on a real directory, not a symlink or file`);
    checkProcTarget(sys, target, rootfs, m);
    if (m.kind === "bind") {
      mnt = m.tree ?? sys.openTree(AT_FDCWD, m.source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m.recursive ? AT_RECURSIVE : 0));
      const set = m.deferReadonly ? m.attrSet & ~MOUNT_ATTR_RDONLY : m.attrSet;
      if (set || m.attrClr) sys.mountSetattr(mnt, "", AT_EMPTY_PATH, { set, clr: m.attrClr });
      if (m.recSet || m.recClr) sys.mountSetattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, { set: m.recSet, clr: m.recClr });
    } else {
      mnt = newMount(sys, m);
      if (m.copyUp && existed) copyUp(sys, root, m.target, mnt);
    }
    // Only a detached mount can be idmapped: before it is attached.
    if (m.idmap) {
      try {
        sys.mountSetattr(mnt, "", AT_EMPTY_PATH | (m.idmap.recursive ? AT_RECURSIVE : 0), { set: MOUNT_ATTR_IDMAP, usernsFd: m.idmap.fd });
      } catch (e) {
        throw wrap(hasCode(e, "EINVAL") ? "idmap (this filesystem or kernel cannot idmap mounts)" : "idmap", e);
      }
    }
    sys.moveMount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (m.keepMode && existed) {
      // runc gives a tmpfs over an existing directory that directory's mode.
      const dir = sys.openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      try {
        sys.fchmod(dir, st.mode & 0o7777);
      } finally {
        sys.close(dir);
      }
    }
    for (const p of m.propagation) {
      sys.mountSetattr(mnt, "", AT_EMPTY_PATH | (p & MS_REC ? AT_RECURSIVE : 0), { propagation: p & ~MS_REC });
    }
    for (const [to, link] of m.links) symlinkIn(sys, root, to, link);
    if (m.deferReadonly) {
      deferred.push(mnt);
      mnt = -1;
    }
  } finally {
    sys.close(target);
    if (mnt >= 0) sys.close(mnt);
  }
}

/** tmpcopyup: the covered directory's contents into the new (still detached) filesystem. */
function copyUp(sys: Sys, root: number, target: string, mnt: number): void {
  const from = sys.openat2(root, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
  const to = sys.openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  try {
    copyTree(sys, from, to);
  } catch (e) {
    throw wrap("tmpcopyup", e);
  } finally {
    sys.close(from);
    sys.close(to);
  }
}

/** A new filesystem instance via fsopen/fsconfig/fsmount; the kernel's own reason on failure. */
function newMount(sys: Sys, m: MountOp): number {
  const fs = sys.fsopen(m.fstype, FSOPEN_CLOEXEC);
  try {
    const step = (what: string, f: () => void) => {
      try {
        f();
      } catch (e) {
        const log = fsLog(sys, fs);
        throw wrap(log ? `${what} (${log})` : what, e);
      }
    };
    if (m.source) step(`source "${m.source}"`, () => sys.fsconfig(fs, FSCONFIG_SET_STRING, "source", m.source));
    for (const [key, value] of m.params) {
      step(value === null ? `option "${key}"` : `option "${key}=${value}"`, () =>
        sys.fsconfig(fs, value === null ? FSCONFIG_SET_FLAG : FSCONFIG_SET_STRING, key, value),
      );
    }
    step("create the filesystem", () => sys.fsconfig(fs, FSCONFIG_CMD_CREATE, null, null));
    let attrs = m.attrSet | m.recSet;
    if (m.deferReadonly) attrs &= ~MOUNT_ATTR_RDONLY;
    return sys.fsmount(fs, FSMOUNT_CLOEXEC, attrs);
  } finally {
    sys.close(fs);
  }
}

/** The fs_context log (messages like "e Unknown parameter 'x'"), one line. */
function fsLog(sys: Sys, fs: number): string {
  const lines: string[] = [];
  const buf = new Uint8Array(1024);
  for (let i = 0; i < 8; i++) {
    try {
      const n = sys.read(fs, buf);
      if (n <= 0) break;
      lines.push(new TextDecoder().decode(buf.subarray(0, n)).trim().replace(/^[ewi] /, ""));
    } catch {
      break;
    }
  }
  return lines.join("; ");
}

// Files inside /proc that lxcfs-style bind mounts may replace (runc's list); anything else under
// /proc is refused, and /proc itself takes only a proc filesystem.
const PROC_ALLOWED = new Set([
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/net/dev",
  "/proc/sys/kernel/ns_last_pid",
]);

function checkProcTarget(sys: Sys, target: number, rootfs: string, m: MountOp): void {
  const real = sys.readlinkat(AT_FDCWD, `/proc/self/fd/${target}`);
  if (!real.startsWith(rootfs)) throw new Error(`resolves outside the rootfs ("${real}")`);
  const inside = real.slice(rootfs.length) || "/";
  if (inside === "/proc") {
    if (m.fstype !== "proc") throw new Error(`"/proc" cannot be mounted because it is not of type proc`);
  } else if (inside.startsWith("/proc/") && !PROC_ALLOWED.has(inside)) {
    throw new Error(`"${inside}" cannot be mounted because it is inside /proc`);
  }
}

function symlinkIn(sys: Sys, root: number, to: string, link: string): void {
  const dir = mkdirAllIn(sys, root, dirname(link));
  try {
    sys.symlinkat(to, dir, basename(link));
  } catch (e) {
    if (!hasCode(e, "EEXIST")) throw wrap(`symlink "${link}" -> "${to}"`, e);
  } finally {
    sys.close(dir);
  }
}

const TYPE_BITS: Record<DeviceOp["type"], number> = { c: S_IFCHR, u: S_IFCHR, b: S_IFBLK, p: S_IFIFO };

function setupDev(sys: Sys, root: number, plan: InitPlan): void {
  for (const d of plan.devices) {
    try {
      if (plan.bindDevices) bindDevice(sys, root, d);
      else makeDevice(sys, root, d);
    } catch (e) {
      throw wrap(`device "${d.path}"`, e);
    }
  }
  for (const [to, link] of plan.devLinks) symlinkIn(sys, root, to, link);
  // /dev/ptmx always leads to the container's own devpts instance.
  const dev = mkdirAllIn(sys, root, "/dev");
  try {
    try {
      sys.unlinkat(dev, "ptmx", 0);
    } catch (e) {
      if (!hasCode(e, "ENOENT")) throw wrap(`remove "/dev/ptmx"`, e);
    }
    sys.symlinkat("pts/ptmx", dev, "ptmx");
    if (plan.process.console) {
      try {
        sys.close(sys.openat(dev, "console", 0o100 /* O_CREAT */ | O_CLOEXEC | O_NOFOLLOW, 0o600));
      } catch (e) {
        if (!hasCode(e, "EEXIST")) throw wrap(`create "/dev/console"`, e);
      }
    }
  } finally {
    sys.close(dev);
  }
}

function makeDevice(sys: Sys, root: number, d: DeviceOp): void {
  const dir = mkdirAllIn(sys, root, dirname(d.path));
  const name = basename(d.path);
  try {
    try {
      sys.mknodat(dir, name, TYPE_BITS[d.type] | d.mode, d.major, d.minor);
    } catch (e) {
      // An existing node is kept (runc); without CAP_MKNOD the host's node is bound instead.
      if (hasCode(e, "EEXIST")) return;
      if (hasCode(e, "EPERM")) return bindDevice(sys, root, d);
      throw e;
    }
    sys.fchownat(dir, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW);
  } finally {
    sys.close(dir);
  }
}

function bindDevice(sys: Sys, root: number, d: DeviceOp): void {
  const { fd } = ensureIn(sys, root, d.path, "file", O_NOFOLLOW);
  try {
    const tree = sys.openTree(AT_FDCWD, d.path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    try {
      sys.moveMount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    } finally {
      sys.close(tree);
    }
  } finally {
    sys.close(fd);
  }
}

/** pivot_root into the rootfs (or MS_MOVE + chroot with --no-pivot); returns an fd of the new "/". */
export function enterRoot(sys: Sys, root: number, plan: InitPlan, mountinfo: string): number {
  if (!plan.newMountNs) {
    // pivot_root would change the host's root: chroot is all that is possible here.
    sys.fchdir(root);
    sys.chroot(".");
  } else if (plan.noPivot) {
    moveRoot(sys, root, plan, mountinfo);
  } else {
    const oldRoot = sys.openat(AT_FDCWD, "/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    try {
      // pivot_root(".", ".") stacks the old root on the new one; unmounting "." then drops it
      // without needing a directory for it inside the rootfs.
      sys.fchdir(root);
      sys.pivotRoot(".", ".");
      sys.fchdir(oldRoot);
      // rslave first, so the detach below cannot propagate to the host's mounts.
      sys.mount(null, ".", null, MS_SLAVE | MS_REC, null);
      sys.umount2(".", MNT_DETACH);
    } finally {
      sys.close(oldRoot);
    }
  }
  sys.chdir("/");
  // The rootfs bind is a slave of the host's mounts (see prepareRootfs); "shared" makes it a
  // peer group of its own on top (still not shared with the host), as the runtime-spec says.
  // Only the root mount: the mounts inside keep the propagation their own options gave them.
  if (plan.newMountNs && plan.rootPropagation !== null) sys.mount(null, "/", null, plan.rootPropagation & ~MS_REC, null);
  return sys.openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/**
 * --no-pivot: move the rootfs over "/" and chroot. The host's full procfs/sysfs mounts stay
 * reachable in the mount namespace after a chroot, and would let the container mount a fresh
 * unmasked procfs; detach them first, as runc does.
 */
function moveRoot(sys: Sys, root: number, plan: InitPlan, mountinfo: string): void {
  for (const m of parseMountinfo(mountinfo)) {
    if (m.root !== "/" || (m.fstype !== "proc" && m.fstype !== "sysfs") || m.mountPoint.startsWith(plan.rootfs)) continue;
    try {
      sys.mount(null, m.mountPoint, null, MS_SLAVE | MS_REC, null);
      sys.umount2(m.mountPoint, MNT_DETACH);
    } catch (e) {
      if (hasCode(e, "ENOENT", "EINVAL")) continue;
      if (!hasCode(e, "EPERM")) throw e;
      sys.mount("tmpfs", m.mountPoint, "tmpfs", 0, null);
    }
  }
  sys.fchdir(root);
  sys.mount(plan.rootfs, "/", null, 0x2000 /* MS_MOVE */, null);
  sys.chroot(".");
}

/** After pivot_root: read-only mounts, masked and read-only paths (runc's order: read-only, then masked). */
export function finishRootfs(sys: Sys, root: number, plan: InitPlan, deferred: Deferred): void {
  for (const fd of deferred) {
    sys.mountSetattr(fd, "", AT_EMPTY_PATH, { set: MOUNT_ATTR_RDONLY });
    sys.close(fd);
  }
  if (plan.readonlyRoot) sys.mountSetattr(root, "", AT_EMPTY_PATH, { set: MOUNT_ATTR_RDONLY });
}

export function readonlyPaths(sys: Sys, root: number, paths: readonly string[]): void {
  for (const p of paths) {
    const fd = openIn(sys, root, p);
    if (fd === null) continue;
    try {
      const tree = sys.openTree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
      try {
        sys.mountSetattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, { set: MOUNT_ATTR_RDONLY });
        sys.moveMount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
      } finally {
        sys.close(tree);
      }
    } catch (e) {
      throw wrap(`make "${p}" read-only`, e);
    } finally {
      sys.close(fd);
    }
  }
}

export function maskPaths(sys: Sys, root: number, paths: readonly string[]): void {
  if (paths.length === 0) return;
  // CVE-2025-31133: /dev/null is what hides the files, so it must really be the null device.
  const devNull = openIn(sys, root, "/dev/null", O_NOFOLLOW);
  if (devNull === null) throw new Error(`mask paths: "/dev/null" does not exist in the container`);
  try {
    const st = sys.statx(devNull, "", AT_EMPTY_PATH);
    if ((st.mode & S_IFMT) !== S_IFCHR || st.rdevMajor !== 1 || st.rdevMinor !== 3)
      throw new Error(`mask paths: "/dev/null" is not the null device (char 1:3)`);
    for (const p of paths) {
      const fd = openIn(sys, root, p);
      if (fd === null) continue;
      try {
        const mode = sys.statx(fd, "", AT_EMPTY_PATH).mode & S_IFMT;
        const cover =
          mode === S_IFDIR
            ? newMount(sys, { fstype: "tmpfs", source: "tmpfs", params: [], attrSet: MOUNT_ATTR_RDONLY, recSet: 0, deferReadonly: false } as never)
            : sys.openTree(devNull, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        try {
          sys.moveMount(cover, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        } finally {
          sys.close(cover);
        }
      } catch (e) {
        throw wrap(`mask "${p}"`, e);
      } finally {
        sys.close(fd);
      }
    }
  } finally {
    sys.close(devNull);
  }
}

interface MountInfo {
  mountPoint: string;
  root: string;
  fstype: string;
  shared: boolean;
}

export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [pre, post] = line.split(" - ");
    const f = (pre ?? "").split(" ");
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    out.push({
      root: unescape(f[3] ?? ""),
      mountPoint: unescape(f[4] ?? ""),
      fstype: (post ?? "").split(" ")[0] ?? "",
      shared: f.slice(6).some((o) => o.startsWith("shared:")),
    });
  }
  return out;
}

/** The mount that holds path: the longest mount point that is a prefix of it. */
export function parentMount(mountinfo: string, path: string): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of parseMountinfo(mountinfo)) {
    const mp = m.mountPoint;
    const covers = mp === "/" || path === mp || path.startsWith(mp + "/");
    if (covers && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export { S_IFLNK };
