// TSRUN_TRACE=1: milliseconds since the process started, at named points, on stderr of the
// host-side command (never from inside a container). For measuring, not for users.
import { writeAll } from "./files.ts";

export const trace: (point: string) => void = process.env.TSRUN_TRACE
  ? (point) => writeAll(2, `tsrun trace: ${performance.now().toFixed(1)} ms ${point}\n`)
  : () => {};
