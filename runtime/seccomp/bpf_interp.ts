// Test helper: runs a seccomp classic-BPF program the way the kernel would, after checking it the
// way the kernel does when it is loaded (net/core/filter.c bpf_check_classic and
// kernel/seccomp.c seccomp_check_filter): length 1..BPF_MAXINSNS, only the opcodes seccomp
// accepts, 32-bit aligned loads inside struct seccomp_data, jumps that land inside the program,
// and a `ret` as the last instruction.

import { BPF_MAXINSNS } from "./bpf.ts";

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Six u64 arguments; missing ones are 0. */
  args?: readonly bigint[];
}

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const SIZEOF_SECCOMP_DATA = 64;

export function decode(program: Uint8Array): Insn[] {
  if (program.length % 8 !== 0) throw new Error(`program is ${program.length} bytes, not a multiple of 8`);
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const out: Insn[] = [];
  for (let i = 0; i < program.length; i += 8) {
    out.push({ code: view.getUint16(i, true), jt: view.getUint8(i + 2), jf: view.getUint8(i + 3), k: view.getUint32(i + 4, true) });
  }
  return out;
}

/** Throws the reason the kernel would refuse the program with EINVAL. */
export function check(program: Uint8Array): Insn[] {
  const insns = decode(program);
  if (insns.length === 0 || insns.length > BPF_MAXINSNS) throw new Error(`length ${insns.length} is outside 1..${BPF_MAXINSNS}`);
  for (const [pc, i] of insns.entries()) {
    switch (i.code) {
      case 0x20: // LD W ABS
        if (i.k % 4 !== 0 || i.k >= SIZEOF_SECCOMP_DATA) throw new Error(`pc ${pc}: load of offset ${i.k}`);
        break;
      case 0x54: // ALU AND K
      case 0x06: // RET K
        break;
      case 0x05: // JA
        if (pc + 1 + i.k >= insns.length) throw new Error(`pc ${pc}: ja lands outside the program`);
        break;
      case 0x15:
      case 0x25:
      case 0x35:
      case 0x45:
        if (pc + 1 + Math.max(i.jt, i.jf) >= insns.length) throw new Error(`pc ${pc}: jump lands outside the program`);
        break;
      default:
        throw new Error(`pc ${pc}: opcode 0x${i.code.toString(16)} is not one this interpreter knows`);
    }
  }
  if (insns.at(-1)!.code !== 0x06) throw new Error("the last instruction is not a ret");
  return insns;
}

/** The 32-bit word at `offset` of struct seccomp_data on a little-endian machine. */
function word(data: SeccompData, offset: number): number {
  if (offset === 0) return data.nr >>> 0;
  if (offset === 4) return data.arch >>> 0;
  const u64 = offset === 8 || offset === 12 ? (data.instructionPointer ?? 0n) : (data.args?.[(offset - 16) >> 3] ?? 0n);
  const half = offset % 8 === 0 ? u64 : u64 >> 32n;
  return Number(BigInt.asUintN(32, half));
}

/** Runs the program; returns the seccomp action value and how many instructions ran. */
export function run(program: Uint8Array | Insn[], data: SeccompData): { action: number; steps: number } {
  const insns = program instanceof Uint8Array ? check(program) : program;
  let a = 0;
  let pc = 0;
  for (let steps = 1; ; steps++) {
    const i = insns[pc];
    if (!i) throw new Error(`pc ${pc} ran off the end`);
    pc++;
    switch (i.code) {
      case 0x20:
        a = word(data, i.k);
        break;
      case 0x54:
        a = (a & i.k) >>> 0;
        break;
      case 0x06:
        return { action: i.k >>> 0, steps };
      case 0x05:
        pc += i.k;
        break;
      case 0x15:
        pc += a === i.k ? i.jt : i.jf;
        break;
      case 0x25:
        pc += a > i.k ? i.jt : i.jf;
        break;
      case 0x35:
        pc += a >= i.k ? i.jt : i.jf;
        break;
      case 0x45:
        pc += (a & i.k) !== 0 ? i.jt : i.jf;
        break;
      default:
        throw new Error(`pc ${pc - 1}: opcode 0x${i.code.toString(16)}`);
    }
  }
}

/**
 * Why a program compares a value it did not mean to, or undefined. Two shapes, both seen in
 * libseccomp 2.5.4's output: an instruction reached from two paths that loaded different words
 * (after merging rule trees it tests arg2 where it meant arg0, or a low word against a high
 * word's datum), and an architecture section that dispatches on the arch word, having skipped
 * `ld [0]`. Our programs must show neither.
 */
export function accumulatorTrouble(insns: Insn[]): string | undefined {
  const holds: Set<string>[] = insns.map(() => new Set());
  holds[0]!.add("?");
  for (const [pc, i] of insns.entries()) {
    const a = holds[pc]!;
    const uses = i.code === 0x54 || (i.code & 0x07) === 0x05 && i.code !== 0x05;
    if (uses && a.size > 1) return `pc ${pc} reads A holding one of ${[...a].join(", ")}`;
    const out = i.code === 0x20 ? new Set([`[${i.k}]`]) : i.code === 0x54 ? new Set([...a].map((d) => `${d}&${i.k}`)) : a;
    const to = i.code === 0x06 ? [] : i.code === 0x05 ? [pc + 1 + i.k] : (i.code & 0x07) === 0x05 ? [pc + 1 + i.jt, pc + 1 + i.jf] : [pc + 1];
    for (const t of to) for (const d of out) holds[t]!.add(d);
  }
  // The arch checks are chained through their false branches; each must lead to `ld [0]` or a ret.
  for (let pc = 1; insns[pc]?.code === 0x15; pc += 1 + insns[pc]!.jf) {
    let at = pc + 1 + insns[pc]!.jt;
    while (insns[at]!.code === 0x05) at += 1 + insns[at]!.k;
    const target = insns[at]!;
    if (target.code !== 0x06 && !(target.code === 0x20 && target.k === 0)) return `arch check at pc ${pc} does not load nr`;
  }
  return undefined;
}

/** One line per instruction, for failing tests and debugging. */
export function disassemble(program: Uint8Array): string {
  const names: Record<number, string> = { 0x15: "jeq", 0x25: "jgt", 0x35: "jge", 0x45: "jset" };
  return decode(program)
    .map((i, pc) => {
      const hex = `0x${i.k.toString(16)}`;
      const text =
        i.code === 0x20 ? `ld [${i.k}]`
        : i.code === 0x54 ? `and #${hex}`
        : i.code === 0x06 ? `ret #${hex}`
        : i.code === 0x05 ? `ja ${pc + 1 + i.k}`
        : `${names[i.code] ?? `op${i.code}`} #${hex}, ${pc + 1 + i.jt}, ${pc + 1 + i.jf}`;
      return `${String(pc).padStart(4)}: ${text}`;
    })
    .join("\n");
}
