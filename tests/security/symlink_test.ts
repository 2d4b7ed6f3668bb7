// Attack class 3 (design.md §6), statically: an image whose paths are symlinks pointing out of
// the rootfs (CVE-2021-30465, 2024-45310, 2025-31133, 2025-52565). Whatever create decides —
// refuse, or resolve the path inside the root — nothing may be mounted or created on the host:
// not in the host directory the symlinks name, not in the host's mount table, and not in the
// container's own mount namespace outside the rootfs (seen by a createContainer hook before
// pivot_root). /dev/null that is not the null device makes masked paths refuse.
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Bundle, consoleReceiver, explain, removeCaches, type Result, type Sec, secCase, sh, type Spec } from "./lib/harness.ts";
import { type HostTarget, hostTarget, mountinfoHook, mountsOutside, SECRET } from "./lib/rootfs_watch.ts";

afterAll(removeCaches);

/** Replace `rel` in the rootfs with a symlink to `to`. */
function symlinkIn(b: Bundle, rel: string, to: string): void {
  const p = path.join(b.rootfs, rel);
  fs.rmSync(p, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.symlinkSync(to, p);
}

/** A relative symlink target from `rel` (in the rootfs) that climbs out of it to host path `to`. */
function climbing(b: Bundle, rel: string, to: string): string {
  const depth = path.join(b.rootfs, path.dirname(rel)).split("/").filter(Boolean).length;
  return `${"../".repeat(depth + 3)}${to.replace(/^\/+/, "")}`;
}

/** The image's own /dev is used: no tmpfs over it. */
function noDevTmpfs(c: Spec): void {
  c.mounts = (c.mounts ?? []).filter((m) => m.destination !== "/dev");
}

interface Case {
  name: string;
  edit(c: Spec, b: Bundle, h: HostTarget): void;
  rootfs(b: Bundle, h: HostTarget): void;
  terminal?: boolean;
  /** Checks inside the container when create succeeded (`exec sh -c <script>`). */
  inside?: { script: string; check(out: string, h: HostTarget): void };
}

const dataMounts = (c: Spec, h: HostTarget, src: string) => {
  c.mounts = [
    ...(c.mounts ?? []),
    { destination: "/data", type: "tmpfs", source: "tmpfs", options: ["mode=755"] },
    { destination: "/data/sub/deeper", type: "tmpfs", source: "tmpfs" },
    { destination: "/data/bnd", type: "bind", source: src, options: ["rbind"] },
  ];
  void h;
};

/** Prints what the masked paths show (they must not show the image's or the host's file). */
const MASKED_CAT = "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $f ] && head -c 64 $f; done; echo end";

const CASES: Case[] = [
  {
    name: "mount destinations below an absolute symlink to a host directory",
    rootfs: (b, h) => symlinkIn(b, "data", h.dir),
    edit: (c, b, h) => dataMounts(c, h, path.join(b.dir, "..", "src")),
  },
  {
    name: "mount destinations below a relative symlink climbing out (../../..)",
    rootfs: (b, h) => symlinkIn(b, "data", climbing(b, "data", h.dir)),
    edit: (c, b, h) => dataMounts(c, h, path.join(b.dir, "..", "src")),
  },
  {
    name: "/dev is a symlink to a host directory (tmpfs /dev)",
    rootfs: (b, h) => symlinkIn(b, "dev", h.dir),
    edit: () => {},
  },
  {
    name: "/dev is a symlink to a host directory (the image's /dev: devices are made in it)",
    rootfs: (b, h) => symlinkIn(b, "dev", h.dir),
    edit: (c) => noDevTmpfs(c),
  },
  {
    name: "/dev/pts, /dev/shm and /dev/mqueue are symlinks to host directories",
    rootfs: (b, h) => {
      symlinkIn(b, "dev/pts", h.dir);
      symlinkIn(b, "dev/shm", path.join(h.dir, "keep"));
      symlinkIn(b, "dev/mqueue", climbing(b, "dev/mqueue", h.dir));
    },
    edit: (c) => noDevTmpfs(c),
  },
  {
    name: "/dev/null is a regular file: masked paths refuse rather than bind it",
    rootfs: (b) => {
      fs.mkdirSync(path.join(b.rootfs, "dev"), { recursive: true });
      fs.writeFileSync(path.join(b.rootfs, "dev", "null"), SECRET);
    },
    edit: (c) => noDevTmpfs(c),
    inside: {
      script: MASKED_CAT,
      check: (out) => expect(out.trim(), "a masked path shows a file's content").toBe("end"),
    },
  },
  {
    name: "/dev/null is a symlink to a host file: masked paths refuse rather than bind it",
    rootfs: (b, h) => symlinkIn(b, "dev/null", h.file),
    edit: (c) => noDevTmpfs(c),
    inside: {
      script: MASKED_CAT,
      check: (out) => expect(out.trim(), "a masked path shows a file's content").toBe("end"),
    },
  },
  {
    name: "/dev/console is a symlink to a host file (process.terminal)",
    rootfs: (b, h) => symlinkIn(b, "dev/console", h.file),
    edit: (c) => noDevTmpfs(c),
    terminal: true,
  },
  {
    name: "/proc is a symlink to a host directory",
    rootfs: (b, h) => symlinkIn(b, "proc", h.dir),
    edit: () => {},
  },
  {
    name: "/sys is a symlink to a host directory",
    rootfs: (b, h) => symlinkIn(b, "sys", climbing(b, "sys", h.dir)),
    edit: () => {},
  },
];

async function tryCreate(t: Sec, b: Bundle, id: string, terminal: boolean): Promise<Result> {
  if (!terminal) return t.rt(["create", "--bundle", b.dir, id]);
  const rx = await consoleReceiver(t);
  return t.rt(["create", "--console-socket", rx.sock, "--bundle", b.dir, id]);
}

/** The host paths the symlinks name also exist inside the rootfs, so resolving in the root succeeds. */
function mirror(b: Bundle, h: HostTarget): void {
  const inRoot = path.join(b.rootfs, h.dir);
  fs.mkdirSync(path.join(inRoot, "keep"), { recursive: true });
  fs.writeFileSync(path.join(inRoot, "secret"), "image file\n");
}

describe("symlinks in the rootfs (CVE-2021-30465, 2024-45310, 2025-31133, 2025-52565)", () => {
  for (const k of CASES) for (const mirrored of [false, true]) {
    const name = mirrored ? `${k.name} (the target exists inside the rootfs too)` : k.name;
    secCase(name, async (t) => {
      const h = hostTarget(t);
      fs.mkdirSync(path.join(t.tmp, "src"));
      const hook = path.join(t.tmp, "hook-mountinfo");
      const b = t.bundle((c, bb) => {
        sh(c, "exit 0");
        c.process!.terminal = k.terminal === true;
        mountinfoHook(c, hook);
        k.edit(c, bb, h);
      });
      k.rootfs(b, h);
      if (mirrored) mirror(b, h);
      const id = t.id();
      const r = await tryCreate(t, b, id, k.terminal === true);
      h.check(`${name}: ${explain(r)}`);
      expect(mountsOutside(hook, b.rootfs, t.tmp), `mounts outside the rootfs in the container's namespace: ${explain(r)}`).toEqual([]);
      console.log(`${name}: ${r.code === 0 ? "created" : `refused: ${r.stderr.trim().split("\n").at(-1)}`}`);
      if (r.code === 0 && k.inside) {
        const x = await t.rt(["exec", id, "sh", "-c", k.inside.script]);
        k.inside.check(x.stdout, h);
        h.check(`${name} (after exec)`);
      }
    });
  }
});
