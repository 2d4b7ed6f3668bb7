import { expect, test } from "bun:test";
import * as node from "node:path";
import * as ours from "./path.ts";

const PATHS = [
  "", ".", "..", "/", "//", "///", "a", "a/", "a//", "./a", "../a", "a/..", "a/../", "a/../..", "/a", "/a/", "/a//b",
  "/a/./b", "/a/../b", "/..", "/../a", "a/b/c", "a/b/../../..", "//a", "/a/b/c/", "./", "../", ".a", "a.", "/a/b.c",
  "a/b/./c/..", "/a/b/../../../c", "a/b/", "/a/b//", "///a///b///", "a//b", "../../x", "/x/y/z/../../..",
];

test("normalize, dirname, basename and isAbsolute agree with node:path", () => {
  for (const p of PATHS) {
    expect(ours.normalize(p), `normalize(${JSON.stringify(p)})`).toBe(node.posix.normalize(p));
    expect(ours.dirname(p), `dirname(${JSON.stringify(p)})`).toBe(node.posix.dirname(p));
    expect(ours.basename(p), `basename(${JSON.stringify(p)})`).toBe(node.posix.basename(p));
    expect(ours.isAbsolute(p)).toBe(node.posix.isAbsolute(p));
  }
});

test("join, resolve and relative agree with node:path on every pair", () => {
  for (const a of PATHS) {
    for (const b of PATHS) {
      const args = JSON.stringify([a, b]);
      expect(ours.join(a, b), `join${args}`).toBe(node.posix.join(a, b));
      expect(ours.resolve(a, b), `resolve${args}`).toBe(node.posix.resolve(a, b));
      expect(ours.relative(a, b), `relative${args}`).toBe(node.posix.relative(a, b));
    }
  }
  expect(ours.join()).toBe(node.posix.join());
  expect(ours.resolve()).toBe(node.posix.resolve());
  expect(ours.join("a", "", "b", "/c/")).toBe(node.posix.join("a", "", "b", "/c/"));
  expect(ours.resolve("/x", "a", "/y", "b")).toBe(node.posix.resolve("/x", "a", "/y", "b"));
});
