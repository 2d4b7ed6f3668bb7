// The security suite's harness: the runtime under test (TSRUN), one context per case with its own
// --root, temp dir, bundles, container ids and cgroup parent, and a cleanup that removes all of
// it whether the case passed or not. Built on the conformance suite's config (a runc-compatible
// config.json) but driving TSRUN, so a weakened build can be put under test.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseConfig, type Spec } from "../../../conformance/lib/config.ts";
import { withDeadline } from "../../../conformance/lib/deadline.ts";
import { removeCgroupTree as removeTree } from "../../../conformance/lib/host.ts";

export { baseConfig, setNamespace, sh, type Spec } from "../../../conformance/lib/config.ts";

export const REPO = path.resolve(import.meta.dir, "../../..");
/** The runtime under test: $TSRUN (a path), default this repo's bin/tsrun. */
export const TSRUN = path.resolve(process.env.TSRUN ?? path.join(REPO, "bin", "tsrun"));
/** runc, for the comparisons; null when not installed. */
export const RUNC = Bun.which("runc");

if (process.getuid?.() !== 0) throw new Error("tests/security needs root");
if (!fs.existsSync(TSRUN)) throw new Error(`TSRUN=${TSRUN}: not found (run make)`);

export const rand = (): string => randomBytes(4).toString("hex");

// ---------------------------------------------------------------------------------------------
// caches shared by the cases of one test file: the busybox rootfs and the compiled C programs.
// Each file removes them in afterAll (removeCaches); they are rebuilt on demand afterwards.

let cacheDir: string | undefined;

function cache(): string {
  if (cacheDir === undefined) {
    cacheDir = fs.mkdtempSync("/tmp/tsrun-sec-cache-");
    fs.chmodSync(cacheDir, 0o755);
  }
  return cacheDir;
}

export function removeCaches(): void {
  if (cacheDir !== undefined) fs.rmSync(cacheDir, { recursive: true, force: true });
  cacheDir = undefined;
}

function spawnOk(argv: string[], what = argv.join(" ")): string {
  const r = Bun.spawnSync(argv, { stdio: ["ignore", "pipe", "pipe"] });
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout.toString();
}

/** The busybox rootfs (scripts/busybox-rootfs.sh), built once per file. */
export function baseRootfs(): string {
  const dir = path.join(cache(), "rootfs");
  if (!fs.existsSync(path.join(dir, "bin", "sh"))) spawnOk([path.join(REPO, "scripts", "busybox-rootfs.sh"), dir]);
  return dir;
}

/** tests/security/c/<name>.c compiled static (gcc), once per file; returns the binary's path. */
export function cprog(name: string, extra: string[] = []): string {
  const out = path.join(cache(), `${name}${extra.length ? `-${Bun.hash(extra.join(" ")).toString(16)}` : ""}`);
  if (!fs.existsSync(out)) {
    const src = path.join(import.meta.dir, "..", "c", `${name}.c`);
    spawnOk(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", ...extra, "-o", out, src]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// running commands: output to files (a container started by a command may keep writing to them)

export interface Result {
  argv: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  outPath: string;
  errPath: string;
}

export interface RunOptions {
  /** stdin fd; /dev/null when absent. */
  stdin?: number;
  /** fds 3, 4, … of the child. */
  extraFds?: number[];
  env?: Record<string, string>;
  timeoutMs?: number;
  cwd?: string;
}

export function explain(r: Result): string {
  const clip = (s: string): string => JSON.stringify(s.length > 3000 ? `${s.slice(0, 3000)}…` : s);
  return `\`${r.argv.join(" ")}\` → exit ${r.code}; stdout: ${clip(r.stdout)}; stderr: ${clip(r.stderr)}`;
}

let ioCounter = 0;

export async function run(argv: string[], ioDir: string, o: RunOptions = {}): Promise<Result> {
  const n = ioCounter++;
  const outPath = path.join(ioDir, `${n}.out`);
  const errPath = path.join(ioDir, `${n}.err`);
  const outFd = fs.openSync(outPath, "w+");
  const errFd = fs.openSync(errPath, "w+");
  try {
    const p = Bun.spawn(argv, {
      stdio: [o.stdin ?? "ignore", outFd, errFd, ...(o.extraFds ?? [])],
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...o.env },
      cwd: o.cwd ?? ioDir,
    });
    const timeoutMs = o.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    await p.exited;
    clearTimeout(timer);
    const r: Result = {
      argv,
      code: p.exitCode,
      stdout: fs.readFileSync(outPath, "utf8"),
      stderr: fs.readFileSync(errPath, "utf8"),
      outPath,
      errPath,
    };
    if (timedOut) throw new Error(`timed out after ${timeoutMs} ms: ${explain(r)}`);
    return r;
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
  }
}

export function expectOk(r: Result): Result {
  expect(r.code, explain(r)).toBe(0);
  return r;
}

/** Bounded poll: resolves when `pred` holds, throws after `ms` naming what it waited for. */
export async function waitFor(pred: () => boolean | Promise<boolean>, ms: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await Bun.sleep(5);
  }
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export async function waitForText(file: string, text: string | RegExp, ms = 15_000): Promise<string> {
  let content = "";
  await waitFor(
    () => {
      content = readText(file);
      return typeof text === "string" ? content.includes(text) : text.test(content);
    },
    ms,
    () => `${String(text)} in ${file} (have ${JSON.stringify(content.slice(-2000))})`,
  );
  return content;
}

/** key=value fields of one probe line. */
export function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.trim().split(/\s+/)) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** The lines of `text` that start with `prefix`, as key=value records. */
export function records(text: string, prefix = ""): Record<string, string>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(prefix) && l.includes("="))
    .map(fields);
}

