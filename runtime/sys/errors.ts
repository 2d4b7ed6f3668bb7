import { constants } from "node:os";

const names = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!names.has(value)) names.set(value, name);

/** errno → "ENOENT" (or "E<n>" for numbers the table lacks). */
export function errnoName(errno: number): string {
  return names.get(errno) ?? `E${errno}`;
}

/** The bottom of every error chain, shaped like Node's own system errors. */
export class SyscallError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    description: string,
    readonly path?: string,
  ) {
    super(`${errnoName(errno)}: ${description}`);
    this.code = errnoName(errno);
    this.name = "SyscallError";
  }
}

/** Adds context to an error: `what: cause`, as cmd/main.ts prints the chain. */
export function wrap(what: string, cause: unknown): Error {
  return new Error(what, { cause });
}

/** The whole chain on one line: "create container "x": mount "/data": ENOENT: no such file or directory". */
export function describe(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null) {
    if (e instanceof Error) {
      // "write x: EINVAL" caused by "EINVAL: invalid argument" reads once: "write x: EINVAL: invalid argument".
      const code = /^(E[A-Z0-9]+): /.exec(e.message)?.[1];
      if (code && parts.length && parts[parts.length - 1]!.endsWith(`: ${code}`)) parts[parts.length - 1] = parts[parts.length - 1]!.slice(0, -code.length - 2);
      if (e.message) parts.push(e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(": ");
}

export function hasCode(err: unknown, ...codes: string[]): boolean {
  let e: unknown = err;
  while (e instanceof Error) {
    if (codes.includes((e as { code?: string }).code ?? "")) return true;
    e = e.cause;
  }
  return false;
}
