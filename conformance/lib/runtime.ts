// The runtime under test, driven strictly through its command line (runc's).
import * as fs from "node:fs";
import * as path from "node:path";

function resolve(bin: string): string {
  if (bin.includes("/")) return path.resolve(bin);
  const found = Bun.which(bin);
  if (found === null) throw new Error(`RUNTIME=${bin}: not found in PATH`);
  return found;
}

/** Absolute path of the runtime binary: $RUNTIME, default `runc`. */
export const RUNTIME = resolve(process.env.RUNTIME ?? "runc");
/** First line of `$RUNTIME --version`, e.g. "runc version 1.1.5+ds1". */
export const RUNTIME_VERSION = (() => {
  const r = Bun.spawnSync([RUNTIME, "--version"]);
  return (r.stdout.toString().split("\n")[0] ?? "").trim();
})();

export interface Result {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Files that held stdout/stderr; a container started by `create` keeps writing to them. */
  outPath: string;
  errPath: string;
  /** How long the command took, in milliseconds. */
  ms: number;
}

export interface ExecOptions {
  /** Directory for the stdout/stderr files. */
  ioDir: string;
  /** stdin: a file descriptor, or /dev/null when absent. */
  stdin?: number;
  /** Use these descriptors instead of fresh files (then stdout/stderr in the result are ""). */
  stdout?: number;
  stderr?: number;
  /** Descriptors that become fds 3, 4, ... of the runtime process. */
  extraFds?: number[];
  env?: Record<string, string>;
  /** argv prefix, e.g. a wrapper that changes fd flags before exec'ing the runtime. */
  wrap?: string[];
  cwd?: string;
  timeoutMs?: number;
  /** Called with the runtime's pid right after it is spawned (to signal it, say). */
  onSpawn?: (pid: number) => void;
}

let ioCounter = 0;

/**
 * Run `$RUNTIME ...args` to completion. stdout and stderr go to files, never pipes: a container
 * created by the command inherits them and may outlive it, and a pipe would keep us waiting.
 */
export async function execRuntime(args: string[], o: ExecOptions): Promise<Result> {
  const n = ioCounter++;
  const outPath = path.join(o.ioDir, `${n}.out`);
  const errPath = path.join(o.ioDir, `${n}.err`);
  const opened: number[] = [];
  const outFd = o.stdout ?? fs.openSync(outPath, "w+");
  if (o.stdout === undefined) opened.push(outFd);
  const errFd = o.stderr ?? fs.openSync(errPath, "w+");
  if (o.stderr === undefined) opened.push(errFd);
  const start = performance.now();
  const argv = [...(o.wrap ?? []), RUNTIME, ...args];
  try {
    const p = Bun.spawn(argv, {
      stdio: [o.stdin ?? "ignore", outFd, errFd, ...(o.extraFds ?? [])],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...o.env },
      cwd: o.cwd ?? o.ioDir,
    });
    o.onSpawn?.(p.pid);
    const timeoutMs = o.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    await p.exited;
    clearTimeout(timer);
    if (timedOut) throw new Error(`timed out after ${timeoutMs} ms: ${argv.join(" ")}`);
    const read = (file: string, own: boolean): string => (own ? fs.readFileSync(file, "utf8") : "");
    return {
      code: p.exitCode,
      signal: p.signalCode === null ? null : String(p.signalCode),
      stdout: read(outPath, o.stdout === undefined),
      stderr: read(errPath, o.stderr === undefined),
      outPath,
      errPath,
      ms: performance.now() - start,
    };
  } finally {
    for (const fd of opened) fs.closeSync(fd);
  }
}

/** A short description of a result for assertion messages. */
export function explain(r: Result): string {
  return `exit ${r.code ?? r.signal}; stdout: ${JSON.stringify(r.stdout.slice(0, 2000))}; stderr: ${JSON.stringify(r.stderr.slice(0, 2000))}`;
}
