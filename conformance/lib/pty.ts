// The runtime in the foreground on a real pseudo-terminal (lib/pty_driver.py): what a user at a
// terminal sees from `run` with process.terminal, driven by steps that wait on the terminal's data.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Ctx } from "./harness.ts";
import { RUNTIME } from "./runtime.ts";

export type PtyStep =
  | { expect: string }
  | { send: string; expect?: string }
  | { resize: [number, number] }
  | { send: string; expect: string; until: string; tries?: number };

export interface PtyResult {
  /** Exit status of the runtime, or -N when killed by signal N. */
  code: number;
  /** Why the driver gave up, or null. */
  error: string | null;
  /** Everything the runtime wrote to the terminal, "\r\n" turned into "\n". */
  transcript: string;
}

let n = 0;

/** Run `$RUNTIME --root <root> ...args` on a fresh ROWS x COLS pty and drive it with `steps`. */
export async function runOnPty(t: Ctx, args: string[], steps: PtyStep[], size: [number, number] = [24, 80]): Promise<PtyResult> {
  const i = n++;
  const stepsFile = path.join(t.tmp, `pty-${i}.steps.json`);
  const transcript = path.join(t.tmp, `pty-${i}.transcript`);
  fs.writeFileSync(stepsFile, JSON.stringify(steps));
  const out = t.openFile(`pty-${i}.result`);
  const p = Bun.spawn(
    [
      "python3",
      path.join(import.meta.dir, "pty_driver.py"),
      stepsFile,
      transcript,
      String(size[0]),
      String(size[1]),
      "--",
      RUNTIME,
      "--root",
      t.root,
      ...args,
    ],
    { stdio: ["ignore", out.fd, "inherit"], env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } },
  );
  // The driver bounds every wait itself; this is the backstop.
  const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
  await p.exited;
  clearTimeout(timer);
  const text = fs.readFileSync(out.path, "utf8");
  const result = JSON.parse(text.trim() === "" ? '{"code": -9, "error": "driver died"}' : text) as Omit<PtyResult, "transcript">;
  const raw = fs.existsSync(transcript) ? fs.readFileSync(transcript, "utf8") : "";
  return { ...result, transcript: raw.replaceAll("\r\n", "\n") };
}
