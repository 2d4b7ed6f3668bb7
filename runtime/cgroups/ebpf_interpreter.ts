// Test support: runs a BPF_PROG_TYPE_CGROUP_DEVICE program the way the kernel would, for the
// instructions devices_bpf.ts emits, and refuses anything else (unknown opcodes, reads of unset
// registers, backward or out-of-range jumps) the way the verifier would. Not used outside tests.
import {
  ALU32_AND_K,
  ALU32_MOV_K,
  ALU32_MOV_X,
  ALU32_RSH_K,
  type Insn,
  JMP_EXIT,
  JMP_JEQ_K,
  JMP_JNE_K,
  JMP_JNE_X,
  LDX_MEM_W,
} from "./devices_bpf.ts";

export interface DevCtx {
  /** BPF_DEVCG_DEV_BLOCK (1) or BPF_DEVCG_DEV_CHAR (2). */
  type: number;
  /** BPF_DEVCG_ACC_* bits. */
  access: number;
  major: number;
  minor: number;
}

const U32 = 0xffffffffn;
const CTX = Symbol("ctx");
type Reg = bigint | typeof CTX | undefined;

/** The program's verdict for one access: 1 allows, 0 denies. */
export function runDeviceProgram(prog: readonly Insn[], ctx: DevCtx): number {
  const words = [BigInt(((ctx.access << 16) | ctx.type) >>> 0), BigInt(ctx.major >>> 0), BigInt(ctx.minor >>> 0)];
  const regs: Reg[] = new Array(11).fill(undefined);
  regs[1] = CTX;
  const num = (r: number, pc: number): bigint => {
    const v = regs[r];
    if (typeof v !== "bigint") throw new Error(`insn ${pc}: r${r} is ${v === CTX ? "the context pointer" : "not initialised"}`);
    return v;
  };
  const imm64 = (imm: number) => BigInt.asUintN(64, BigInt(imm));
  for (let pc = 0, steps = 0; pc < prog.length; pc++, steps++) {
    const ins = prog[pc]!;
    if (steps > 4096) throw new Error("program does not terminate");
    const jump = (taken: boolean) => {
      if (ins.off < 0 || pc + 1 + ins.off >= prog.length) throw new Error(`insn ${pc}: bad jump offset ${ins.off}`);
      if (taken) pc += ins.off;
    };
    switch (ins.code) {
      case LDX_MEM_W: {
        if (regs[ins.src] !== CTX) throw new Error(`insn ${pc}: load through r${ins.src}, which is not the context`);
        if (ins.off % 4 !== 0 || ins.off < 0 || ins.off > 8) throw new Error(`insn ${pc}: context offset ${ins.off} out of bounds`);
        regs[ins.dst] = words[ins.off / 4]!;
        break;
      }
      case ALU32_AND_K:
        regs[ins.dst] = (num(ins.dst, pc) & imm64(ins.imm)) & U32;
        break;
      case ALU32_RSH_K:
        regs[ins.dst] = (num(ins.dst, pc) & U32) >> BigInt(ins.imm);
        break;
      case ALU32_MOV_K:
        regs[ins.dst] = BigInt(ins.imm >>> 0);
        break;
      case ALU32_MOV_X:
        regs[ins.dst] = num(ins.src, pc) & U32;
        break;
      case JMP_JEQ_K:
        jump(num(ins.dst, pc) === imm64(ins.imm));
        break;
      case JMP_JNE_K:
        jump(num(ins.dst, pc) !== imm64(ins.imm));
        break;
      case JMP_JNE_X:
        jump(num(ins.dst, pc) !== num(ins.src, pc));
        break;
      case JMP_EXIT:
        return Number(num(0, pc));
      default:
        throw new Error(`insn ${pc}: opcode 0x${ins.code.toString(16)} is outside the subset this interpreter knows`);
    }
  }
  throw new Error("program falls off its end");
}
