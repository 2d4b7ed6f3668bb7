// One Ctx per case: its own --root, temp dir, bundles, container ids and cgroup parent, all
// removed afterwards whether the case passed or not.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { withDeadline } from "./deadline.ts";
import { baseConfig, sh, type Spec } from "./config.ts";
import { cgroupDirsOf, leftoverProcesses, mountsUnder, removeCgroupTree, unmountUnder } from "./host.ts";
import { knownDeviation } from "./known.ts";
import { execRuntime, explain, RUNTIME, RUNTIME_VERSION, type ExecOptions, type Result } from "./runtime.ts";
import { copyRootfs } from "./rootfs.ts";

export { explain, RUNTIME, RUNTIME_VERSION, type Result };

if (process.getuid?.() !== 0) throw new Error("the conformance suite needs root");

export interface State {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Spec;
  /** The cgroupsPath the bundle's config asks for. */
  cgroupsPath: string;
}

export type RtOptions = Omit<ExecOptions, "ioDir">;

const rand = (): string => randomBytes(4).toString("hex");

export class Ctx {
  /** Everything of this case lives below here (mode 0755: user-namespaced ids must traverse it). */
  readonly tmp: string;
  /** The runtime's --root; deliberately not created beforehand. */
  readonly root: string;
  /** Unique cgroup parent for this case's containers; removed at the end. */
  readonly cgParent: string;
  private readonly ioDir: string;
  private readonly ids: string[] = [];
  private readonly cleanups: (() => unknown)[] = [];
  private bundles = 0;

  constructor() {
    this.tmp = fs.mkdtempSync("/tmp/tsrun-conformance-");
    fs.chmodSync(this.tmp, 0o755);
    this.root = path.join(this.tmp, "state");
    this.ioDir = path.join(this.tmp, "io");
    fs.mkdirSync(this.ioDir);
    this.cgParent = `/tsrun-conformance-${rand()}`;
  }

  /** A fresh container id, deleted (--force) at cleanup. */
  id(prefix = "c"): string {
    const id = `${prefix}-${rand()}`;
    this.ids.push(id);
    return id;
  }

  /** Register an id the case made up itself, so cleanup deletes it too. */
  track(id: string): string {
    this.ids.push(id);
    return id;
  }

  /** Run `fn` at cleanup (last registered runs first). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  /** A fresh directory below tmp. */
  dir(name: string): string {
    const d = path.join(this.tmp, name);
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    return d;
  }

  /** A new file below tmp opened for writing; closed at cleanup. */
  openFile(name: string): { path: string; fd: number } {
    const p = path.join(this.tmp, name);
    const fd = fs.openSync(p, "w+");
    this.defer(() => fs.closeSync(fd));
    return { path: p, fd };
  }

  /** A bundle with a copy of the busybox rootfs and the base config, edited by `edit`. */
  bundle(edit?: (c: Spec, b: Bundle) => void, opts: { rootfs?: boolean } = {}): Bundle {
    const dir = this.dir(`bundle-${this.bundles++}`);
    const rootfs = path.join(dir, "rootfs");
    if (opts.rootfs !== false) copyRootfs(rootfs);
    const config = baseConfig();
    const cgroupsPath = `${this.cgParent}/${path.basename(dir)}`;
    config.linux.cgroupsPath = cgroupsPath;
    const b: Bundle = { dir, rootfs, config, cgroupsPath };
    edit?.(config, b);
    b.cgroupsPath = config.linux.cgroupsPath ?? "";
    this.writeConfig(b);
    return b;
  }

  writeConfig(b: Bundle): void {
    fs.writeFileSync(path.join(b.dir, "config.json"), JSON.stringify(b.config, null, 2));
  }

  /** `$RUNTIME --root <root> ...args`. */
  rt(args: string[], o: RtOptions = {}): Promise<Result> {
    return execRuntime(["--root", this.root, ...args], { ...o, ioDir: this.ioDir });
  }

  /** `$RUNTIME ...args` without --root. */
  rtBare(args: string[], o: RtOptions = {}): Promise<Result> {
    return execRuntime(args, { ...o, ioDir: this.ioDir });
  }

  /** Like rt, but fail unless the command exits 0. */
  async ok(args: string[], o: RtOptions = {}): Promise<Result> {
    const r = await this.rt(args, o);
    if (r.code !== 0) throw new Error(`${args.join(" ")} failed: ${explain(r)}`);
    return r;
  }

  /** `create` a container from `b`; its stdout/stderr go to the result's outPath/errPath. */
  async create(b: Bundle, id: string, extra: string[] = [], o: RtOptions = {}): Promise<Result> {
    return this.ok(["create", "--bundle", b.dir, ...extra, id], o);
  }

  /** Run `cmd` (busybox sh -c) in the foreground in a fresh container from a bundle made by `edit`. */
  async run(cmd: string, edit?: (c: Spec, b: Bundle) => void, o: RtOptions = {}): Promise<Result> {
    const b = this.bundle((c, bb) => {
      sh(c, cmd);
      edit?.(c, bb);
    });
    return this.rt(["run", "--bundle", b.dir, this.id()], o);
  }

  /** Like run, but fail unless the container exits 0; returns its stdout. */
  async runOk(cmd: string, edit?: (c: Spec, b: Bundle) => void, o: RtOptions = {}): Promise<string> {
    const r = await this.run(cmd, edit, o);
    if (r.code !== 0) throw new Error(`container "${cmd}" failed: ${explain(r)}`);
    return r.stdout;
  }

