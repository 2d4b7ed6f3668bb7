import { describe, expect, test } from "bun:test";
import {
  MOUNT_ATTR__ATIME,
  MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_NODEV,
  MOUNT_ATTR_NOEXEC,
  MOUNT_ATTR_NOSUID,
  MOUNT_ATTR_RDONLY,
  MOUNT_ATTR_STRICTATIME,
  MS_PRIVATE,
  MS_REC,
  MS_SHARED,
} from "../sys/constants.ts";
import { parseMountOptions } from "./mount_options.ts";

describe("parseMountOptions", () => {
  test("flags become mount attributes and the rest is filesystem data", () => {
    const o = parseMountOptions(["nosuid", "noexec", "nodev", "ro", "mode=755", "size=65536k", "newinstance"]);
    expect(o).toMatchObject({
      bind: false,
      attrSet: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY,
      readonly: true,
      params: [["mode", "755"], ["size", "65536k"], ["newinstance", null]],
    });
  });

  test("a later option undoes an earlier one", () => {
    const o = parseMountOptions(["ro", "rw", "nosuid", "suid"]);
    expect(o).toMatchObject({ attrSet: 0, readonly: false, attrClr: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID });
  });

  test("bind and rbind, and propagation in order", () => {
    expect(parseMountOptions(["bind"])).toMatchObject({ bind: true, recursive: false });
    expect(parseMountOptions(["rbind", "rprivate", "shared"])).toMatchObject({
      bind: true,
      recursive: true,
      propagation: [MS_PRIVATE | MS_REC, MS_SHARED],
    });
  });

  test("access time is one mode: the last wins, and attr_clr carries MOUNT_ATTR__ATIME", () => {
    expect(parseMountOptions(["noatime", "strictatime"])).toMatchObject({
      attrSet: MOUNT_ATTR_STRICTATIME,
      attrClr: MOUNT_ATTR__ATIME,
    });
    expect(parseMountOptions(["rnoatime"])).toMatchObject({ recSet: MOUNT_ATTR_NOATIME, recClr: MOUNT_ATTR__ATIME });
  });

  test("clearing an access-time option resets to relatime, so a bind mount loses a noatime it came with", () => {
    expect(parseMountOptions(["atime"])).toMatchObject({ attrSet: 0 /* MOUNT_ATTR_RELATIME */, attrClr: MOUNT_ATTR__ATIME });
    expect(parseMountOptions(["ratime"])).toMatchObject({ recSet: 0, recClr: MOUNT_ATTR__ATIME });
    expect(parseMountOptions(["iversion", "noiversion"])).toMatchObject({ params: [] });
  });

  test("recursive r* options go to the whole tree", () => {
    expect(parseMountOptions(["rbind", "rro", "rnosuid"])).toMatchObject({ recSet: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, attrSet: 0 });
  });

  test("superblock flags are passed to the filesystem; remount is refused", () => {
    expect(parseMountOptions(["sync", "dirsync"])).toMatchObject({ params: [["sync", null], ["dirsync", null]] });
    expect(parseMountOptions(["remount"])).toBe('option "remount" is not supported for a new mount');
  });
});