// ---------------------------------------------------------------------------------------------
// the host

export interface MountInfo {
  id: number;
  mountPoint: string;
  root: string;
  options: string;
  fsType: string;
  source: string;
}

export function parseMountInfo(text: string): MountInfo[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return text
    .split("\n")
    .filter((l) => l.includes(" - "))
    .map((line) => {
      const [pre = "", post = ""] = line.split(" - ");
      const f = pre.split(" ");
      const g = post.split(" ");
      return { id: Number(f[0]), root: unescape(f[3] ?? ""), mountPoint: unescape(f[4] ?? ""), options: f[5] ?? "", fsType: g[0] ?? "", source: g[1] ?? "" };
    });
}

export function hostMounts(): MountInfo[] {
  return parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"));
}

export function mountsUnder(dir: string): string[] {
  return hostMounts()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

export function unmountUnder(dir: string): void {
  for (let round = 0; round < 16; round++) {
    const points = mountsUnder(dir).sort((a, b) => b.length - a.length);
    if (points.length === 0) return;
    for (const p of points) Bun.spawnSync(["umount", "-l", p]);
  }
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`could not unmount ${left.join(", ")}`);
}

/** Every file and directory below `dir` (relative paths, sorted); [] when it does not exist. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, "");
  return out.sort();
}

export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export function killQuietly(pid: number, sig: NodeJS.Signals | number = "SIGKILL"): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const CGROUP_ROOT = "/sys/fs/cgroup";

function cgroupHierarchies(): string[] {
  return hostMounts()
    .filter((m) => (m.fsType === "cgroup" || m.fsType === "cgroup2") && m.mountPoint.startsWith(CGROUP_ROOT))
    .map((m) => m.mountPoint);
}

export function cgroupDirsOf(rel: string): string[] {
  return cgroupHierarchies()
    .map((h) => path.join(h, rel))
    .filter((d) => fs.existsSync(d));
}

/** Remove cgroup `rel` (one this suite named, /tsrun-sec-…) in every hierarchy, killing stragglers. */
export const removeCgroupTree = (rel: string): Promise<void> => removeTree(rel, "/tsrun-sec-");

/** Every capability this host's kernel knows, as runtime-spec names (for the strongest attacker). */
export function allCaps(): string[] {
  const names = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
    "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
  ];
  // Only what this (root) process holds can be granted: root here lacks CAP_SYS_RESOURCE.
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0"}`);
  return names.filter((_, i) => ((bnd >> BigInt(i)) & 1n) === 1n).map((n) => `CAP_${n}`);
}

// ---------------------------------------------------------------------------------------------
// one case

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Spec;
}

export class Sec {
  /** Everything of this case lives below here (0755: user-namespaced ids must traverse it). */
  readonly tmp: string;
  /** The runtime's --root. */
  readonly root: string;
  readonly io: string;
  readonly cgParent = `/tsrun-sec-${rand()}`;
  private readonly ids: { runtime: string; root: string; id: string }[] = [];
  private readonly cleanups: (() => unknown)[] = [];
  private readonly pids: number[] = [];
  private bundles = 0;

  constructor(readonly runtime: string = TSRUN) {
    this.tmp = fs.mkdtempSync("/tmp/tsrun-sec-");
    fs.chmodSync(this.tmp, 0o755);
    this.root = path.join(this.tmp, "state");
    this.io = path.join(this.tmp, "io");
    fs.mkdirSync(this.io);
  }

  /** A fresh container id, deleted with `delete --force` (by `runtime`, default the case's) at cleanup. */
  id(prefix = "c", runtime = this.runtime, root = this.root): string {
    const id = `${prefix}-${rand()}`;
    this.ids.push({ runtime, root, id });
    return id;
  }

  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** A process this case started: SIGKILLed at cleanup if still alive. */
  own(pid: number): number {
    this.pids.push(pid);
    return pid;
  }

