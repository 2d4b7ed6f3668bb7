import { expect, test } from "bun:test";
import { describe, SyscallError, wrap } from "./errors.ts";

test("an error chain prints on one line, outermost first", () => {
  const e = wrap('create container "web"', wrap('mount "/data" (bind from "/srv")', new SyscallError("open_tree", 2, "no such file or directory")));
  expect(describe(e)).toBe('create container "web": mount "/data" (bind from "/srv"): ENOENT: no such file or directory');
});

test("a code repeated by the cause is printed once", () => {
  const inner = Object.assign(new Error("ESRCH: no such process, write"), { code: "ESRCH" });
  const e = new Error('add process 9 to cgroup: write "cgroup.procs": ESRCH', { cause: inner });
  expect(describe(e)).toBe('add process 9 to cgroup: write "cgroup.procs": ESRCH: no such process, write');
});
