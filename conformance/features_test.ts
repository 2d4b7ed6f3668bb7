// `features` (runtime-spec features.md): the document parses and says which spec versions the
// runtime takes, and then everything it advertises is used once in a real container and seen to
// work: each namespace type, each mount option, each hook, each seccomp action, operator,
// supported flag and architecture, each capability this host can grant, each cgroup version the
// host has, idmapped mounts, each memory policy mode and flag, network devices. The cases are
// made from the document at load time, so the suite asks of every runtime exactly what that
// runtime claims. What this host cannot show (systemd, RDMA, AppArmor, SELinux, Intel RDT) is
// skipped with the reason.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { proc, sh, type Spec } from "./lib/config.ts";
import { conform, explain, readText, RUNTIME, waitFor, type Ctx } from "./lib/harness.ts";
import { cgroupDir, isCgroup2Only, killQuietly, nsId, nsInode, parseMountInfo, type MountInfo } from "./lib/host.ts";

// ---------------------------------------------------------------------------------------------
// the document

interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[] | null;
  mountOptions?: string[] | null;
  linux?: {
    namespaces?: string[] | null;
    capabilities?: string[] | null;
    cgroup?: Partial<Record<"v1" | "v2" | "systemd" | "systemdUser" | "rdma", boolean | null>> | null;
    seccomp?: {
      enabled?: boolean | null;
      actions?: string[] | null;
      operators?: string[] | null;
      archs?: string[] | null;
      knownFlags?: string[] | null;
      supportedFlags?: string[] | null;
    } | null;
    apparmor?: { enabled?: boolean | null } | null;
    selinux?: { enabled?: boolean | null } | null;
    memoryPolicy?: { modes?: string[] | null; flags?: string[] | null } | null;
    intelRdt?: { enabled?: boolean | null; schemata?: boolean | null; monitoring?: boolean | null } | null;
    mountExtensions?: { idmap?: { enabled?: boolean | null } | null } | null;
    netDevices?: { enabled?: boolean | null } | null;
    [key: string]: unknown;
  } | null;
  annotations?: Record<string, string> | null;
  potentiallyUnsafeConfigAnnotations?: string[] | null;
}

