// Running the driver tools (podman, ctr, ...) and asserting on what they did. stdout and stderr
// go to files, never pipes: conmon and the containerd shims daemonize and may keep an inherited
// descriptor open long after the command returned, and a pipe would keep us waiting for EOF.
import * as fs from "node:fs";
import * as path from "node:path";

/** tests/drivers/lib/pty.py: runs a command on a fresh pty, for the -t scenarios. */
export const PTY = path.join(import.meta.dir, "pty.py");

/** `argv` run on a 40x100 pty when `tty`. */
export function onPty(argv: string[], tty: boolean | undefined): string[] {
  return tty === true ? ["python3", PTY, "40", "100", "--", ...argv] : argv;
}

export interface Result {
  argv: string[];
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** Directory for the stdout/stderr files (removed with it). */
  ioDir: string;
  /** Text for stdin; /dev/null when absent. */
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** No single podman/ctr call of a scenario may take longer (then it is killed and the scenario fails). */
export const COMMAND_TIMEOUT_MS = 20_000;

let counter = 0;

export async function run(argv: string[], o: RunOptions): Promise<Result> {
  const n = counter++;
  const outPath = path.join(o.ioDir, `cmd-${n}.out`);
  const errPath = path.join(o.ioDir, `cmd-${n}.err`);
  const outFd = fs.openSync(outPath, "w+");
  const errFd = fs.openSync(errPath, "w+");
  let inFd: number | undefined;
  if (o.input !== undefined) {
    const inPath = path.join(o.ioDir, `cmd-${n}.in`);
    fs.writeFileSync(inPath, o.input);
    inFd = fs.openSync(inPath, "r");
  }
  const start = performance.now();
  try {
    const p = Bun.spawn(argv, {
      stdio: [inFd ?? "ignore", outFd, errFd],
      env: { ...process.env, ...o.env },
      cwd: o.ioDir,
    });
    const timeoutMs = o.timeoutMs ?? COMMAND_TIMEOUT_MS;
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
      ms: performance.now() - start,
    };
    if (timedOut) throw new Error(`timed out after ${timeoutMs} ms: ${explain(r)}`);
    return r;
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    if (inFd !== undefined) fs.closeSync(inFd);
  }
}

/** The command, its status and output: what an assertion message needs (it carries the runtime's error text). */
export function explain(r: Result): string {
  const clip = (s: string): string => JSON.stringify(s.length > 1500 ? s.slice(0, 1500) + "…" : s);
  return `\`${r.argv.join(" ")}\` → exit ${r.code ?? "signal"}; stdout: ${clip(r.stdout)}; stderr: ${clip(r.stderr)}`;
}

/** Line ends from a pty (\r\n, or \r\r\n through two of them) turned into \n, blanks trimmed. */
export function text(s: string): string {
  return s.replace(/\r+\n/g, "\n").trim();
}

export class CheckError extends Error {
  override name = "CheckError";
}

/** Fail with the command's whole story unless `ok`. */
export function check(ok: boolean, what: string, r?: Result): void {
  if (!ok) throw new CheckError(r === undefined ? what : `${what}: ${explain(r)}`);
}

export function expectCode(r: Result, code: number): Result {
  check(r.code === code, `expected exit ${code}`, r);
  return r;
}

/** Exit 0 and stdout (trimmed, pty line ends normalised) equal to `stdout` when given. */
export function expectOk(r: Result, stdout?: string): Result {
  expectCode(r, 0);
  if (stdout !== undefined) check(text(r.stdout) === stdout, `expected stdout ${JSON.stringify(stdout)}`, r);
  return r;
}

export function expectFail(r: Result, stderrPattern?: RegExp): Result {
  check(r.code !== 0, "expected a failure", r);
  if (stderrPattern !== undefined) check(stderrPattern.test(r.stderr), `expected stderr to match ${stderrPattern}`, r);
  return r;
}

/** Poll `probe` until it returns true (bounded); no sleeps as synchronisation. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new CheckError(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}
