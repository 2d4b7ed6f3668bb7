import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { applyIntelRdt, hostResctrl, removeIntelRdt, type ResctrlFs, resctrlRoot, schemataLines } from "./resctrl.ts";

/** resctrl removes a group with its control files in it; a tmpdir needs a recursive rm. */
const fake: ResctrlFs = { ...hostResctrl, rmdir: (p) => rmSync(p, { recursive: true }) };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A tmpdir laid out like /sys/fs/resctrl (files are plain files here; the kernel appends). */
function fakeResctrl(): string {
  const root = mkdtempSync("/tmp/tsrun-resctrl-");
  dirs.push(root);
  writeFileSync(`${root}/schemata`, "");
  writeFileSync(`${root}/tasks`, "");
  return root;
}

test("the resctrl mount is found in mountinfo, or reported missing", () => {
  expect(resctrlRoot("30 22 0:30 / /sys/fs/resctrl rw,relatime - resctrl resctrl rw\n")).toBe("/sys/fs/resctrl");
  expect(resctrlRoot("22 1 8:1 / / rw - ext4 /dev/vda rw\n")).toBeNull();
});

test("a container gets a group of its own with its schemata and its pid in tasks", () => {
  const root = fakeResctrl();
  const p = applyIntelRdt(root, "web", { l3CacheSchema: "L3:0=ff", memBwSchema: "MB:0=50", schemata: ["L2:0=f"] }, 42, fake);
  expect(p).toEqual({ group: `${root}/web`, created: [`${root}/web`] });
  // writeFileSync replaces: the last line is what a plain file keeps; the order is what matters.
  expect(schemataLines({ l3CacheSchema: "L3:0=ff", memBwSchema: "MB:0=50", schemata: ["L2:0=f"] })).toEqual(["L3:0=ff", "MB:0=50", "L2:0=f"]);
  expect(readFileSync(`${root}/web/tasks`, "utf8")).toBe("42");
  removeIntelRdt(p, fake);
  expect(existsSync(`${root}/web`)).toBe(false);
});

test("closID names a shared group that delete leaves in place; \"/\" is the default group", () => {
  const root = fakeResctrl();
  mkdirSync(`${root}/gold`);
  const p = applyIntelRdt(root, "web", { closID: "gold" }, 7);
  expect(p.created).toEqual([]);
  removeIntelRdt(p);
  expect(existsSync(`${root}/gold`)).toBe(true);
  expect(applyIntelRdt(root, "web", { closID: "/" }, 8).group).toBe(root);
  expect(readFileSync(`${root}/tasks`, "utf8")).toBe("8");
});

test("monitoring puts the process in a monitoring group of the container's own", () => {
  const root = fakeResctrl();
  mkdirSync(`${root}/gold/mon_groups`, { recursive: true });
  const p = applyIntelRdt(root, "web", { closID: "gold", enableMonitoring: true }, 9);
  expect(readFileSync(`${root}/gold/mon_groups/web/tasks`, "utf8")).toBe("9");
  expect(p.created).toEqual([`${root}/gold/mon_groups/web`]);
});

test("a write the kernel refuses names the field, and undoes the group", () => {
  const root = fakeResctrl();
  mkdirSync(`${root}/web`);
  mkdirSync(`${root}/web/schemata`); // writing to a directory fails like a rejected line
  expect(() => applyIntelRdt(root, "new", { closID: "web", l3CacheSchema: "L3:0=zz" }, 1)).toThrow(/linux\.intelRdt\.schemata: write/);
  expect(() => applyIntelRdt(root, "fresh", { schemata: ["L3:0=1"] }, 1)).not.toThrow();
});
