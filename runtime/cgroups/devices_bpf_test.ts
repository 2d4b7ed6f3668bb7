import { describe, expect, test } from "bun:test";
import { type DeviceState, targetState } from "./devices.ts";
import {
  accessBits,
  decode,
  DEVCG_DEV_BLOCK,
  DEVCG_DEV_CHAR,
  deviceProgram,
  encode,
  type Insn,
} from "./devices_bpf.ts";
import { runDeviceProgram } from "./ebpf_interpreter.ts";
import type { LinuxDeviceCgroup } from "./types.ts";

/** What the v1 kernel decides (devcgroup_legacy_check_permission), straight from the state. */
function kernelV1Allows(state: DeviceState, type: number, major: number, minor: number, access: number): boolean {
  const matches = (e: { type: string; major: number; minor: number }) =>
    (e.type === "c" ? DEVCG_DEV_CHAR : DEVCG_DEV_BLOCK) === type && (e.major < 0 || e.major === major) && (e.minor < 0 || e.minor === minor);
  const exceptions = [...state.exceptions.values()];
  // Allow-list: one exception must cover the whole request. Deny-list: none may touch any of it.
  if (!state.defaultAllow) return exceptions.some((e) => matches(e) && (access & ~accessBits(e.access)) === 0);
  return !exceptions.some((e) => matches(e) && (access & accessBits(e.access)) !== 0);
}

const listing = (prog: Insn[]) => prog.map((i) => `${i.code.toString(16).padStart(2, "0")} r${i.dst} r${i.src} ${i.off} ${i.imm}`);

describe("deviceProgram", () => {
  test("an allow-list of /dev/null is the context loads, one block and a deny-all tail", () => {
    const prog = deviceProgram(targetState([{ allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]));
    expect(listing(prog)).toEqual([
      "61 r2 r1 0 0", // r2 = access_type
      "54 r2 r0 0 65535", // r2 &= 0xffff (type)
      "61 r3 r1 0 0",
      "74 r3 r0 0 16", // r3 >>= 16 (access)
      "61 r4 r1 4 0", // major
      "61 r5 r1 8 0", // minor
      "55 r2 r0 4 2", // if type != char: next block
      "55 r4 r0 3 1", // if major != 1
      "55 r5 r0 2 3", // if minor != 3
      "b4 r0 r0 0 1", // return 1
      "95 r0 r0 0 0",
      "b4 r0 r0 0 0", // return 0
      "95 r0 r0 0 0",
    ]);
  });

  test("partial access is tested as a subset for allows and as an overlap for denies (the kernel's v1 rule)", () => {
    const allow = deviceProgram(targetState([{ allow: true, type: "c", major: 1, minor: 5, access: "r" }]));
    const run = (prog: Insn[], access: string) => runDeviceProgram(prog, { type: DEVCG_DEV_CHAR, access: accessBits(access), major: 1, minor: 5 });
    expect([run(allow, "r"), run(allow, "w"), run(allow, "rw")]).toEqual([1, 0, 0]);
    const deny = deviceProgram(targetState([{ allow: true, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 5, access: "w" }]));
    // runc's program lets "rw" through a "deny w" rule; the v1 kernel, and we, do not.
    expect([run(deny, "r"), run(deny, "w"), run(deny, "rw"), run(deny, "m")]).toEqual([1, 0, 0, 1]);
  });

  test("runc's default device rules: mknod of anything, the standard nodes, ptys; nothing else", () => {
    const prog = deviceProgram(
      targetState([
        { allow: false, access: "rwm" },
        { allow: true, type: "c", access: "m" },
        { allow: true, type: "b", access: "m" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, access: "rwm" },
        { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
      ]),
    );
    const run = (type: number, major: number, minor: number, access: string) => runDeviceProgram(prog, { type, access: accessBits(access), major, minor });
    expect(run(DEVCG_DEV_CHAR, 1, 3, "rw")).toBe(1);
    expect(run(DEVCG_DEV_CHAR, 136, 7, "rw")).toBe(1);
    expect(run(DEVCG_DEV_CHAR, 5, 2, "r")).toBe(1);
    expect(run(DEVCG_DEV_BLOCK, 8, 0, "m")).toBe(1);
    expect(run(DEVCG_DEV_BLOCK, 8, 0, "r")).toBe(0);
    expect(run(DEVCG_DEV_CHAR, 1, 5, "r")).toBe(0);
    expect(run(DEVCG_DEV_CHAR, 10, 200, "rw")).toBe(0);
  });

  test("matches the v1 kernel on random rule lists, for every type, device and access", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)] as T;
    const majors = [undefined, 1, 5, 136];
    const minors = [undefined, 0, 3, 5];
    let checked = 0;
    for (let round = 0; round < 300; round++) {
      const entries: LinuxDeviceCgroup[] = [];
      for (let n = rand(6); n >= 0; n--) {
        const access = ["r", "w", "m", "rw", "rm", "wm", "rwm"] as const;
        entries.push({ allow: rand(3) > 0, type: pick(["a", "b", "c"] as const), major: pick(majors), minor: pick(minors), access: pick(access) });
      }
      let state: DeviceState;
      try {
        state = targetState(entries);
      } catch {
        continue; // a hole punched in a wildcard: refused on both versions
      }
      const prog = deviceProgram(state);
      for (const type of [DEVCG_DEV_BLOCK, DEVCG_DEV_CHAR]) {
        for (const major of [0, 1, 5, 136]) {
          for (const minor of [0, 3, 5]) {
            for (let access = 1; access <= 7; access++) {
              const expected = kernelV1Allows(state, type, major, minor, access) ? 1 : 0;
              const got = runDeviceProgram(prog, { type, access, major, minor });
              if (got !== expected) throw new Error(`${JSON.stringify(entries)}: ${type} ${major}:${minor} access ${access}: program says ${got}`);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10000);
  });

  test("encodes as struct bpf_insn and decodes back", () => {
    const prog = deviceProgram(targetState([{ allow: true, type: "b", major: 8, access: "r" }]));
    const bytes = encode(prog);
    expect(bytes.byteLength).toBe(prog.length * 8);
    expect([...bytes.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]); // dst r2, src r1
    expect(decode(bytes)).toEqual(prog);
  });
});

describe("the test interpreter refuses what the verifier would", () => {
  test("unknown opcodes, unset registers, backward jumps", () => {
    const ctx = { type: 2, access: 2, major: 1, minor: 3 };
    expect(() => runDeviceProgram([{ code: 0x07, dst: 0, src: 0, off: 0, imm: 1 }], ctx)).toThrow("outside the subset");
    expect(() => runDeviceProgram([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], ctx)).toThrow("r0 is not initialised");
    expect(() => runDeviceProgram([{ code: 0xb4, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x55, dst: 0, src: 0, off: -2, imm: 1 }], ctx)).toThrow("bad jump");
  });
});
