// cgroup v2 has no devices.allow/deny files: device access is decided by a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. We compile the same DeviceState the
// v1 code writes (so both versions mean the same thing, default deny included) into a straight
// list of blocks, one per exception, as runc and crun do:
//
//     r2 = type, r3 = requested access, r4 = major, r5 = minor     (from struct bpf_cgroup_dev_ctx)
//     block i: if r2 != type goto i+1; [access test]; [if r4 != major goto i+1]; [if r5 != minor goto i+1]
//              return !default
//     last:    return default
//
// Access tests follow the v1 kernel: an allow exception must cover every requested bit (subset),
// a deny exception matches if it shares any bit with the request (runc's program uses the subset
// test for deny rules too, which lets "rw" through a "deny w" rule; the kernel does not).
import type { DeviceState } from "./devices.ts";

/** One eBPF instruction, as struct bpf_insn. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

// Opcodes: class | op | source (include/uapi/linux/bpf.h, bpf_common.h).
export const LDX_MEM_W = 0x61; // dst = *(u32 *)(src + off)
export const ALU32_AND_K = 0x54; // dst = (u32)(dst & imm)
export const ALU32_RSH_K = 0x74; // dst = (u32)dst >> imm
export const ALU32_MOV_K = 0xb4; // dst = (u32)imm
export const ALU32_MOV_X = 0xbc; // dst = (u32)src
export const JMP_JEQ_K = 0x15; // if dst == imm: pc += off
export const JMP_JNE_K = 0x55; // if dst != imm: pc += off
export const JMP_JNE_X = 0x5d; // if dst != src: pc += off
export const JMP_EXIT = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
export const DEVCG_DEV_BLOCK = 1;
export const DEVCG_DEV_CHAR = 2;
export const DEVCG_ACC_MKNOD = 1;
export const DEVCG_ACC_READ = 2;
export const DEVCG_ACC_WRITE = 4;
const ACC_ALL = DEVCG_ACC_MKNOD | DEVCG_ACC_READ | DEVCG_ACC_WRITE;

export const LICENSE = "Apache";

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** "rwm" → BPF_DEVCG_ACC_* bits. */
export function accessBits(access: string): number {
  return (access.includes("r") ? DEVCG_ACC_READ : 0) | (access.includes("w") ? DEVCG_ACC_WRITE : 0) | (access.includes("m") ? DEVCG_ACC_MKNOD : 0);
}

/** The program enforcing `state`. */
export function deviceProgram(state: DeviceState): Insn[] {
  const prog: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0),
    insn(ALU32_AND_K, 2, 0, 0, 0xffff),
    insn(LDX_MEM_W, 3, 1, 0, 0),
    insn(ALU32_RSH_K, 3, 0, 0, 16),
    insn(LDX_MEM_W, 4, 1, 4, 0),
    insn(LDX_MEM_W, 5, 1, 8, 0),
  ];
  const verdict = state.defaultAllow ? 0 : 1;
  for (const e of state.exceptions.values()) {
    // Jumps are written with off = -1 and pointed at the next block once its start is known.
    const block: Insn[] = [insn(JMP_JNE_K, 2, 0, -1, e.type === "c" ? DEVCG_DEV_CHAR : DEVCG_DEV_BLOCK)];
    const bits = accessBits(e.access);
    if (bits !== ACC_ALL) {
      block.push(insn(ALU32_MOV_X, 1, 3, 0, 0), insn(ALU32_AND_K, 1, 0, 0, bits));
      block.push(state.defaultAllow ? insn(JMP_JEQ_K, 1, 0, -1, 0) : insn(JMP_JNE_X, 1, 3, -1, 0));
    }
    if (e.major >= 0) block.push(insn(JMP_JNE_K, 4, 0, -1, e.major));
    if (e.minor >= 0) block.push(insn(JMP_JNE_K, 5, 0, -1, e.minor));
    block.push(insn(ALU32_MOV_K, 0, 0, 0, verdict), insn(JMP_EXIT, 0, 0, 0, 0));
    block.forEach((ins, i) => {
      if (ins.off === -1) ins.off = block.length - i - 1;
    });
    prog.push(...block);
  }
  prog.push(insn(ALU32_MOV_K, 0, 0, 0, state.defaultAllow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn[] bytes: code, dst_reg:4 | src_reg:4 << 4, s16 off, s32 imm (little endian). */
export function encode(prog: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(prog.length * 8);
  const view = new DataView(bytes.buffer);
  prog.forEach((ins, i) => {
    view.setUint8(i * 8, ins.code);
    view.setUint8(i * 8 + 1, (ins.src << 4) | ins.dst);
    view.setInt16(i * 8 + 2, ins.off, true);
    view.setInt32(i * 8 + 4, ins.imm, true);
  });
  return bytes;
}

export function decode(bytes: Uint8Array): Insn[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prog: Insn[] = [];
  for (let i = 0; i + 8 <= bytes.byteLength; i += 8) {
    const regs = view.getUint8(i + 1);
    prog.push(insn(view.getUint8(i), regs & 0xf, regs >> 4, view.getInt16(i + 2, true), view.getInt32(i + 4, true)));
  }
  return prog;
}
