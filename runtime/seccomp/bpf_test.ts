import { expect, test } from "bun:test";
import { Assembler, Op } from "./bpf.ts";
import { check, decode, disassemble, run } from "./bpf_interp.ts";

test("instructions encode as struct sock_filter, little-endian", () => {
  const asm = new Assembler();
  const yes = asm.label();
  const no = asm.label();
  asm.load(4);
  asm.jump("jeq", 0xc000003e, yes, no);
  asm.place(yes);
  asm.ret(0x7fff0000);
  asm.place(no);
  asm.ret(0);
  const bytes = [...asm.assemble()];
  expect(bytes).toEqual([
    0x20, 0, 0, 0, 4, 0, 0, 0, // ld [4]
    0x15, 0, 0, 1, 0x3e, 0, 0, 0xc0, // jeq #0xc000003e, +0, +1
    0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, // ret #0x7fff0000
    0x06, 0, 0, 0, 0, 0, 0, 0, // ret #0
  ]);
});

test("a conditional jump further than 255 instructions goes through a stepping stone", () => {
  // jeq far-ret, far-block: both targets lie past 300 filler instructions.
  const asm = new Assembler();
  const block = asm.label();
  const allow = asm.label();
  const deny = asm.label();
  asm.load(0);
  asm.jump("jeq", 7, allow, block);
  for (let i = 0; i < 300; i++) asm.ret(0xdead); // never reached
  asm.place(block);
  asm.load(16);
  asm.jump("jeq", 1, allow, deny);
  asm.place(allow);
  asm.ret(0x7fff0000);
  asm.place(deny);
  asm.ret(0x50001);
  const program = asm.assemble();
  const insns = check(program);
  // jt became a copy of its `ret`, jf a `ja` over the filler.
  expect(insns[1]).toEqual({ code: Op.JEQ_K, jt: 0, jf: 1, k: 7 });
  expect(insns[2]).toEqual({ code: Op.RET_K, jt: 0, jf: 0, k: 0x7fff0000 });
  expect(insns[3]!.code).toBe(Op.JA);
  expect(run(program, { nr: 7, arch: 0 })).toEqual({ action: 0x7fff0000, steps: 3 });
  expect(run(program, { nr: 8, arch: 0, args: [1n] })).toEqual({ action: 0x7fff0000, steps: 6 });
  expect(run(program, { nr: 8, arch: 0, args: [2n] }).action).toBe(0x50001);
});

test("stepping stones that push other jumps out of reach are added until everything fits", () => {
  // 300 jumps, each to the same far `ret`: every stone added moves the target further away.
  const asm = new Assembler();
  const end = asm.label();
  const labels = Array.from({ length: 300 }, () => asm.label());
  asm.load(0);
  for (const [i, l] of labels.entries()) {
    asm.jump("jeq", i, end, l);
    asm.place(l);
  }
  asm.ret(1);
  asm.place(end);
  asm.ret(2);
  const program = asm.assemble();
  expect(program.length / 8).toBeGreaterThan(300 + 3);
  check(program);
  for (const nr of [0, 100, 299]) expect(run(program, { nr, arch: 0 }).action).toBe(2);
  expect(run(program, { nr: 300, arch: 0 }).action).toBe(1);
});

test("the interpreter refuses what the kernel refuses", () => {
  const word = (code: number, jt: number, jf: number, k: number) => {
    const b = new Uint8Array(8);
    const v = new DataView(b.buffer);
    v.setUint16(0, code, true);
    v.setUint8(2, jt);
    v.setUint8(3, jf);
    v.setUint32(4, k, true);
    return [...b];
  };
  const prog = (...insns: number[][]) => new Uint8Array(insns.flat());
  expect(() => check(prog())).toThrow("length 0");
  expect(() => check(prog(word(0x20, 0, 0, 2), word(0x06, 0, 0, 0)))).toThrow("load of offset 2");
  expect(() => check(prog(word(0x20, 0, 0, 64), word(0x06, 0, 0, 0)))).toThrow("load of offset 64");
  expect(() => check(prog(word(0x15, 5, 0, 0), word(0x06, 0, 0, 0)))).toThrow("outside the program");
  expect(() => check(prog(word(0x20, 0, 0, 0)))).toThrow("not a ret");
  expect(disassemble(prog(word(0x20, 0, 0, 4), word(0x06, 0, 0, 0)))).toBe("   0: ld [4]\n   1: ret #0x0");
  expect(decode(prog(word(0x45, 1, 2, 3)))).toEqual([{ code: 0x45, jt: 1, jf: 2, k: 3 }]);
});
