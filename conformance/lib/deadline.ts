// A case under its own deadline, shorter than bun's, so that a hung case still gets its cleanup
// (which kills the container processes and with them whatever the case was waiting on). Shared
// by the conformance and security suites.

/** Runs fn, then always cleanup; throws fn's failure (a cleanup failure appended), else cleanup's. */
export async function withDeadline(fn: () => Promise<void>, cleanup: () => Promise<void>, timeoutMs: number): Promise<void> {
  let failure: unknown;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`case timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), deadline]);
  } catch (e) {
    failure = e;
  } finally {
    clearTimeout(timer);
  }
  try {
    await cleanup();
  } catch (e) {
    if (failure === undefined) failure = e;
    else (failure as Error).message += `\n(and ${(e as Error).message})`;
  }
  if (failure !== undefined) throw failure;
}