  async state(id: string): Promise<State> {
    const r = await this.ok(["state", id]);
    return JSON.parse(r.stdout) as State;
  }

  /** Bounded poll of `state` until the container reaches `status`. */
  async waitStatus(id: string, status: string, ms = 10_000): Promise<State> {
    let last: State | undefined;
    await waitFor(
      async () => {
        last = await this.state(id);
        return last.status === status;
      },
      ms,
      () => `container ${id} to be ${status} (last: ${last?.status})`,
    );
    if (last === undefined) throw new Error("unreachable");
    return last;
  }

  /**
   * Assert that nothing of container `id` is left on the host: no state under --root, no cgroup
   * for `b`, no mount below our temp dir. (Processes: see `leftovers`.)
   */
  assertNothingLeft(id: string | null, b?: Bundle): void {
    const entries = fs.existsSync(this.root) ? fs.readdirSync(this.root) : [];
    if (id !== null) expect(entries.filter((e) => e.includes(id))).toEqual([]);
    if (b !== undefined && b.cgroupsPath !== "") expect(cgroupDirsOf(b.cgroupsPath)).toEqual([]);
    expect(mountsUnder(this.tmp)).toEqual([]);
  }

  /** Run the runtime and report the processes it left behind (see host.leftoverProcesses). */
  async rtLeftovers(args: string[], o: RtOptions = {}): Promise<{ r: Result; left: string[] }> {
    let r: Result | undefined;
    const left = await leftoverProcesses(async () => {
      r = await this.rt(args, o);
    });
    if (r === undefined) throw new Error("unreachable");
    return { r, left };
  }

  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => unknown): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const fn of this.cleanups.reverse()) await attempt("deferred cleanup", fn);
    for (const id of this.ids) {
      if (fs.existsSync(this.root)) await attempt(`delete ${id}`, () => this.rt(["delete", "--force", id]));
    }
    // The backstop for anything the runtime left: kill what is in our cgroups, then remove them.
    await attempt("remove cgroups", () => removeCgroupTree(this.cgParent));
    await attempt("unmount", () => unmountUnder(this.tmp));
    await attempt("remove temp dir", () => fs.rmSync(this.tmp, { recursive: true, force: true }));
    if (errors.length > 0) throw new Error(`cleanup failed:\n${errors.join("\n")}`);
  }
}

/**
 * A container script: trap each signal in `signals` (print "got-<SIG>" and exit 0), print
 * "ready", then wait forever (pid 1 ignores signals it has no handler for, so the trap matters).
 */
export function trapper(signals: string[] = ["TERM"]): string {
  const traps = signals.map((s) => `trap 'echo got-${s}; exit 0' ${s}`).join("; ");
  return `${traps}; echo ready; sleep 100000 & wait`;
}

export function readText(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/** Bounded poll: resolve when `pred` holds, fail after `ms` with what was awaited. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  ms: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await Bun.sleep(10);
  }
}

/** Wait until `file` contains `text` (a container writes it when it reaches a point). */
export async function waitForText(file: string, text: string, ms = 10_000): Promise<string> {
  let content = "";
  await waitFor(
    () => {
      content = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      return content.includes(text);
    },
    ms,
    () => `${JSON.stringify(text)} in ${file} (have ${JSON.stringify(content)})`,
  );
  return content;
}

/** Wait until `text` occurs at least `n` times in `file`. */
export async function waitForCount(file: string, text: string, n: number, ms = 10_000): Promise<string> {
  let content = "";
  await waitFor(
    () => {
      content = readText(file);
      return content.split(text).length - 1 >= n;
    },
    ms,
    () => `${n}× ${JSON.stringify(text)} in ${file} (have ${JSON.stringify(content)})`,
  );
  return content;
}

/**
 * Register a conformance case. It gets a fresh Ctx that is cleaned up afterwards, and is skipped,
 * with the reason in its name, where the runtime under test has a known deviation for it.
 */
export function conform(name: string, fn: (t: Ctx) => Promise<void>, timeoutMs = 45_000): void {
  const known = knownDeviation(name, RUNTIME, RUNTIME_VERSION);
  if (known !== undefined) {
    test.skip(`${name} [skipped: ${known}]`, () => {});
    return;
  }
  test(
    name,
    async () => {
      const t = new Ctx();
      await withDeadline(() => fn(t), () => t.cleanup(), timeoutMs);
    },
    timeoutMs + 30_000,
  );
}

/** Assert a failed command: non-zero exit and an error on stderr matching `re`. */
export function expectFailure(r: Result, re?: RegExp): void {
  expect(r.code, explain(r)).not.toBe(0);
  const msg = r.stderr.trim();
  expect(msg.length, `no error message on stderr: ${explain(r)}`).toBeGreaterThan(0);
  // A message, not a dump: no stack trace, and short. (Warnings do not count: runc may add a
  // line per cgroup hierarchy about retrying the removal of a cgroup still in use.)
  expect(msg, explain(r)).not.toMatch(/goroutine \d+|^panic:|^\s+at .+:\d+/m);
  const errorLines = msg.split("\n").filter((l) => !/warn/i.test(l));
  expect(errorLines.length, explain(r)).toBeLessThanOrEqual(5);
  if (re !== undefined) expect(r.stderr, explain(r)).toMatch(re);
}
