import { afterEach, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { AT_FDCWD, O_CLOEXEC, O_DIRECTORY, O_RDONLY } from "../sys/constants.ts";
import { LinuxSys } from "../sys/linux.ts";
import { copyTree } from "./copyup.ts";

const sys = new LinuxSys();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("tmpcopyup copies files, directories and symlinks with their modes, and follows no link", () => {
  const src = mkdtempSync("/tmp/tsrun-copyup-src-");
  const dst = mkdtempSync("/tmp/tsrun-copyup-dst-");
  dirs.push(src, dst);
  mkdirSync(`${src}/sub/deeper`, { recursive: true });
  writeFileSync(`${src}/sub/deeper/file`, "hello");
  chmodSync(`${src}/sub/deeper/file`, 0o4751);
  chmodSync(`${src}/sub`, 0o710);
  // A link that would lead out of the tree if it were followed.
  symlinkSync("../../../../etc", `${src}/sub/escape`);
  const from = sys.openat(AT_FDCWD, src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const to = sys.openat(AT_FDCWD, dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  try {
    copyTree(sys, from, to);
  } finally {
    sys.close(from);
    sys.close(to);
  }
  expect(readFileSync(`${dst}/sub/deeper/file`, "utf8")).toBe("hello");
  expect(lstatSync(`${dst}/sub/deeper/file`).mode & 0o7777).toBe(0o4751);
  expect(lstatSync(`${dst}/sub`).mode & 0o7777).toBe(0o710);
  expect(lstatSync(`${dst}/sub/escape`).isSymbolicLink()).toBe(true);
  expect(readlinkSync(`${dst}/sub/escape`)).toBe("../../../../etc");
});
