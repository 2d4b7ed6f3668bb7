// root (readonly, propagation), mounts (tmpfs, bind, rbind, files, propagation, rro),
// maskedPaths, readonlyPaths, the default devices and linux.devices.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { proc, sh, DEFAULT_CAPS, type Spec } from "./lib/config.ts";
import { conform, explain, trapper, waitForText, type Bundle, type Ctx } from "./lib/harness.ts";
import { parseMountInfo, type MountInfo } from "./lib/host.ts";

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** A host directory below the case's temp dir, holding `files`. */
function hostDir(t: Ctx, name: string, files: Record<string, string> = {}): string {
  const d = t.dir(name);
  for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(d, f), content);
  return d;
}

/** Mount a tmpfs holding `file` at `dir` (the case's cleanup unmounts everything below tmp). */
function tmpfsWith(dir: string, file: string, content: string): void {
  fs.mkdirSync(dir, { recursive: true });
  run(["mount", "-t", "tmpfs", "-o", "size=1m", "conformance", dir]);
  fs.writeFileSync(path.join(dir, file), content);
}

/** Make `dir` a mount point of its own in a shared peer group, so mounts below it propagate. */
function makeShared(dir: string): void {
  run(["mount", "--bind", dir, dir]);
  run(["mount", "--make-shared", dir]);
}

/** The container's mountinfo entry for `point`, from its `cat /proc/self/mountinfo` output. */
function entry(mountinfo: string, point: string): MountInfo | undefined {
  return parseMountInfo(mountinfo).findLast((m) => m.mountPoint === point);
}

/** Start a long-running container from `b` and return its host pid. */
async function startWaiting(t: Ctx, b: Bundle): Promise<{ id: string; pid: number; out: string }> {
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  return { id, pid: (await t.state(id)).pid ?? 0, out: cr.outPath };
}

