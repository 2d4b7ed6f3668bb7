// Output without process.stdout/stderr: their lazy stream setup alone costs ~9 ms of startup
// under Bun (measured), more than a whole `state` should take. Plain write(2)s, in order.
import { writeSync } from "node:fs";

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  for (let at = 0; at < buf.byteLength; ) {
    try {
      at += writeSync(fd, buf, at);
    } catch (e) {
      // A caller's non-blocking pipe that is full: wait for it rather than lose output.
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Bun.sleepSync(1);
    }
  }
}

export const out = (text: string) => writeAll(1, text);
export const err = (text: string) => writeAll(2, text);