  dir(name: string, mode = 0o755): string {
    const d = path.join(this.tmp, name);
    fs.mkdirSync(d, { recursive: true, mode });
    fs.chmodSync(d, mode);
    return d;
  }

  /** A bundle: a copy of the busybox rootfs (plus `programs`, copied to its /) and the base config. */
  bundle(edit?: (c: Spec, b: Bundle) => void, o: { programs?: string[]; rootfs?: boolean } = {}): Bundle {
    const dir = this.dir(`bundle-${this.bundles++}`);
    const rootfs = path.join(dir, "rootfs");
    if (o.rootfs !== false) {
      spawnOk(["cp", "-a", baseRootfs(), rootfs]);
      for (const p of o.programs ?? []) {
        fs.copyFileSync(cprog(p), path.join(rootfs, p));
        fs.chmodSync(path.join(rootfs, p), 0o755);
      }
    }
    const config = baseConfig();
    config.ociVersion = "1.0.2";
    config.linux.cgroupsPath = `${this.cgParent}/${path.basename(dir)}`;
    const b: Bundle = { dir, rootfs, config };
    edit?.(config, b);
    this.writeConfig(b);
    return b;
  }

  writeConfig(b: Bundle): void {
    fs.writeFileSync(path.join(b.dir, "config.json"), JSON.stringify(b.config, null, 2));
  }

  /** `$runtime --root <root> args…` */
  rt(args: string[], o: RunOptions & { runtime?: string; root?: string } = {}): Promise<Result> {
    return run([o.runtime ?? this.runtime, "--root", o.root ?? this.root, ...args], this.io, o);
  }

  async ok(args: string[], o: RunOptions & { runtime?: string; root?: string } = {}): Promise<Result> {
    return expectOk(await this.rt(args, o));
  }

  async state(id: string, o: { runtime?: string; root?: string } = {}): Promise<{ status: string; pid?: number }> {
    return JSON.parse((await this.ok(["state", id], o)).stdout) as { status: string; pid?: number };
  }

  /** create (and start) `b` as `id`; returns the host pid of its process. */
  async up(b: Bundle, id: string, o: RunOptions & { start?: boolean; runtime?: string; root?: string } = {}): Promise<{ pid: number; create: Result }> {
    const create = await this.ok(["create", "--bundle", b.dir, id], o);
    if (o.start !== false) await this.ok(["start", id], { runtime: o.runtime, root: o.root });
    const s = await this.state(id, o);
    if (!s.pid) throw new Error(`state of ${id} has no pid`);
    return { pid: s.pid, create };
  }

  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const fn of this.cleanups.reverse()) await attempt("deferred cleanup", fn);
    for (const c of this.ids.reverse()) {
      if (fs.existsSync(c.root)) await attempt(`delete ${c.id}`, () => run([c.runtime, "--root", c.root, "delete", "--force", c.id], this.io));
    }
    for (const pid of this.pids) killQuietly(pid);
    await attempt("remove cgroups", () => removeCgroupTree(this.cgParent));
    await attempt("unmount", () => unmountUnder(this.tmp));
    await attempt("remove temp dir", () => fs.rmSync(this.tmp, { recursive: true, force: true }));
    if (errors.length) throw new Error(`cleanup failed:\n${errors.join("\n")}`);
  }
}

async function withSec(fn: (t: Sec) => Promise<void>, timeoutMs: number): Promise<void> {
  const t = new Sec();
  await withDeadline(() => fn(t), () => t.cleanup(), timeoutMs);
}

/** One case: a fresh Sec, always cleaned up. */
export function secCase(name: string, fn: (t: Sec) => Promise<void>, timeoutMs = 60_000): void {
  test(name, () => withSec(fn, timeoutMs), timeoutMs + 30_000);
}

/** The other end of --console-socket (the conformance suite's receiver), killed at cleanup. */
export async function consoleReceiver(t: Sec, name = "console"): Promise<{ sock: string; out: string }> {
  const sock = path.join(t.tmp, `${name}.sock`);
  const out = path.join(t.tmp, `${name}.out`);
  const err = path.join(t.tmp, `${name}.err`);
  const [o, e] = [fs.openSync(out, "w+"), fs.openSync(err, "w+")];
  const p = Bun.spawn(["python3", path.join(REPO, "conformance", "lib", "console_receiver.py"), sock], { stdio: ["ignore", o, e] });
  fs.closeSync(o);
  fs.closeSync(e);
  t.own(p.pid);
  await waitForText(err, "listening");
  return { sock, out };
}
