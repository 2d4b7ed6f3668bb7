// mounts[].options → what the new mount API needs. Accepts every option runc 1.1 accepts (its
// flag, propagation, recursive-attribute and extension tables); anything else is fs data, passed
// to fsconfig(2) as key[=value].
import {
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NODIRATIME,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_NOSYMFOLLOW,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_RELATIME,
  MOUNT_ATTR_STRICTATIME,
  MS_PRIVATE,
  MS_REC,
  MS_SHARED,
  MS_SLAVE,
  MS_UNBINDABLE,
} from "../sys/constants.ts";

export interface MountOptions {
  bind: boolean;
  recursive: boolean;
  attrSet: number;
  attrClr: number;
  recSet: number;
  recClr: number;
  propagation: number[];
  /** fsconfig parameters, in order: superblock flags and fs data. */
  params: [string, string | null][];
  readonly: boolean;
  tmpcopyup: boolean;
}

/** Per-mount attributes: [attr, clear?]. */
const ATTRS: Record<string, [number, boolean]> = {
  ro: [MOUNT_ATTR_RDONLY, false],
  rw: [MOUNT_ATTR_RDONLY, true],
  nosuid: [MOUNT_ATTR_NOSUID, false],
  suid: [MOUNT_ATTR_NOSUID, true],
  nodev: [MOUNT_ATTR_NODEV, false],
  dev: [MOUNT_ATTR_NODEV, true],
  noexec: [MOUNT_ATTR_NOEXEC, false],
  exec: [MOUNT_ATTR_NOEXEC, true],
  nodiratime: [MOUNT_ATTR_NODIRATIME, false],
  diratime: [MOUNT_ATTR_NODIRATIME, true],
  nosymfollow: [MOUNT_ATTR_NOSYMFOLLOW, false],
  symfollow: [MOUNT_ATTR_NOSYMFOLLOW, true],
};

/**
 * The access-time mode is one value, not a flag: the last option naming it wins. Clearing one
 * (atime, norelatime, nostrictatime) leaves mount(2)'s default, relatime — stated explicitly,
 * so that it also resets a bind mount that came with another mode.
 */
const ATIME: Record<string, number> = {
  noatime: MOUNT_ATTR_NOATIME,
  relatime: MOUNT_ATTR_RELATIME,
  strictatime: MOUNT_ATTR_STRICTATIME,
  atime: MOUNT_ATTR_RELATIME,
  norelatime: MOUNT_ATTR_RELATIME,
  nostrictatime: MOUNT_ATTR_RELATIME,
};

const REC_ATTRS: Record<string, [number, boolean]> = {
  rro: [MOUNT_ATTR_RDONLY, false],
  rrw: [MOUNT_ATTR_RDONLY, true],
  rnosuid: [MOUNT_ATTR_NOSUID, false],
  rsuid: [MOUNT_ATTR_NOSUID, true],
  rnodev: [MOUNT_ATTR_NODEV, false],
  rdev: [MOUNT_ATTR_NODEV, true],
  rnoexec: [MOUNT_ATTR_NOEXEC, false],
  rexec: [MOUNT_ATTR_NOEXEC, true],
  rnodiratime: [MOUNT_ATTR_NODIRATIME, false],
  rdiratime: [MOUNT_ATTR_NODIRATIME, true],
  rnosymfollow: [MOUNT_ATTR_NOSYMFOLLOW, false],
  rsymfollow: [MOUNT_ATTR_NOSYMFOLLOW, true],
};

const REC_ATIME: Record<string, number> = {
  rnoatime: MOUNT_ATTR_NOATIME,
  rrelatime: MOUNT_ATTR_RELATIME,
  rstrictatime: MOUNT_ATTR_STRICTATIME,
  ratime: MOUNT_ATTR_RELATIME,
  rnorelatime: MOUNT_ATTR_RELATIME,
  rnostrictatime: MOUNT_ATTR_RELATIME,
};

export const PROPAGATION: Record<string, number> = {
  rprivate: MS_PRIVATE | MS_REC,
  private: MS_PRIVATE,
  rslave: MS_SLAVE | MS_REC,
  slave: MS_SLAVE,
  rshared: MS_SHARED | MS_REC,
  shared: MS_SHARED,
  runbindable: MS_UNBINDABLE | MS_REC,
  unbindable: MS_UNBINDABLE,
};

/** Superblock flags: fsconfig flag names understood by every filesystem (fs/fs_context.c). */
const SB_FLAGS = new Set(["sync", "async", "dirsync", "mand", "nomand", "lazytime", "nolazytime"]);
/** Options runc accepts that mean nothing for a new mount (i_version is the filesystem's own
 * choice in current kernels; fsconfig refuses the name). */
const IGNORED = new Set(["defaults", "silent", "loud", "acl", "noacl", "iversion", "noiversion"]);

export function parseMountOptions(options: readonly string[] = []): MountOptions | string {
  const o: MountOptions = {
    bind: false,
    recursive: false,
    attrSet: 0,
    attrClr: 0,
    recSet: 0,
    recClr: 0,
    propagation: [],
    params: [],
    readonly: false,
    tmpcopyup: false,
  };
  let atime: number | undefined;
  let recAtime: number | undefined;
  for (const opt of options) {
    if (opt === "bind" || opt === "rbind") {
      o.bind = true;
      o.recursive ||= opt === "rbind";
    } else if (opt in ATTRS) {
      const [attr, clear] = ATTRS[opt]!;
      o.attrSet = clear ? o.attrSet & ~attr : o.attrSet | attr;
      o.attrClr = clear ? o.attrClr | attr : o.attrClr & ~attr;
    } else if (opt in ATIME) {
      atime = ATIME[opt];
    } else if (opt in REC_ATTRS) {
      const [attr, clear] = REC_ATTRS[opt]!;
      o.recSet = clear ? o.recSet & ~attr : o.recSet | attr;
      o.recClr = clear ? o.recClr | attr : o.recClr & ~attr;
    } else if (opt in REC_ATIME) {
      recAtime = REC_ATIME[opt];
    } else if (opt in PROPAGATION) {
      o.propagation.push(PROPAGATION[opt]!);
    } else if (opt === "tmpcopyup") {
      o.tmpcopyup = true;
    } else if (opt === "idmap" || opt === "ridmap") {
      // idmapped mounts: handled from the mount's mappings (idmap.ts)
    } else if (opt === "remount") {
      return `option "remount" is not supported for a new mount`;
    } else if (IGNORED.has(opt)) {
      // accepted, as runc does
    } else if (SB_FLAGS.has(opt)) {
      o.params.push([opt, null]);
    } else {
      const eq = opt.indexOf("=");
      o.params.push(eq < 0 ? [opt, null] : [opt.slice(0, eq), opt.slice(eq + 1)]);
    }
  }
  // mount_setattr(2): an access-time mode in attr_set also needs MOUNT_ATTR__ATIME in attr_clr.
  if (atime !== undefined) {
    o.attrSet |= atime;
    o.attrClr |= MOUNT_ATTR__ATIME;
  }
  if (recAtime !== undefined) {
    o.recSet |= recAtime;
    o.recClr |= MOUNT_ATTR__ATIME;
  }
  o.readonly = (o.attrSet & MOUNT_ATTR_RDONLY) !== 0;
  return o;
}
