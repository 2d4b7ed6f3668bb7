// The test rootfs: Debian's busybox-static plus a few files, built once into a cache directory
// (never committed) and copied into each bundle, so a test may change its copy freely.
import * as fs from "node:fs";
import * as path from "node:path";

export const BUSYBOX = process.env.BUSYBOX ?? "/bin/busybox";
const CACHE_DIR = process.env.CONFORMANCE_CACHE ?? "/var/tmp/tsrun-conformance-cache";

/** The non-root user that exists in the rootfs's /etc/passwd. */
export const USER = { name: "user", uid: 1000, gid: 1000 } as const;
/** A supplementary group that `user` belongs to in /etc/group. */
export const STAFF_GID = 50;

const PASSWD = `root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;
const GROUP = `root:x:0:
staff:x:50:user
user:x:1000:
nogroup:x:65534:
`;

let cached: string | undefined;

/** Path of the cached, read-only-by-convention busybox rootfs; built on first use. */
export function cachedRootfs(): string {
  if (cached !== undefined) return cached;
  let st: fs.Stats;
  try {
    st = fs.statSync(BUSYBOX);
  } catch {
    throw new Error(`conformance needs a static busybox at ${BUSYBOX} (Debian: apt-get install busybox-static)`);
  }
  // Key the cache on the binary and on this file's recipe, so either change rebuilds it.
  const key = `busybox-${st.size}-${Math.trunc(st.mtimeMs)}-v1`;
  const dest = path.join(CACHE_DIR, key);
  if (!fs.existsSync(path.join(dest, "bin", "sh"))) build(dest);
  cached = dest;
  return dest;
}

function build(dest: string): void {
  fs.mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  // Build beside the destination and rename into place, so a half-built tree is never used and
  // two concurrent builders do not trip over each other.
  const tmp = fs.mkdtempSync(path.join(CACHE_DIR, ".build-"));
  fs.chmodSync(tmp, 0o755);
  for (const d of ["bin", "proc", "sys", "dev", "etc", "root", "home", "var", "run"]) {
    fs.mkdirSync(path.join(tmp, d), { mode: 0o755 });
  }
  fs.mkdirSync(path.join(tmp, "tmp"));
  fs.chmodSync(path.join(tmp, "tmp"), 0o1777);
  fs.mkdirSync(path.join(tmp, "home", USER.name), { mode: 0o755 });
  fs.chownSync(path.join(tmp, "home", USER.name), USER.uid, USER.gid);
  fs.copyFileSync(BUSYBOX, path.join(tmp, "bin", "busybox"));
  fs.chmodSync(path.join(tmp, "bin", "busybox"), 0o755);
  const list = Bun.spawnSync([BUSYBOX, "--list"]);
  if (list.exitCode !== 0) throw new Error(`${BUSYBOX} --list failed: ${list.stderr.toString()}`);
  for (const applet of list.stdout.toString().split("\n")) {
    // "busybox" is itself in the list; linking it would replace the binary with a loop.
    if (applet === "" || applet === "busybox" || applet.includes("/")) continue;
    fs.symlinkSync("busybox", path.join(tmp, "bin", applet));
  }
  fs.writeFileSync(path.join(tmp, "etc", "passwd"), PASSWD, { mode: 0o644 });
  fs.writeFileSync(path.join(tmp, "etc", "group"), GROUP, { mode: 0o644 });
  fs.writeFileSync(path.join(tmp, "etc", "hostname"), "rootfs\n", { mode: 0o644 });
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process won the race; its tree is as good as ours.
    if (!fs.existsSync(path.join(dest, "bin", "sh"))) throw e;
  }
}

/** Copy the cached rootfs to `dest` (which must not exist). */
export function copyRootfs(dest: string): void {
  const src = cachedRootfs();
  const r = Bun.spawnSync(["cp", "-a", src, dest]);
  if (r.exitCode !== 0) throw new Error(`cp -a ${src} ${dest}: ${r.stderr.toString()}`);
}
