import { describe, expect, test } from "bun:test";
import type { Spec } from "../../spec/schema.ts";
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from "../sys/constants.ts";
import { Enter, RECORD_HEADER } from "../sys/protocol.ts";
import { idMapText, planEnter } from "./namespaces.ts";

/** Decodes plan records back into [tag, payload] for assertions. */
function records(bytes: Uint8Array): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.byteLength; ) {
    const tag = v.getUint16(at, true);
    const len = v.getUint32(at + 4, true);
    out.push([tag, bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len)]);
    at += RECORD_HEADER + len;
  }
  return out;
}
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
const text = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0$/, "");
const opts = { execFd: 9, argv: ["tsrun", "init", "3"], env: [], stay: false, setgroupsDenied: false };

function config(namespaces: NonNullable<Spec["linux"]>["namespaces"], extra: Partial<NonNullable<Spec["linux"]>> = {}): Spec {
  return { ociVersion: "1.3.0", linux: { namespaces, ...extra } } as Spec;
}

describe("planEnter", () => {
  test("joins come first, the user namespace before the others, whatever the config's order", () => {
    const c = config([
      { type: "mount", path: "/proc/7/ns/mnt" },
      { type: "network", path: "/run/netns/x" },
      { type: "user", path: "/proc/7/ns/user" },
      { type: "pid" },
    ]);
    const setns = records(planEnter(c, opts).bytes).filter(([t]) => t === Enter.SETNS);
    expect(setns.map(([, b]) => text(b.subarray(4)))).toEqual(["/proc/7/ns/user", "/run/netns/x", "/proc/7/ns/mnt"]);
  });

  test("new namespaces are unshared together, except user (first, with the id-map handshake) and cgroup (init)", () => {
    const c = config([{ type: "user" }, { type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }], {
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    });
    const recs = records(planEnter(c, opts).bytes);
    expect(recs[0]![0]).toBe(Enter.NEWUSER);
    const unshare = recs.find(([t]) => t === Enter.UNSHARE)!;
    expect(u32(unshare[1])).toBe(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS);
    expect(u32(recs.find(([t]) => t === Enter.BECOME_ROOT)![1])).toBe(1);
  });

  test("time offsets are written for a new time namespace in timens_offsets(7) form", () => {
    const c = config([{ type: "time" }], { timeOffsets: { monotonic: { secs: 5, nanosecs: 7 }, boottime: { secs: -3 } } } as never);
    const rec = records(planEnter(c, opts).bytes).find(([t]) => t === Enter.TIMENS_OFFSETS)!;
    expect(text(rec[1])).toBe("monotonic 5 7\nboottime -3 0\n");
  });

  test("the foreground stays as the child's parent; the exec target and argv are passed", () => {
    const recs = records(planEnter(config([]), { ...opts, stay: true }).bytes);
    expect(recs.map(([t]) => t)).toEqual([Enter.EXEC_FD, Enter.ARG, Enter.ARG, Enter.ARG, Enter.STAY]);
    expect(u32(recs[0]![1])).toBe(9);
  });
});

test("id maps are written one line per range", () => {
  expect(idMapText([{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 65536, hostID: 5, size: 1 }])).toBe("0 100000 65536\n65536 5 1\n");
});