function containerMounts(pid: number): MountInfo[] {
  return parseMountInfo(fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8"));
}

const EROFS = /Read-only file system/;

conform("root.readonly: the rootfs is mounted read-only", async (t) => {
  const r = await t.run("touch /newfile; echo rc=$?; cat /proc/self/mountinfo", (c) => (c.root.readonly = true));
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toContain("rc=1");
  expect(r.stderr).toMatch(EROFS);
  expect(entry(r.stdout, "/")?.options).toContain("ro");
});

conform("root.readonly false: the rootfs is writable and writes land in the bundle's rootfs", async (t) => {
  let bundle: Bundle | undefined;
  const out = await t.runOk("echo hi > /newfile && echo ok", (c, b) => {
    c.root.readonly = false;
    bundle = b;
  });
  expect(out).toBe("ok\n");
  expect(fs.readFileSync(path.join(bundle?.rootfs ?? "", "newfile"), "utf8")).toBe("hi\n");
});

/** The propagation tags ("shared:5", "master:3", "unbindable") of the container's "/". */
function rootTags(pid: number): string[] {
  return containerMounts(pid).find((m) => m.mountPoint === "/")?.optional ?? [];
}

/**
 * Start a container whose bundle rootfs is a shared mount on the host, then mount a tmpfs below
 * the rootfs on the host. Returns the container's "/" tags and whether the host mount reached it.
 */
async function rootfsPropagation(t: Ctx, prop: string): Promise<{ tags: string[]; seen: boolean; hostTags: string[] }> {
  const b = t.bundle((c) => {
    sh(c, trapper());
    c.linux.rootfsPropagation = prop;
  });
  fs.mkdirSync(path.join(b.rootfs, "mnt", "probe"), { recursive: true });
  makeShared(b.rootfs);
  const hostTags = parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8")).find((m) => m.mountPoint === b.rootfs)?.optional ?? [];
  const c = await startWaiting(t, b);
  const tags = rootTags(c.pid);
  // Propagation happens inside mount(2), so the container's table is final when it returns.
  tmpfsWith(path.join(b.rootfs, "mnt", "probe"), "marker", "x");
  const seen = containerMounts(c.pid).some((m) => m.mountPoint === "/mnt/probe");
  return { tags, seen, hostTags };
}

// config-linux.md, rootfsPropagation (1.0.2): "private: the rootfs mount doesn't receive mount
// propagation events from the host"; "slave: the rootfs mount receives propagation events from
// the host (e.g. if something is mounted on the host it will also appear in the container) but
// not the other way around"; "shared: the rootfs mount belongs to a new peer group ... Note this
// does not mean that it's shared with the host."; "unbindable: the rootfs mount is a private
// mount that cannot be bind-mounted."
conform("rootfsPropagation private: / is private and host mounts below the rootfs do not reach it", async (t) => {
  const r = await rootfsPropagation(t, "private");
  expect(r.tags.filter((x) => /^(shared|master):/.test(x))).toEqual([]);
  expect(r.seen).toBe(false);
});

conform("rootfsPropagation slave: / is a slave and host mounts below the rootfs reach it", async (t) => {
  const r = await rootfsPropagation(t, "slave");
  const why = JSON.stringify(r);
  expect(r.tags.some((x) => x.startsWith("master:")), why).toBe(true);
  expect(r.tags.some((x) => x.startsWith("shared:")), why).toBe(false);
  expect(r.seen, why).toBe(true);
});

conform("rootfsPropagation shared: / belongs to a new peer group", async (t) => {
  const r = await rootfsPropagation(t, "shared");
  const shared = r.tags.find((x) => x.startsWith("shared:"));
  expect(shared, r.tags.join(" ")).toBeDefined();
  expect(r.hostTags).not.toContain(shared);
});

conform("rootfsPropagation unbindable: / is unbindable", async (t) => {
  const r = await rootfsPropagation(t, "unbindable");
  expect(r.tags).toContain("unbindable");
  expect(r.seen).toBe(false);
});

conform("mounts: tmpfs with size, mode, noexec, nosuid and nodev", async (t) => {
  const script = [
    "grep ' /mnt/t ' /proc/self/mountinfo",
    "stat -c mode=%a /mnt/t",
    "printf '#!/bin/sh\\necho ran\\n' > /mnt/t/s; chmod +x /mnt/t/s; /mnt/t/s; echo exec-rc=$?",
    "dd if=/dev/zero of=/mnt/t/big bs=1024 count=2048 2>/dev/null; echo dd-rc=$?",
  ].join("; ");
  const out = await t.runOk(script, (c) =>
    c.mounts?.push({
      destination: "/mnt/t",
      type: "tmpfs",
      source: "tmpfs",
      options: ["size=1m", "mode=0710", "noexec", "nosuid", "nodev"],
    }),
  );
  const m = entry(out, "/mnt/t");
  expect(m?.fsType).toBe("tmpfs");
  expect(m?.options).toEqual(expect.arrayContaining(["noexec", "nosuid", "nodev", "rw"]));
  expect(m?.superOptions).toEqual(expect.arrayContaining(["size=1024k", "mode=710"]));
  expect(out).toContain("mode=710\n");
  expect(out).not.toContain("ran\n");
  expect(out).toMatch(/exec-rc=(126|1)\b/);
  expect(out).toMatch(/dd-rc=[1-9]/);
});

conform("mounts: tmpfs with ro", async (t) => {
  const r = await t.run("touch /mnt/ro/x; echo rc=$?; grep ' /mnt/ro ' /proc/self/mountinfo", (c) =>
    c.mounts?.push({ destination: "/mnt/ro", type: "tmpfs", source: "tmpfs", options: ["ro"] }),
  );
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toContain("rc=1");
  expect(r.stderr).toMatch(EROFS);
  expect(entry(r.stdout, "/mnt/ro")?.options).toContain("ro");
});

conform("mounts: bind mount of a host directory, read-write both ways", async (t) => {
  const d = hostDir(t, "data", { "from-host": "hello from host\n" });
  const out = await t.runOk("cat /data/from-host; echo written > /data/from-container && echo ok", (c) =>
    c.mounts?.push({ destination: "/data", type: "bind", source: d, options: ["bind", "rw"] }),
  );
  expect(out).toBe("hello from host\nok\n");
  expect(fs.readFileSync(path.join(d, "from-container"), "utf8")).toBe("written\n");
});

conform("mounts: read-only bind mount", async (t) => {
  const d = hostDir(t, "data", { f: "content\n" });
  const r = await t.run("cat /data/f; touch /data/x; echo rc=$?; grep ' /data ' /proc/self/mountinfo", (c) =>
    c.mounts?.push({ destination: "/data", type: "bind", source: d, options: ["bind", "ro"] }),
  );
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toStartWith("content\nrc=1\n");
  expect(r.stderr).toMatch(EROFS);
  expect(entry(r.stdout, "/data")?.options).toContain("ro");
  expect(fs.existsSync(path.join(d, "x"))).toBe(false);
});

conform("mounts: bind is not recursive, rbind is", async (t) => {
  const d = hostDir(t, "tree", { top: "top\n" });
  tmpfsWith(path.join(d, "sub"), "deep", "deep\n");
  const out = await t.runOk("cat /b/top /r/top; ls -A /b/sub; echo --; cat /r/sub/deep", (c) => {
    c.mounts?.push({ destination: "/b", type: "bind", source: d, options: ["bind"] });
    c.mounts?.push({ destination: "/r", type: "bind", source: d, options: ["rbind"] });
  });
  expect(out).toBe("top\ntop\n--\ndeep\n");
});

conform("mounts: a file bound onto a destination that does not exist is created as a file", async (t) => {
  const d = hostDir(t, "files", { "conf.txt": "key=value\n" });
  let bundle: Bundle | undefined;
  const out = await t.runOk("cat /etc/new/dir/conf.txt; [ -f /etc/new/dir/conf.txt ] && echo is-file", (c, b) => {
    bundle = b;
    c.mounts?.push({ destination: "/etc/new/dir/conf.txt", type: "bind", source: path.join(d, "conf.txt"), options: ["bind", "ro"] });
  });
  expect(out).toBe("key=value\nis-file\n");
  // What the runtime made in the rootfs as the mount point: a regular (empty) file.
  expect(fs.statSync(path.join(bundle?.rootfs ?? "", "etc/new/dir/conf.txt")).isFile()).toBe(true);
});

conform("mounts: rro makes a bind mount read-only recursively", async (t) => {
  const d = hostDir(t, "tree", { top: "top\n" });
  tmpfsWith(path.join(d, "sub"), "deep", "deep\n");
  const r = await t.run("touch /r/x; echo top-rc=$?; touch /r/sub/x; echo sub-rc=$?", (c) =>
    c.mounts?.push({ destination: "/r", type: "bind", source: d, options: ["rbind", "rro"] }),
  );
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toBe("top-rc=1\nsub-rc=1\n");
});

conform("mounts: rslave/rprivate bind propagation of host mounts made after start", async (t) => {
  const d = hostDir(t, "shared");
  makeShared(d);
  const b = t.bundle((c) => {
    sh(c, trapper());
    // Binds copy the propagation of their source in the container's tree; a privatised tree
    // (crun's default) would cut /slave off, so ask for what docker asks for with rslave mounts.
    c.linux.rootfsPropagation = "rslave";
    c.mounts?.push({ destination: "/slave", type: "bind", source: d, options: ["rbind", "rslave"] });
    c.mounts?.push({ destination: "/private", type: "bind", source: d, options: ["rbind", "rprivate"] });
  });
  const c = await startWaiting(t, b);
  tmpfsWith(path.join(d, "late"), "marker", "x");
  const points = containerMounts(c.pid).map((m) => m.mountPoint);
  expect(points).toContain("/slave/late");
  expect(points).not.toContain("/private/late");
  expect(containerMounts(c.pid).find((m) => m.mountPoint === "/slave")?.optional.join(" ")).toMatch(/master:\d+/);
});

conform("mounts: rshared bind propagates mounts made in the container to the host", async (t) => {
  const d = hostDir(t, "shared");
  fs.mkdirSync(path.join(d, "from-container"));
  makeShared(d);
  const b = t.bundle((c) => {
    sh(c, `mount -t tmpfs -o size=1m inner /s/from-container && echo ready; sleep 100000 & wait`);
    // The tree must not be made a slave of the host first (runc's default), or nothing goes
    // back; docker sets rshared here whenever a mount asks for it.
    c.linux.rootfsPropagation = "rshared";
    proc(c).capabilities = { bounding: [...DEFAULT_CAPS, "CAP_SYS_ADMIN"], effective: [...DEFAULT_CAPS, "CAP_SYS_ADMIN"], permitted: [...DEFAULT_CAPS, "CAP_SYS_ADMIN"] };
    c.mounts?.push({ destination: "/s", type: "bind", source: d, options: ["rbind", "rshared"] });
  });
  await startWaiting(t, b);
  const host = parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"));
  expect(host.some((m) => m.mountPoint === path.join(d, "from-container") && m.source === "inner")).toBe(true);
});

conform("mounts: the base filesystems have their types and options", async (t) => {
  const out = await t.runOk("cat /proc/self/mountinfo");
  const want: [string, string, string[]][] = [
    ["/proc", "proc", []],
    ["/dev", "tmpfs", ["nosuid"]],
    ["/dev/pts", "devpts", ["nosuid", "noexec"]],
    ["/dev/shm", "tmpfs", ["nosuid", "noexec", "nodev"]],
    ["/dev/mqueue", "mqueue", ["nosuid", "noexec", "nodev"]],
    ["/sys", "sysfs", ["ro", "nosuid", "noexec", "nodev"]],
  ];
  for (const [point, type, opts] of want) {
    const m = entry(out, point);
    expect(m?.fsType, point).toBe(type);
    expect(m?.options, point).toEqual(expect.arrayContaining(opts));
  }
  // devpts is a new instance, not the host's.
  expect(entry(out, "/dev/pts")?.superOptions).toEqual(expect.arrayContaining(["ptmxmode=666"]));
});

conform("maskedPaths: files read empty, directories look empty", async (t) => {
  // A /proc file the base config masks and this kernel has (kcore needs CONFIG_PROC_KCORE).
  const procFile = ["/proc/kcore", "/proc/keys", "/proc/timer_list"].find((f) => fs.existsSync(f)) ?? "/proc/keys";
  const script = [
    `echo proc=$(cat ${procFile} | wc -c)`,
    "echo secret=[$(cat /etc/secret)]",
    "echo secretdir=[$(ls -A /secretdir)]",
    "touch /secretdir/new; echo touch-rc=$?",
    "echo acpi=[$(ls -A /proc/acpi 2>/dev/null)]",
  ].join("; ");
  const out = await t.runOk(script, (c, b) => {
    fs.writeFileSync(path.join(b.rootfs, "etc", "secret"), "s3cret\n");
    fs.mkdirSync(path.join(b.rootfs, "secretdir"));
    fs.writeFileSync(path.join(b.rootfs, "secretdir", "inside"), "hidden\n");
    c.linux.maskedPaths = [...(c.linux.maskedPaths ?? []), "/etc/secret", "/secretdir", "/does/not/exist"];
  });
  expect(out).toBe("proc=0\nsecret=[]\nsecretdir=[]\ntouch-rc=1\nacpi=[]\n");
});

conform("readonlyPaths: writes fail with EROFS, the rest stays writable", async (t) => {
  const r = await t.run("touch /data/x; echo data-rc=$?; touch /elsewhere && echo rootfs-ok; grep ' /proc/sys ' /proc/self/mountinfo", (c, b) => {
    fs.mkdirSync(path.join(b.rootfs, "data"));
    c.linux.readonlyPaths = [...(c.linux.readonlyPaths ?? []), "/data", "/does/not/exist"];
  });
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toStartWith("data-rc=1\nrootfs-ok\n");
  expect(r.stderr).toMatch(EROFS);
  expect(entry(r.stdout, "/proc/sys")?.options).toContain("ro");
});

conform("devices: the default devices exist with the right numbers and work", async (t) => {
  const devs = ["null", "zero", "full", "random", "urandom", "tty"];
  const script = [
    `for d in ${devs.join(" ")}; do stat -c '%n %F %t:%T %a' /dev/$d; done`,
    "echo x > /dev/null && echo null-ok",
    "echo zero=$(head -c 4 /dev/zero | wc -c)",
    "echo random=$(head -c 4 /dev/urandom | wc -c)",
  ].join("; ");
  const out = await t.runOk(script);
  const want: Record<string, string> = { null: "1:3", zero: "1:5", full: "1:7", random: "1:8", urandom: "1:9", tty: "5:0" };
  for (const [d, mm] of Object.entries(want)) {
    // stat prints the numbers in hex; all of these are below 10.
    expect(out).toContain(`/dev/${d} character special file ${mm} 666\n`);
  }
  expect(out).toContain("null-ok\nzero=4\nrandom=4\n");
});

conform("devices: /dev/fd, stdin, stdout, stderr and ptmx links", async (t) => {
  const out = await t.runOk("for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done; [ -c /dev/pts/ptmx ] && echo pts-ptmx");
  expect(out).toBe(
    "fd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\nstderr=/proc/self/fd/2\nptmx=pts/ptmx\npts-ptmx\n",
  );
});

conform("linux.devices: type, major, minor, fileMode, uid and gid", async (t) => {
  const out = await t.runOk(
    "for d in /dev/custom-null /dev/custom-fifo /dev/custom-blk; do stat -c '%n %F %t:%T %a %u:%g' $d; done; echo hi > /dev/custom-zero && echo wrote",
    (c: Spec) => {
      c.linux.devices = [
        { type: "c", path: "/dev/custom-null", major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 50 },
        { type: "p", path: "/dev/custom-fifo", fileMode: 0o600, uid: 0, gid: 0 },
        { type: "b", path: "/dev/custom-blk", major: 7, minor: 200, fileMode: 0o660, uid: 0, gid: 6 },
        // Root here has no CAP_DAC_OVERRIDE: to write, the mode must allow it.
        { type: "c", path: "/dev/custom-zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
      ];
    },
  );
  expect(out).toContain("/dev/custom-null character special file 1:3 640 1000:50\n");
  expect(out).toContain("/dev/custom-fifo fifo 0:0 600 0:0\n");
  expect(out).toContain("/dev/custom-blk block special file 7:c8 660 0:6\n");
  expect(out).toContain("wrote\n");
});

conform("create --no-pivot: the container is still confined to its rootfs", async (t) => {
  const b = t.bundle((c) =>
    sh(c, `cat /marker; ls -d ${t.tmp} 2>/dev/null || echo host-tmp-unreachable; ls -d /usr 2>/dev/null || echo host-root-unreachable`),
  );
  fs.writeFileSync(path.join(b.rootfs, "marker"), "in-rootfs\n");
  const id = t.id();
  const cr = await t.create(b, id, ["--no-pivot"]);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expect(fs.readFileSync(cr.outPath, "utf8")).toBe("in-rootfs\nhost-tmp-unreachable\nhost-root-unreachable\n");
});
