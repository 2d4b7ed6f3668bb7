import { expect, test } from "bun:test";
import { checkId } from "./state.ts";

test("container ids follow runc's rules", () => {
  for (const ok of ["a", "web-1", "x.y_z+w", "A".repeat(1024)]) expect(checkId(ok)).toBe(ok);
  expect(() => checkId("")).toThrow("container id cannot be empty");
  for (const bad of ["../x", ".", "..", "a/b", "a b", "A".repeat(1025), "é"]) expect(() => checkId(bad)).toThrow(`invalid container id "${bad}"`);
});

test("each command is allowed in the statuses of the lifecycle", async () => {
  const { canDelete, canExec, canKill, canPause, canResume, canStart } = await import("./state.ts");
  expect(["created", "running", "paused", "stopped"].filter((s) => canStart(s as never))).toEqual(["created"]);
  expect(["created", "running", "paused", "stopped"].filter((s) => canKill(s as never))).toEqual(["created", "running", "paused"]);
  // The spec: deleting a container that is not stopped MUST fail (runc deletes a created one).
  expect(["created", "running", "paused", "stopped"].filter((s) => canDelete(s as never, false))).toEqual(["stopped"]);
  expect(canDelete("running", true)).toBe(true);
  expect(["created", "running", "paused", "stopped"].filter((s) => canPause(s as never))).toEqual(["created", "running"]);
  expect(["created", "running", "paused", "stopped"].filter((s) => canResume(s as never))).toEqual(["paused"]);
  expect(canExec("paused", false)).toBe(false);
  expect(canExec("paused", true)).toBe(true);
  expect(canExec("stopped", true)).toBe(false);
});
