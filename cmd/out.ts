// Output without process.stdout/stderr: their lazy stream setup alone costs ~9 ms of startup
// under Bun (measured), more than a whole `state` should take. Plain write(2)s, in order, and
// without node:fs (see runtime/sys/files.ts).
import { writeAll } from "../runtime/sys/files.ts";

export const out = (text: string) => writeAll(1, text);
export const err = (text: string) => writeAll(2, text);
