// Which runtimes the driver scenarios run against, and the table of known gaps.
//
//   DRIVER_RUNTIMES=tsrun,runc   (default) names or paths; "tsrun" is this repo's bin/tsrun
//   DRIVER_STRICT=1              a known gap is an ordinary failing test
//
// Every scenario asserts the same observable result for every runtime. A scenario listed in
// GAPS for a runtime still runs: it passes when it fails with the listed error text (the test
// log shows that text), it fails when it fails differently, and it fails when it passes — then
// the gap is closed and its line below must go.
import { test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";

export const REPO = path.resolve(import.meta.dir, "../../..");
export const STRICT = process.env.DRIVER_STRICT === "1";

export interface Runtime {
  /** Short name for test titles and GAPS: the binary's basename. */
  name: string;
  /** Absolute path; podman and containerd are given exactly this. */
  path: string;
}

function resolveRuntime(spec: string): Runtime {
  let p: string | null;
  if (spec === "tsrun") p = process.env.TSRUN ?? path.join(REPO, "bin", "tsrun");
  else if (spec.includes("/")) p = path.resolve(spec);
  else p = Bun.which(spec);
  if (p === null || !fs.existsSync(p)) throw new Error(`DRIVER_RUNTIMES: runtime ${JSON.stringify(spec)} not found${spec === "tsrun" ? " (run make)" : ""}`);
  return { name: path.basename(p), path: p };
}

export const RUNTIMES: Runtime[] = (process.env.DRIVER_RUNTIMES ?? "tsrun,runc")
  .split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "")
  .map(resolveRuntime);

interface Gap {
  runtime: string;
  /** "<suite> / <scenario title>", exactly. */
  scenario: string;
  because: string;
  /** The error text the scenario fails with while the gap is open. */
  error: RegExp;
}

/** Known tsrun gaps (as of the commit these tests were written against). None left. */
const GAPS: Gap[] = [];

function gapFor(runtime: Runtime, suite: string, title: string): Gap | undefined {
  return GAPS.find((g) => g.runtime === runtime.name && `${suite} / ${title}` === g.scenario);
}

/**
 * Register one scenario for one runtime. `fn` does the work within `budgetMs`; `cleanup` always
 * runs after it (also after a failure, or when `fn` overran its budget) and itself asserts that
 * nothing was left behind. The test's own timeout leaves room for the cleanup: when bun times a
 * test out it kills the processes the test process spawned, containerd included.
 */
export function scenario(
  suite: string,
  runtime: Runtime,
  title: string,
  fn: () => Promise<void>,
  cleanup: () => Promise<void>,
  budgetMs = 60_000,
): void {
  const gap = STRICT ? undefined : gapFor(runtime, suite, title);
  const name = gap === undefined ? title : `${title} [known ${runtime.name} gap: ${gap.because}]`;
  test(
    name,
    async () => {
      let failure: unknown;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const overrun = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario overran its ${budgetMs} ms budget`)), budgetMs);
      });
      try {
        await Promise.race([fn(), overrun]);
      } catch (e) {
        failure = e;
      } finally {
        clearTimeout(timer);
      }
      // Cleanup failures (leftovers) are real failures, gap or not.
      await cleanup();
      if (gap === undefined) {
        if (failure !== undefined) throw failure;
        return;
      }
      if (failure === undefined) {
        throw new Error(`known gap "${gap.because}" no longer reproduces on ${runtime.name}: remove it from tests/drivers/lib/runtimes.ts`);
      }
      // Assertion messages quote command output as JSON strings: match on the plain text.
      const message = (failure instanceof Error ? failure.message : String(failure)).replaceAll('\\"', '"');
      if (!gap.error.test(message)) throw failure;
      console.log(`  known ${runtime.name} gap (${gap.because}): ${message.slice(0, 600)}`);
    },
    budgetMs + 90_000,
  );
}

/**
 * A scenario that gets a fresh session of the suite's driver environment (podman, containerd);
 * its cleanup removes and checks everything the session made. `env` is read when the scenario
 * runs: the suite sets it up in beforeAll.
 */
export function sessionScenario<S extends { cleanup(): Promise<void> }>(
  suite: string,
  env: () => { session(rt: Runtime): S } | undefined,
  rt: Runtime,
  title: string,
  fn: (s: S) => Promise<void>,
  timeoutMs?: number,
): void {
  let session: S | undefined;
  scenario(
    suite,
    rt,
    title,
    async () => {
      const e = env();
      if (e === undefined) throw new Error(`${suite} environment not set up (see beforeAll)`);
      session = e.session(rt);
      await fn(session);
    },
    async () => {
      await session?.cleanup();
    },
    timeoutMs,
  );
}

/** The lines a busybox sh script prints, on any runtime. */
export const lines = (...l: string[]): string => l.join("\n");
