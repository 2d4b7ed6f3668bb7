import { expect, test } from "bun:test";
import { checkId } from "./state.ts";

test("container ids follow runc's rules", () => {
  for (const ok of ["a", "web-1", "x.y_z+w", "A".repeat(1024)]) expect(checkId(ok)).toBe(ok);
  expect(() => checkId("")).toThrow("container id cannot be empty");
  for (const bad of ["../x", ".", "..", "a/b", "a b", "A".repeat(1025), "é"]) expect(() => checkId(bad)).toThrow(`invalid container id "${bad}"`);
});
