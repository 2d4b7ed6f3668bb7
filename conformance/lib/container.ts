// Helpers shared by the cases that work on a running container (exec, hooks, cgroup commands,
// terminal): start one and wait for it, read /proc the way the container sees it, pass extra
// descriptors, receive a console socket's pty.
import * as fs from "node:fs";
import * as path from "node:path";
import { sh, type Spec } from "./config.ts";
import { waitForText, type Bundle, type Ctx } from "./harness.ts";
import { killQuietly } from "./host.ts";
import { RUNTIME } from "./runtime.ts";

export interface Started {
  b: Bundle;
  id: string;
  /** The file that receives the container's stdout (and stderr: create's error file). */
  out: string;
  err: string;
  /** pid 1 of the container, as the host sees it. */
  pid: number;
}

/** Create and start a container running `script`; wait until it prints `ready` (the marker). */
export async function started(t: Ctx, script: string, edit?: (c: Spec, b: Bundle) => void, ready = "ready"): Promise<Started> {
  const b = t.bundle((c, bb) => {
    sh(c, script);
    edit?.(c, bb);
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await waitForText(cr.outPath, ready);
  const s = await t.state(id);
  if (s.pid === undefined) throw new Error("state of a running container has no pid");
  return { b, id, out: cr.outPath, err: cr.errPath, pid: s.pid };
}

/**
 * A container script that prints "ready" and then idles forever as pid 1. The sleep runs in the
 * background: a shell defers its traps until a foreground command ends, but `wait` is interrupted.
 */
export const IDLE = "echo ready; while :; do sleep 100000 & wait $!; done";

/** Fields of a /proc/<pid>/status text, e.g. procStatus(out).CapEff. */
export function procStatus(text: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) m[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return m;
}

export const CAP = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_ADMIN: 21,
  CAP_AUDIT_WRITE: 29,
} as const;
export type CapName = keyof typeof CAP;

/** The 16-digit hex mask /proc/self/status prints for a set of capabilities. */
export function capMask(...caps: CapName[]): string {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(CAP[c]);
  return m.toString(16).padStart(16, "0");
}

/** Whether capability `cap` is in the hex mask `hex` (as /proc/self/status prints it). */
export function hasCap(hex: string | undefined, cap: CapName): boolean {
  return ((BigInt(`0x${hex ?? "0"}`) >> BigInt(CAP[cap])) & 1n) === 1n;
}

/** Open a file holding `content` for reading (to pass as an extra fd); closed at cleanup. */
export function fileFd(t: Ctx, name: string, content: string): number {
  const p = path.join(t.tmp, name);
  fs.writeFileSync(p, content);
  const fd = fs.openSync(p, "r");
  t.defer(() => fs.closeSync(fd));
  return fd;
}

/**
 * A shell snippet that prints the open descriptors of the shell itself, with builtins only (a
 * forked `ls`, a pipe or a redirection would add descriptors of its own): "fds: 0 1 2".
 */
export const LIST_FDS = 'printf "fds:"; for f in /proc/$$/fd/*; do [ -e "$f" ] && printf " %s" "${f##*/}"; done; echo';

/** "fds: 0 1 10 2" → [0, 1, 2, 10] */
export function fdList(out: string): number[] {
  const line = out.split("\n").find((l) => l.startsWith("fds:")) ?? "";
  return line
    .slice(4)
    .trim()
    .split(/\s+/)
    .filter((x) => x !== "")
    .map(Number)
    .sort((a, b) => a - b);
}

/** The parent pid of `pid` (field 4 of /proc/<pid>/stat), or 0 when it is gone. */
export function ppidOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

/** This process and its ancestors up to (and including) pid 1. */
export function ancestorsOfSelf(): number[] {
  const out: number[] = [];
  for (let p = process.pid; p > 0 && out.length < 64; p = ppidOf(p)) out.push(p);
  return out;
}

/** State letter of /proc/<pid>/status ("R", "S", "D", "T", "Z"), or "" when gone. */
export function procState(pid: number): string {
  try {
    return procStatus(fs.readFileSync(`/proc/${pid}/status`, "utf8")).State?.slice(0, 1) ?? "";
  } catch {
    return "";
  }
}

export interface ConsoleReceiver {
  sock: string;
  /** Where the receiver copies what arrives on the pty master. */
  out: string;
  err: string;
  /** Resolves to the receiver's exit code, or "timeout" after `ms`. */
  done(ms?: number): Promise<number | "timeout">;
}

/** Start lib/console_receiver.py on a fresh socket below the case's temp dir; killed at cleanup. */
/** Starts a python receiver script on `<tmp>/<name>.sock`; returns once it listens. */
async function listening(t: Ctx, script: string, name: string) {
  const sock = path.join(t.tmp, `${name}.sock`);
  const rout = t.openFile(`${name}.out`);
  const rerr = t.openFile(`${name}.err`);
  const receiver = Bun.spawn(["python3", path.join(import.meta.dir, script), sock], { stdio: ["ignore", rout.fd, rerr.fd] });
  t.defer(() => killQuietly(receiver.pid, "SIGKILL"));
  await waitForText(rerr.path, "listening");
  return { sock, receiver, rout, rerr };
}

export async function consoleReceiver(t: Ctx, name = "console"): Promise<ConsoleReceiver> {
  const { sock, receiver, rout, rerr } = await listening(t, "console_receiver.py", name);
  return {
    sock,
    out: rout.path,
    err: rerr.path,
    done: (ms = 10_000) =>
      Promise.race([receiver.exited, Bun.sleep(ms).then(() => "timeout" as const)]),
  };
}

export interface PidfdReceiver {
  sock: string;
  /** What the receiver saw: {pid} of the pidfd it got (-1 once reaped), or {error}. */
  result(ms?: number): Promise<{ pid?: number; error?: string }>;
}

/** A --pidfd-socket receiver (lib/pidfd_receiver.py), listening before this returns. */
export async function pidfdReceiver(t: Ctx, name = "pidfd"): Promise<PidfdReceiver> {
  const { sock, receiver, rout } = await listening(t, "pidfd_receiver.py", name);
  return {
    sock,
    result: async (ms = 10_000) => {
      const done = await Promise.race([receiver.exited, Bun.sleep(ms).then(() => "timeout" as const)]);
      if (done === "timeout") throw new Error(`the pidfd receiver got nothing in ${ms} ms`);
      return JSON.parse(fs.readFileSync(rout.path, "utf8")) as { pid?: number; error?: string };
    },
  };
}

/** Whether the runtime under test has --pidfd-socket (runc has it from 1.2, not 1.1.5). */
export const HAS_PIDFD_SOCKET = Bun.spawnSync([RUNTIME, "create", "--help"], { stdout: "pipe", stderr: "pipe" })
  .stdout.toString()
  .includes("pidfd-socket");