/** `$RUNTIME features`, run once when the file loads: the cases below are made from it. */
function loadFeatures(): { doc: Features; text: string } | { error: string } {
  const r = Bun.spawnSync([RUNTIME, "features"], {
    stdin: "ignore",
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  const stdout = r.stdout.toString();
  const stderr = r.stderr.toString();
  if (r.exitCode !== 0) return { error: `${RUNTIME} features: exit ${r.exitCode}; stderr: ${JSON.stringify(stderr.slice(0, 2000))}` };
  try {
    return { doc: JSON.parse(stdout) as Features, text: stdout };
  } catch (e) {
    return { error: `${RUNTIME} features: not JSON (${(e as Error).message}): ${JSON.stringify(stdout.slice(0, 2000))}` };
  }
}

const loaded = loadFeatures();
const doc: Features | undefined = "doc" in loaded ? loaded.doc : undefined;
const list = (v: string[] | null | undefined): string[] => v ?? [];

/** A case this host or this suite cannot carry out: registered as skipped, with the reason. */
function skipCase(name: string, reason: string): void {
  test.skip(`${name} [skipped: ${reason}]`, () => {});
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function versionParts(v: string): [number, number, number] {
  const m = SEMVER.exec(v);
  if (m === null) throw new Error(`not a SemVer version: ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function expectStrings(v: unknown, where: string): void {
  if (v === undefined || v === null) return;
  expect(Array.isArray(v) && v.every((s) => typeof s === "string"), `${where} must be an array of strings, found ${JSON.stringify(v)}`).toBe(true);
}

function expectBooleans(v: unknown, keys: string[], where: string): void {
  if (v === undefined || v === null) return;
  expect(typeof v, where).toBe("object");
  for (const k of keys) {
    const b = (v as Record<string, unknown>)[k];
    expect(b === undefined || b === null || typeof b === "boolean", `${where}.${k} must be a boolean, found ${JSON.stringify(b)}`).toBe(true);
  }
}

conform("features: prints a JSON document with ociVersionMin and ociVersionMax", async () => {
  if ("error" in loaded) throw new Error(loaded.error);
  const d = loaded.doc;
  // features.md: both REQUIRED, and "The value MUST NOT be less than the value of the
  // `ociVersionMin` property."
  expect(typeof d.ociVersionMin).toBe("string");
  expect(typeof d.ociVersionMax).toBe("string");
  const [min, max] = [versionParts(d.ociVersionMin), versionParts(d.ociVersionMax)];
  const cmp = min[0] - max[0] || min[1] - max[1] || min[2] - max[2];
  expect(cmp, `ociVersionMin ${d.ociVersionMin} is above ociVersionMax ${d.ociVersionMax}`).toBeLessThanOrEqual(0);
  // The rest is optional, but of the spec's types where present.
  expectStrings(d.hooks, "hooks");
  expectStrings(d.mountOptions, "mountOptions");
  expectStrings(d.potentiallyUnsafeConfigAnnotations, "potentiallyUnsafeConfigAnnotations");
  if (d.annotations !== undefined && d.annotations !== null) {
    for (const [k, v] of Object.entries(d.annotations)) expect(typeof v, `annotations["${k}"]`).toBe("string");
  }
  const l = d.linux;
  if (l !== undefined && l !== null) {
    for (const k of ["namespaces", "capabilities"] as const) expectStrings(l[k], `linux.${k}`);
    expectBooleans(l.cgroup, ["v1", "v2", "systemd", "systemdUser", "rdma"], "linux.cgroup");
    expectBooleans(l.seccomp, ["enabled"], "linux.seccomp");
    for (const k of ["actions", "operators", "archs", "knownFlags", "supportedFlags"] as const) expectStrings(l.seccomp?.[k], `linux.seccomp.${k}`);
    // features-linux.md: supportedFlags "may be a subset of knownFlags".
    const known = list(l.seccomp?.knownFlags);
    if (l.seccomp?.knownFlags) expect(list(l.seccomp?.supportedFlags).filter((f) => !known.includes(f))).toEqual([]);
  }
});

// ---------------------------------------------------------------------------------------------
// the cases, one or more per advertised feature

function registerCases(d: Features): void {
  conform("features: the runtime accepts ociVersionMin and ociVersionMax as config.json's ociVersion", async (t) => {
    // features.md: "The runtime MUST accept this value as the `ociVersion` property of `config.json`."
    for (const v of [d.ociVersionMin, d.ociVersionMax]) {
      const r = await t.run("echo ok", (c) => (c.ociVersion = v));
      expect(r.code, `ociVersion ${v}: ${explain(r)}`).toBe(0);
      expect(r.stdout).toBe("ok\n");
    }
  });

  namespaceCases(list(d.linux?.namespaces));
  hookCases(list(d.hooks));
  mountCases(list(d.mountOptions));
  seccompCases(d.linux?.seccomp);
  capabilityCases(list(d.linux?.capabilities));
  cgroupCases(d.linux?.cgroup);
  idmapCases(list(d.mountOptions), d.linux?.mountExtensions?.idmap?.enabled === true);
  memoryPolicyCases(d.linux?.memoryPolicy);
  if (d.linux?.netDevices?.enabled === true) netDeviceCase();
  for (const lsm of ["apparmor", "selinux"] as const) {
    if (d.linux?.[lsm]?.enabled !== true) continue;
    const present = lsm === "apparmor" ? fs.existsSync("/sys/kernel/security/apparmor") : fs.existsSync("/sys/fs/selinux/enforce");
    skipCase(`features: ${lsm}`, present ? "not exercised by this suite yet" : `this host has no ${lsm === "apparmor" ? "AppArmor" : "SELinux"}`);
  }
  if (d.linux?.intelRdt?.enabled === true) {
    skipCase("features: intelRdt", fs.existsSync("/sys/fs/resctrl/schemata") ? "not exercised by this suite yet" : "this host has no resctrl filesystem (Intel RDT)");
  }
}

// ---------------------------------------------------------------------------------------------
// namespaces

/** Spec namespace type → name under /proc/<pid>/ns. */
const NS_FILE: Record<string, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

function namespaceCases(types: string[]): void {
  if (types.length === 0) return;
  conform(`features: every advertised namespace type, all new in one container (${types.join(", ")})`, async (t) => {
    const unknown = types.filter((ty) => NS_FILE[ty] === undefined);
    expect(unknown, "advertised namespace types this suite does not know").toEqual([]);
    const script = types.map((ty) => `echo ${ty}=$(readlink /proc/self/ns/${NS_FILE[ty]})`).join("; ");
    const out = await t.runOk(script, (c) => {
      c.linux.namespaces = types.map((type) => ({ type }));
      if (types.includes("user")) {
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
    });
    const seen = Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    for (const ty of types) {
      const host = nsInode(nsId(`/proc/self/ns/${NS_FILE[ty]}`));
      expect(nsInode(seen[ty] ?? ""), `${ty} namespace`).not.toBe(host);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// hooks

/** Where each hook runs (config.md, POSIX-platform hooks): in the runtime namespace, or in the
 *  container's, before pivot_root (createContainer: path in the runtime namespace) or after it
 *  (startContainer: path in the container). */
const HOOK_WHERE: Record<string, "host" | "before-pivot" | "container"> = {
  prestart: "host",
  createRuntime: "host",
  createContainer: "before-pivot",
  startContainer: "container",
  poststart: "host",
  poststop: "host",
};

function hookCases(hooks: string[]): void {
  if (hooks.length === 0) return;
  conform(`features: every advertised hook runs once with the container's state on stdin (${hooks.join(", ")})`, async (t) => {
    const unknown = hooks.filter((h) => HOOK_WHERE[h] === undefined);
    expect(unknown, "advertised hooks this suite does not know").toEqual([]);
    const markers = t.dir("markers");
    fs.chmodSync(markers, 0o777);
    const id = t.id();
    const b = t.bundle((c) => {
      sh(c, "echo ran");
      c.mounts?.push({ destination: "/markers", type: "bind", source: markers, options: ["rbind", "rw"] });
      const byName: Record<string, { path: string; args: string[] }[]> = {};
      for (const h of hooks) {
        // Each hook saves the state it is given, so the marker says which container it ran for.
        const file = HOOK_WHERE[h] === "container" ? `/markers/${h}` : path.join(markers, h);
        byName[h] = [{ path: "/bin/sh", args: ["sh", "-c", `cat > ${file}`] }];
      }
      c.hooks = byName;
    });
    const r = await t.rt(["run", "--bundle", b.dir, id]);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toBe("ran\n");
    // `run` deletes the container when it exits; poststop hooks run then.
    for (const h of hooks) {
      const file = path.join(markers, h);
      expect(fs.existsSync(file), `the ${h} hook left no marker`).toBe(true);
      const state = JSON.parse(readText(file)) as { id?: string; ociVersion?: string };
      expect(state.id, `${h}: the state on stdin`).toBe(id);
      expect(typeof state.ociVersion, `${h}: the state on stdin`).toBe("string");
    }
  });
}

// ---------------------------------------------------------------------------------------------
// mount options

/** What a mount must show in the container's mountinfo: per-mount options and superblock ones. */
interface MountCheck {
  has?: string[];
  lacks?: string[];
  superHas?: string[];
  superLacks?: string[];
}

/**
 * Options of a new filesystem (a tmpfs), in groups that share one container, each option on a
 * mount of its own. A negative option comes after its positive one, so what it undoes shows.
 * Options whose effect mountinfo does not show (iversion, norelatime on a new mount, the ones
 * runc accepts and ignores) must at least mount; those have a container each, so that a runtime
 * that refuses one fails only that case.
 */
const FRESH: Record<string, { group: string; options: string[] } & MountCheck> = {
  ro: { group: "per-mount flags", options: ["ro"], has: ["ro"] },
  rw: { group: "per-mount flags", options: ["ro", "rw"], has: ["rw"] },
  nosuid: { group: "per-mount flags", options: ["nosuid"], has: ["nosuid"] },
  suid: { group: "per-mount flags", options: ["nosuid", "suid"], lacks: ["nosuid"] },
  nodev: { group: "per-mount flags", options: ["nodev"], has: ["nodev"] },
  dev: { group: "per-mount flags", options: ["nodev", "dev"], lacks: ["nodev"] },
  noexec: { group: "per-mount flags", options: ["noexec"], has: ["noexec"] },
  exec: { group: "per-mount flags", options: ["noexec", "exec"], lacks: ["noexec"] },
  nodiratime: { group: "per-mount flags", options: ["nodiratime"], has: ["nodiratime"] },
  diratime: { group: "per-mount flags", options: ["nodiratime", "diratime"], lacks: ["nodiratime"] },
  nosymfollow: { group: "per-mount flags", options: ["nosymfollow"], has: ["nosymfollow"] },
  symfollow: { group: "per-mount flags", options: ["nosymfollow", "symfollow"], lacks: ["nosymfollow"] },
  noatime: { group: "access-time modes", options: ["noatime"], has: ["noatime"] },
  atime: { group: "access-time modes", options: ["noatime", "atime"], lacks: ["noatime"] },
  relatime: { group: "access-time modes", options: ["relatime"], has: ["relatime"] },
  norelatime: { group: "access-time modes", options: ["norelatime"] },
  strictatime: { group: "access-time modes", options: ["strictatime"], lacks: ["relatime", "noatime"] },
  nostrictatime: { group: "access-time modes", options: ["strictatime", "nostrictatime"], has: ["relatime"] },
  sync: { group: "superblock flags", options: ["sync"], superHas: ["sync"] },
  async: { group: "superblock flags", options: ["sync", "async"], superLacks: ["sync"] },
  dirsync: { group: "superblock flags", options: ["dirsync"], superHas: ["dirsync"] },
  lazytime: { group: "superblock flags", options: ["lazytime"], superHas: ["lazytime"] },
  nolazytime: { group: "superblock flags", options: ["lazytime", "nolazytime"], superLacks: ["lazytime"] },
  mand: { group: "superblock flags", options: ["mand"], superHas: ["mand"] },
  nomand: { group: "superblock flags", options: ["mand", "nomand"], superLacks: ["mand"] },
  iversion: { group: "superblock flags", options: ["iversion"] },
  noiversion: { group: "superblock flags", options: ["noiversion"] },
  defaults: { group: "defaults", options: ["defaults"] },
  silent: { group: "silent", options: ["silent"] },
  loud: { group: "loud", options: ["loud"] },
  acl: { group: "acl", options: ["acl"] },
  noacl: { group: "noacl", options: ["noacl"] },
};

/**
 * Recursive attributes (mount_setattr(2) with AT_RECURSIVE), on rbinds of a host directory with a
 * submount, checked on the submount as the container sees it; a clearing option is tried on a
 * submount that has the flag on the host. Flags share a container; the access-time modes, one
 * value that mount_setattr(2) changes only as a whole, have one each.
 */
const RECURSIVE: Record<string, { group: string; from: "plain" | "flagged" | "strict" } & MountCheck> = {
  rro: { group: "flags set", from: "plain", has: ["ro"] },
  rrw: { group: "flags cleared", from: "flagged", has: ["rw"] },
  rnosuid: { group: "flags set", from: "plain", has: ["nosuid"] },
  rsuid: { group: "flags cleared", from: "flagged", lacks: ["nosuid"] },
  rnodev: { group: "flags set", from: "plain", has: ["nodev"] },
  rdev: { group: "flags cleared", from: "flagged", lacks: ["nodev"] },
  rnoexec: { group: "flags set", from: "plain", has: ["noexec"] },
  rexec: { group: "flags cleared", from: "flagged", lacks: ["noexec"] },
  rnodiratime: { group: "flags set", from: "plain", has: ["nodiratime"] },
  rdiratime: { group: "flags cleared", from: "flagged", lacks: ["nodiratime"] },
  rnosymfollow: { group: "flags set", from: "plain", has: ["nosymfollow"] },
  rsymfollow: { group: "flags cleared", from: "flagged", lacks: ["nosymfollow"] },
  rnoatime: { group: "rnoatime", from: "plain", has: ["noatime"] },
  // mount(8): atime "Do not use the noatime feature", nostrictatime "Use the kernel's default
  // behavior for inode access time updates" (relatime).
  ratime: { group: "ratime", from: "flagged", lacks: ["noatime"] },
  rrelatime: { group: "rrelatime", from: "flagged", has: ["relatime"] },
  rnorelatime: { group: "rnorelatime", from: "plain" },
  rstrictatime: { group: "rstrictatime", from: "plain", lacks: ["relatime", "noatime"] },
  rnostrictatime: { group: "rnostrictatime", from: "strict", has: ["relatime"] },
};

/** Propagation, on rbinds of a shared host directory with a submount. */
const PROPAGATION: Record<string, { recursive: boolean; want: "shared" | "slave" | "private" | "unbindable" }> = {
  shared: { recursive: false, want: "shared" },
  rshared: { recursive: true, want: "shared" },
  slave: { recursive: false, want: "slave" },
  rslave: { recursive: true, want: "slave" },
  private: { recursive: false, want: "private" },
  rprivate: { recursive: true, want: "private" },
  unbindable: { recursive: false, want: "unbindable" },
  runbindable: { recursive: true, want: "unbindable" },
};

const HOST_FLAGS = { plain: undefined, flagged: "ro,nosuid,nodev,noexec,nodiratime,noatime,nosymfollow", strict: "strictatime" };

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** A host directory below the case's temp dir with a tmpfs at <dir>/sub, its per-mount flags set
 *  to `flags` (remount,bind changes the mount, not the filesystem). */
function dirWithSubmount(t: Ctx, name: string, flags?: string): string {
  const d = t.dir(name);
  const sub = path.join(d, "sub");
  fs.mkdirSync(sub);
  run(["mount", "-t", "tmpfs", "-o", "size=1m", `conformance-${name}`, sub]);
  fs.writeFileSync(path.join(sub, "file"), "x\n");
  if (flags !== undefined) run(["mount", "-o", `remount,bind,${flags}`, sub]);
  return d;
}

function checkMount(m: MountInfo | undefined, want: MountCheck, what: string): string[] {
  if (m === undefined) return [`${what}: not mounted`];
  const bad: string[] = [];
  for (const o of want.has ?? []) if (!m.options.includes(o)) bad.push(`${what}: no "${o}" in ${m.options.join(",")}`);
  for (const o of want.lacks ?? []) if (m.options.includes(o)) bad.push(`${what}: "${o}" in ${m.options.join(",")}`);
  for (const o of want.superHas ?? []) if (!m.superOptions.includes(o)) bad.push(`${what}: no "${o}" in the superblock's ${m.superOptions.join(",")}`);
  for (const o of want.superLacks ?? []) if (m.superOptions.includes(o)) bad.push(`${what}: "${o}" in the superblock's ${m.superOptions.join(",")}`);
  return bad;
}

function propagationOf(m: MountInfo): string {
  const opt = m.optional.join(" ");
  if (opt.includes("unbindable")) return "unbindable";
  if (opt.includes("shared:")) return "shared";
  if (opt.includes("master:")) return "slave";
  return "private";
}

/** The container's mounts, from its `cat /proc/self/mountinfo`. */
function mountsOf(out: string): Map<string, MountInfo> {
  return new Map(parseMountInfo(out).map((m) => [m.mountPoint, m]));
}

/** Advertised options by group, in the order the runtime lists them. */
function groups<T extends { group: string }>(options: string[], table: Record<string, T>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of options) {
    const g = table[o]?.group;
    if (g !== undefined) out.set(g, [...(out.get(g) ?? []), o]);
  }
  return out;
}

/** A case's name: one option by its name, a group by its name and members. */
const single = (group: string, members: string[]) => members.length === 1 && members[0] === group;

function mountCases(options: string[]): void {
  const special = new Set(["bind", "rbind", "tmpcopyup", "remount", "idmap", "ridmap"]);
  const known = (o: string) => FRESH[o] !== undefined || RECURSIVE[o] !== undefined || PROPAGATION[o] !== undefined || special.has(o);

  for (const [group, members] of groups(options, FRESH)) {
    const name = single(group, members) ? `mount option "${group}" on a new tmpfs` : `mount options: ${group} (${members.join(", ")}) on new tmpfs mounts`;
    conform(`features: ${name}`, async (t) => {
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        for (const o of members) c.mounts?.push({ destination: `/f/${o}`, type: "tmpfs", source: "tmpfs", options: [...FRESH[o]!.options, "size=1m"] });
      });
      const mounts = mountsOf(out);
      expect(members.flatMap((o) => checkMount(mounts.get(`/f/${o}`), FRESH[o]!, JSON.stringify(FRESH[o]!.options)))).toEqual([]);
    });
  }
  // Options this suite has no table for must at least mount a tmpfs.
  for (const o of options.filter((x) => !known(x))) {
    conform(`features: mount option "${o}" (unknown to this suite) on a new tmpfs`, async (t) => {
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        c.mounts?.push({ destination: "/f", type: "tmpfs", source: "tmpfs", options: [o, "size=1m"] });
      });
      expect(mountsOf(out).get("/f")?.fsType).toBe("tmpfs");
    });
  }

  for (const [group, members] of groups(options, RECURSIVE)) {
    const name = single(group, members)
      ? `recursive mount option "${group}" on an rbind, seen on its submount`
      : `recursive mount options: ${group} (${members.join(", ")}) on rbinds, seen on their submounts`;
    conform(`features: ${name}`, async (t) => {
      const sources = new Map<string, string>();
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        for (const o of members) {
          const from = RECURSIVE[o]!.from;
          if (!sources.has(from)) sources.set(from, dirWithSubmount(t, `src-${from}`, HOST_FLAGS[from]));
          c.mounts?.push({ destination: `/r/${o}`, type: "bind", source: sources.get(from)!, options: ["rbind", o] });
        }
      });
      const mounts = mountsOf(out);
      expect(
        members.flatMap((o) => {
          const flags = HOST_FLAGS[RECURSIVE[o]!.from];
          return checkMount(mounts.get(`/r/${o}/sub`), RECURSIVE[o]!, `"${o}" on a submount${flags ? ` with ${flags} on the host` : ""}`);
        }),
      ).toEqual([]);
    });
  }

  const binds = options.filter((o) => o === "bind" || o === "rbind");
  if (binds.length > 0) {
    conform(`features: mount options ${binds.join(" and ")}: a bind leaves the submounts out, an rbind takes them along`, async (t) => {
      const src = dirWithSubmount(t, "src");
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        for (const o of binds) c.mounts?.push({ destination: `/${o}`, type: "bind", source: src, options: [o] });
      });
      const mounts = mountsOf(out);
      for (const o of binds) {
        expect(mounts.has(`/${o}`), `${o}: mounted`).toBe(true);
        expect(mounts.has(`/${o}/sub`), `${o}: the submount is there`).toBe(o === "rbind");
      }
    });
  }

  const propagation = options.filter((o) => PROPAGATION[o] !== undefined);
  if (propagation.length > 0) {
    conform(`features: propagation mount options (${propagation.join(", ")}) on rbinds of a shared host directory`, async (t) => {
      const src = dirWithSubmount(t, "src");
      // A mount point of its own, submount included, in a shared peer group, so that slave and
      // shared mean something: the container's copy starts as a slave of it (rootfsPropagation).
      run(["mount", "--rbind", src, src]);
      run(["mount", "--make-rshared", src]);
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        c.linux.rootfsPropagation = "rslave";
        for (const o of propagation) c.mounts?.push({ destination: `/p/${o}`, type: "bind", source: src, options: ["rbind", o] });
      });
      const mounts = mountsOf(out);
      const bad: string[] = [];
      for (const o of propagation) {
        const { recursive, want } = PROPAGATION[o]!;
        for (const p of recursive ? [`/p/${o}`, `/p/${o}/sub`] : [`/p/${o}`]) {
          const m = mounts.get(p);
          const got = m === undefined ? "not mounted" : propagationOf(m);
          if (got !== want) bad.push(`${o}: ${p} is ${got} (${m?.optional.join(" ") ?? ""}), want ${want}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  if (options.includes("tmpcopyup")) {
    conform('features: mount option "tmpcopyup" copies the directory into the new tmpfs', async (t) => {
      const out = await t.runOk("cat /data/file; grep ' /data ' /proc/self/mountinfo", (c, b) => {
        fs.mkdirSync(path.join(b.rootfs, "data"));
        fs.writeFileSync(path.join(b.rootfs, "data", "file"), "from the image\n");
        c.mounts?.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "size=1m"] });
      });
      expect(out.split("\n")[0]).toBe("from the image");
      expect(parseMountInfo(out.split("\n").slice(1).join("\n"))[0]?.fsType).toBe("tmpfs");
    });
  }

  if (options.includes("remount")) {
    conform('features: mount option "remount" changes a mount made by an earlier entry', async (t) => {
      const out = await t.runOk("cat /proc/self/mountinfo", (c) => {
        c.mounts?.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
        c.mounts?.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["remount", "ro", "size=1m"] });
      });
      const data = parseMountInfo(out).filter((m) => m.mountPoint === "/data");
      expect(data.length, "one /data mount, changed in place").toBe(1);
      expect(data[0]?.options).toContain("ro");
    });
  }
}

// ---------------------------------------------------------------------------------------------
// seccomp

type Syscall = { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo?: number; op: string }[] };
type Seccomp = { defaultAction: string; architectures?: string[]; flags?: string[]; listenerPath?: string; syscalls: Syscall[] };

/** EBADFD: an errno nothing else here returns, so a match is unmistakable. */
const ERRNO_RET = 77;
const EBADFD_TEXT = "File descriptor in bad state";
const ENOSYS_TEXT = "Function not implemented";

/**
 * The trigger is kill(2) from busybox's `kill` builtin, with signals that do nothing: 0 (only
 * checks the pid) and SIGWINCH (ignored by default). It runs in a child shell, so an action that
 * kills the caller leaves the container's shell to report the exit status (128 + SIGSYS).
 */
const TRIGGER = "sh -c 'kill -0 $$'; echo rc=$?";

/** What `TRIGGER` prints for each action of a rule on kill(2), without a tracer or a listener. */
const ACTION_RESULT: Record<string, { rc: number; stderr?: string }> = {
  SCMP_ACT_KILL: { rc: 128 + 31 },
  SCMP_ACT_KILL_THREAD: { rc: 128 + 31 },
  SCMP_ACT_KILL_PROCESS: { rc: 128 + 31 },
  SCMP_ACT_TRAP: { rc: 128 + 31 }, // SIGSYS, whose default action ends the process
  SCMP_ACT_ERRNO: { rc: 1, stderr: EBADFD_TEXT },
  SCMP_ACT_TRACE: { rc: 1, stderr: ENOSYS_TEXT }, // no tracer: "returns ENOSYS" (seccomp(2))
  SCMP_ACT_LOG: { rc: 0 },
  SCMP_ACT_ALLOW: { rc: 0 },
  SCMP_ACT_NOTIFY: { rc: 1, stderr: ENOSYS_TEXT }, // the listener closed its fd (see notifyAgent)
};

function withSeccomp(c: Spec, s: Seccomp): void {
  c.linux.seccomp = s;
  // KILL_PROCESS and TRAP dump core by default; not into the host's core handler.
  proc(c).rlimits = [...(proc(c).rlimits ?? []), { type: "RLIMIT_CORE", hard: 0, soft: 0 }];
}

/**
 * The other end of linux.seccomp.listenerPath: accepts every connection, records what the runtime
 * sent (the container process state, and how many fds came with it), and closes the notify fd at
 * once, so every notified syscall fails with ENOSYS instead of waiting for an answer.
 */
async function notifyAgent(t: Ctx): Promise<{ socket: string; log: string }> {
  const socket = path.join(t.tmp, "seccomp.sock");
  const log = path.join(t.tmp, "agent.log");
  const script = `
import json, os, socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1]); srv.listen(4)
while True:
    conn, _ = srv.accept()
    msg, fds, _f, _a = socket.recv_fds(conn, 65536, 8)
    conn.close()
    for fd in fds: os.close(fd)
    with open(sys.argv[2], "a") as f: f.write(json.dumps({"fds": len(fds), "msg": msg.decode(errors="replace")}) + "\\n")
`;
  const p = Bun.spawn(["python3", "-c", script, socket, log], { stdio: ["ignore", "ignore", "inherit"] });
  t.defer(async () => {
    killQuietly(p.pid, "SIGKILL");
    await p.exited;
  });
  await waitFor(() => fs.existsSync(socket), 5000, `the seccomp agent's socket ${socket}`);
  return { socket, log };
}

/** The agent heard from the runtime: one fd, and a state naming container `id` (config-linux.md,
 *  listenerPath: the runtime MUST send "the container process state" with the fd). */
function expectNotified(log: string, id: string): void {
  const lines = readText(log).trim().split("\n").filter((l) => l !== "");
  expect(lines.length, "connections to listenerPath").toBeGreaterThan(0);
  const first = JSON.parse(lines[0] ?? "{}") as { fds: number; msg: string };
  expect(first.fds).toBe(1);
  const state = JSON.parse(first.msg) as { fds?: string[]; state?: { id?: string } };
  expect(state.fds).toEqual(["seccompFd"]);
  expect(state.state?.id).toBe(id);
}

function expectTrigger(r: { code: number | null; stdout: string; stderr: string }, want: { rc: number; stderr?: string }, what: string): void {
  const summary = `${what}: ${JSON.stringify({ code: r.code, stdout: r.stdout, stderr: r.stderr.slice(0, 500) })}`;
  expect(r.code, summary).toBe(0);
  expect(r.stdout, summary).toBe(`rc=${want.rc}\n`);
  if (want.stderr !== undefined) expect(r.stderr, summary).toContain(want.stderr);
}

/** Operators on kill(2)'s signal number; `matches` says which of `kill -0` and `kill -WINCH`
 *  (28) the comparison selects. */
const OPERATOR_ARGS: Record<string, { value: number; valueTwo?: number; matches: [boolean, boolean] }> = {
  SCMP_CMP_EQ: { value: 0, matches: [true, false] },
  SCMP_CMP_NE: { value: 0, matches: [false, true] },
  SCMP_CMP_LT: { value: 28, matches: [true, false] },
  SCMP_CMP_LE: { value: 0, matches: [true, false] },
  SCMP_CMP_GT: { value: 0, matches: [false, true] },
  SCMP_CMP_GE: { value: 28, matches: [false, true] },
  // (arg & value) == valueTwo
  SCMP_CMP_MASKED_EQ: { value: 0x1c, valueTwo: 0x1c, matches: [false, true] },
};

function seccompCases(s: NonNullable<Features["linux"]>["seccomp"]): void {
  if (s === undefined || s === null || s.enabled === false) return;
  const errnoRule = (): Syscall => ({ names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: ERRNO_RET });

  for (const action of list(s.actions)) {
    const want = ACTION_RESULT[action];
    conform(`features: seccomp action ${action} on a rule for kill(2)`, async (t) => {
      if (want === undefined) throw new Error(`advertised seccomp action ${action} is unknown to this suite`);
      const agent = action === "SCMP_ACT_NOTIFY" ? await notifyAgent(t) : undefined;
      const id = t.id();
      const b = t.bundle((c) => {
        sh(c, TRIGGER);
        const rule: Syscall = { names: ["kill"], action };
        if (action === "SCMP_ACT_ERRNO") rule.errnoRet = ERRNO_RET;
        // A rule with the default action is redundant (runc drops it): pair ALLOW with a default
        // that is not ALLOW... which no shell survives, so ALLOW is shown as the default action
        // of every profile here, and as a rule it must at least be accepted and change nothing.
        withSeccomp(c, { defaultAction: "SCMP_ACT_ALLOW", syscalls: [rule], ...(agent ? { listenerPath: agent.socket } : {}) });
      });
      const r = await t.rt(["run", "--bundle", b.dir, id]);
      expectTrigger(r, want, action);
      if (agent) expectNotified(agent.log, id);
    });
  }

  for (const op of list(s.operators)) {
    const a = OPERATOR_ARGS[op];
    conform(`features: seccomp operator ${op} on kill(2)'s signal argument`, async (t) => {
      if (a === undefined) throw new Error(`advertised seccomp operator ${op} is unknown to this suite`);
      const r = await t.run("kill -0 $$; echo zero=$?; kill -WINCH $$; echo winch=$?", (c) => {
        const rule: Syscall = { ...errnoRule(), args: [{ index: 1, op, value: a.value, ...(a.valueTwo === undefined ? {} : { valueTwo: a.valueTwo }) }] };
        withSeccomp(c, { defaultAction: "SCMP_ACT_ALLOW", syscalls: [rule] });
      });
      expect(r.code, explain(r)).toBe(0);
      const rc = (m: boolean) => (m ? 1 : 0);
      expect(r.stdout, explain(r)).toBe(`zero=${rc(a.matches[0])}\nwinch=${rc(a.matches[1])}\n`);
    });
  }

  // One profile per architecture: libseccomp, for one, cannot put architectures of both
  // byte orders into one filter.
  for (const arch of list(s.archs)) {
    conform(`features: seccomp architecture ${arch} in a profile`, async (t) => {
      const r = await t.run(TRIGGER, (c) => withSeccomp(c, { defaultAction: "SCMP_ACT_ALLOW", architectures: [arch], syscalls: [errnoRule()] }));
      expectTrigger(r, ACTION_RESULT.SCMP_ACT_ERRNO!, arch);
    });
  }

  // knownFlags are only recognized; supportedFlags must also work on this kernel.
  for (const flag of list(s.supportedFlags)) {
    conform(`features: seccomp flag ${flag}`, async (t) => {
      // WAIT_KILLABLE_RECV only means something (and the kernel takes it only) with a listener.
      const notify = flag === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";
      if (notify && !list(s.actions).includes("SCMP_ACT_NOTIFY")) throw new Error(`${flag} is supported, but SCMP_ACT_NOTIFY is not advertised`);
      const agent = notify ? await notifyAgent(t) : undefined;
      const id = t.id();
      const b = t.bundle((c) => {
        sh(c, TRIGGER);
        const rule = notify ? { names: ["kill"], action: "SCMP_ACT_NOTIFY" } : errnoRule();
        withSeccomp(c, { defaultAction: "SCMP_ACT_ALLOW", flags: [flag], syscalls: [rule], ...(agent ? { listenerPath: agent.socket } : {}) });
      });
      const r = await t.rt(["run", "--bundle", b.dir, id]);
      expectTrigger(r, ACTION_RESULT[notify ? "SCMP_ACT_NOTIFY" : "SCMP_ACT_ERRNO"]!, flag);
      if (agent) expectNotified(agent.log, id);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// capabilities

/** capabilities(7), in kernel numbering order. */
const CAP_NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

function capabilityCases(caps: string[]): void {
  if (caps.length === 0) return;
  conform("features: every advertised capability this host can grant, all in one container", async (t) => {
    // What the runtime can hand on at most: its caller's bounding set (ours), on this kernel.
    const last = Number(fs.readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`);
    const bit = (name: string) => CAP_NAMES.indexOf(name);
    const grantable = caps.filter((n) => bit(n) >= 0 && bit(n) <= last && (bounding & (1n << BigInt(bit(n)))) !== 0n);
    const want = grantable.reduce((m, n) => m | (1n << BigInt(bit(n))), 0n);
    const out = await t.runOk("grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status", (c) => {
      proc(c).capabilities = { bounding: grantable, effective: grantable, permitted: grantable };
    });
    for (const field of ["CapEff", "CapPrm", "CapBnd"]) {
      const got = BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(out)?.[1] ?? "0"}`);
      const missing = grantable.filter((n) => (got & (1n << BigInt(bit(n)))) === 0n);
      expect(missing, `${field} ${got.toString(16)}`).toEqual([]);
      expect(got, field).toBe(want);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// cgroups

function hasController(name: string): boolean {
  return readText("/proc/cgroups")
    .split("\n")
    .some((l) => l.split("\t")[0] === name && l.split("\t")[3] === "1");
}

function cgroupCases(cg: NonNullable<Features["linux"]>["cgroup"]): void {
  if (cg === undefined || cg === null) return;
  const v2only = isCgroup2Only();
  for (const version of ["v1", "v2"] as const) {
    if (cg[version] !== true) continue;
    const name = `features: cgroup ${version}: the container's pids limit is written under cgroupsPath`;
    if ((version === "v2") !== v2only) {
      skipCase(name, version === "v2" ? "this host's /sys/fs/cgroup is not a pure cgroup v2 hierarchy" : "this host has no cgroup v1 hierarchies");
      continue;
    }
    conform(name, async (t) => {
      const b = t.bundle((c) => {
        sh(c, "sleep 100000");
        c.linux.resources = { ...c.linux.resources, pids: { limit: 42 } };
      });
      const id = t.id();
      await t.create(b, id);
      const pid = (await t.state(id)).pid ?? 0;
      const dir = cgroupDir("pids", b.cgroupsPath);
      expect(readText(path.join(dir, "pids.max")).trim()).toBe("42");
      expect(readText(path.join(dir, "cgroup.procs")).split("\n")).toContain(String(pid));
    });
  }
  const systemd = fs.existsSync("/run/systemd/system");
  if (cg.systemd === true) skipCase("features: cgroup systemd driver", systemd ? "not exercised by this suite yet" : "this host does not run systemd");
  if (cg.systemdUser === true) skipCase("features: cgroup systemd user driver", systemd ? "not exercised by this suite yet" : "this host does not run systemd");
  if (cg.rdma === true) skipCase("features: cgroup rdma controller", hasController("rdma") ? "needs an RDMA device" : "this host has no rdma cgroup controller");
}

// ---------------------------------------------------------------------------------------------
// idmapped mounts

function idmapCases(options: string[], enabled: boolean): void {
  const advertised = ["idmap", "ridmap"].filter((o) => options.includes(o));
  // mountExtensions.idmap alone: mappings without the option (config.md: the options "SHOULD"
  // name it, so older runtimes do not silently ignore the mappings).
  const variants = advertised.length > 0 ? advertised : enabled ? [""] : [];
  for (const o of variants) {
    const name = o === "" ? "mountExtensions.idmap: uidMappings and gidMappings on a bind" : `mount option "${o}"`;
    conform(`features: ${name}: host root's files are the root's of a user-namespaced container`, async (t) => {
      // Owned by the host's root, who is unmapped in the container: nobody, unless idmapped.
      const src = dirWithSubmount(t, "src");
      fs.writeFileSync(path.join(src, "file"), "x\n");
      const mapping = [{ containerID: 0, hostID: 100000, size: 65536 }];
      const out = await t.runOk("stat -c %u:%g /plain/file /idm/file /idm/sub/file", (c, b) => {
        for (const d of ["plain", "idm"]) fs.mkdirSync(path.join(b.rootfs, d));
        c.linux.namespaces = [...(c.linux.namespaces ?? []), { type: "user" }];
        c.linux.uidMappings = mapping;
        c.linux.gidMappings = mapping;
        c.mounts?.push({ destination: "/plain", type: "bind", source: src, options: ["rbind"] });
        const idm = { destination: "/idm", type: "bind", source: src, options: o === "" ? ["rbind"] : ["rbind", o], uidMappings: mapping, gidMappings: mapping };
        c.mounts?.push(idm);
      });
      // idmap applies to the mount itself, ridmap to its submounts too.
      const sub = o === "idmap" ? "65534:65534" : "0:0";
      expect(out).toBe(`65534:65534\n0:0\n${sub}\n`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// memory policy

/** What /proc/<pid>/numa_maps says for a task policy (mm/mempolicy.c, mpol_to_str). */
const MPOL_SHOWN: Record<string, { nodes: boolean; shown: string }> = {
  MPOL_DEFAULT: { nodes: false, shown: "default" },
  MPOL_LOCAL: { nodes: false, shown: "local" },
  MPOL_PREFERRED: { nodes: true, shown: "prefer:0" },
  MPOL_PREFERRED_MANY: { nodes: true, shown: "prefer (many):0" },
  MPOL_BIND: { nodes: true, shown: "bind:0" },
  MPOL_INTERLEAVE: { nodes: true, shown: "interleave:0" },
  MPOL_WEIGHTED_INTERLEAVE: { nodes: true, shown: "weighted interleave:0" },
};
const MPOL_FLAG_SHOWN: Record<string, string> = {
  MPOL_F_STATIC_NODES: "bind=static:0",
  MPOL_F_RELATIVE_NODES: "bind=relative:0",
  MPOL_F_NUMA_BALANCING: "bind=balancing:0",
};

function memoryPolicyCases(mp: NonNullable<Features["linux"]>["memoryPolicy"]): void {
  if (mp === undefined || mp === null) return;
  const numa = fs.existsSync("/proc/self/numa_maps") && fs.existsSync("/sys/devices/system/node/node0");
  const cases: [string, { mode: string; nodes?: string; flags?: string[] }, string | undefined][] = [
    ...list(mp.modes).map((m): [string, { mode: string; nodes?: string }, string | undefined] => [
      `mode ${m}`,
      { mode: m, ...(MPOL_SHOWN[m]?.nodes ? { nodes: "0" } : {}) },
      MPOL_SHOWN[m]?.shown,
    ]),
    ...list(mp.flags).map((f): [string, { mode: string; nodes: string; flags: string[] }, string | undefined] => [
      `flag ${f}`,
      { mode: "MPOL_BIND", nodes: "0", flags: [f] },
      MPOL_FLAG_SHOWN[f],
    ]),
  ];
  for (const [what, policy, shown] of cases) {
    const name = `features: memoryPolicy ${what} is the container process's policy`;
    if (!numa) {
      skipCase(name, "this host has no NUMA node 0 and numa_maps");
      continue;
    }
    conform(name, async (t) => {
      if (shown === undefined) throw new Error(`advertised memory policy ${what} is unknown to this suite`);
      const out = await t.runOk("head -n 1 /proc/self/numa_maps", (c) => (c.linux.memoryPolicy = policy));
      // "<address> <policy> <details>"; a mapping without a policy of its own shows the task's.
      expect(out.trim().split(" ").slice(1).join(" ")).toStartWith(`${shown} `);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// network devices

function netDeviceCase(): void {
  conform("features: netDevices: a host device moves into the container, renamed, with its address, up", async (t) => {
    const dev = `cf${t.tmp.slice(-6).replace(/[^A-Za-z0-9]/g, "x")}`;
    // A veth pair (kernels without the dummy driver have veth): one end goes, its peer stays.
    run(["ip", "link", "add", dev, "type", "veth", "peer", "name", `${dev}p`]);
    // The pair goes with the container's network namespace; if not, it is removed here.
    t.defer(() => Bun.spawnSync(["ip", "link", "del", `${dev}p`]));
    run(["ip", "addr", "add", "192.0.2.10/24", "dev", dev]);
    const out = await t.runOk("ip -o addr show dev ctr0; ip -o link show dev ctr0", (c) => {
      c.linux.netDevices = { [dev]: { name: "ctr0" } };
    });
    expect(out).toContain("inet 192.0.2.10/24");
    expect(out).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(Bun.spawnSync(["ip", "link", "show", "dev", dev]).exitCode, "the device is still on the host").not.toBe(0);
  });
}

// Last, once every table above is initialised.
if (doc === undefined) {
  skipCase("features: each advertised feature works", "the runtime printed no features document");
} else {
  registerCases(doc);
}
