// A tiny classic-BPF assembler: symbolic labels in, struct sock_filter[] out.
//
// Classic BPF only jumps forward, and a conditional jump reaches at most 255 instructions
// (jt/jf are u8); only `ja` has a 32-bit offset. So code is written against labels and laid
// out afterwards: a conditional whose target is too far gets a stepping stone placed right
// after it, either a copy of the `ret` it was heading for or a `ja` to the target, and the
// layout is repeated until every jump fits (inserting only ever lengthens jumps, so it ends).

/** Opcodes we emit, with their C names (linux/filter.h, linux/bpf_common.h). */
export const Op = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  JA: 0x05, // BPF_JMP | BPF_JA
  JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JGT_K: 0x25, // BPF_JMP | BPF_JGT | BPF_K
  JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K
  JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** BPF_MAXINSNS: the kernel refuses a longer filter. */
export const BPF_MAXINSNS = 4096;

export type Label = { readonly id: number };
export type Cond = "jeq" | "jgt" | "jge" | "jset";

const CONDS: Record<Cond, number> = { jeq: Op.JEQ_K, jgt: Op.JGT_K, jge: Op.JGE_K, jset: Op.JSET_K };

type Item =
  | { kind: "label"; label: Label }
  | { kind: "plain"; code: number; k: number }
  | { kind: "ja"; to: Label }
  | { kind: "jmp"; code: number; k: number; t: Label; f: Label; tFar?: boolean; fFar?: boolean };

export class Assembler {
  #items: Item[] = [];
  #next = 0;

  label(): Label {
    return { id: this.#next++ };
  }
  place(label: Label): void {
    this.#items.push({ kind: "label", label });
  }
  /** A = the 32-bit word at `offset` of struct seccomp_data. */
  load(offset: number): void {
    this.#items.push({ kind: "plain", code: Op.LD_W_ABS, k: offset });
  }
  and(k: number): void {
    this.#items.push({ kind: "plain", code: Op.ALU_AND_K, k: k >>> 0 });
  }
  ret(k: number): void {
    this.#items.push({ kind: "plain", code: Op.RET_K, k: k >>> 0 });
  }
  ja(to: Label): void {
    this.#items.push({ kind: "ja", to });
  }
  /** if (A <cond> k) goto t; else goto f. */
  jump(cond: Cond, k: number, t: Label, f: Label): void {
    this.#items.push({ kind: "jmp", code: CONDS[cond], k: k >>> 0, t, f });
  }

  /** Lays the program out and encodes it, little-endian, 8 bytes an instruction. */
  assemble(): Uint8Array {
    const items = this.#items;
    // What a label leads to, to copy a `ret` instead of jumping to it.
    const retAt = new Map<number, number>();
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.kind !== "label") continue;
      let j = i + 1;
      while (items[j]?.kind === "label") j++;
      const target = items[j];
      if (target?.kind === "plain" && target.code === Op.RET_K) retAt.set(it.label.id, target.k);
    }
    const stone = (to: Label): Item => {
      const k = retAt.get(to.id);
      return k === undefined ? { kind: "ja", to } : { kind: "plain", code: Op.RET_K, k };
    };

    const size = (it: Item) => (it.kind === "label" ? 0 : it.kind === "jmp" ? 1 + Number(it.tFar ?? false) + Number(it.fFar ?? false) : 1);
    for (;;) {
      const pos = new Map<number, number>();
      let n = 0;
      for (const it of items) {
        if (it.kind === "label") pos.set(it.label.id, n);
        n += size(it);
      }
      const offset = (from: number, to: Label) => {
        const at = pos.get(to.id);
        if (at === undefined) throw new Error(`bpf: label ${to.id} was never placed`);
        if (at <= from) throw new Error(`bpf: backward jump to label ${to.id}`);
        return at - from - 1;
      };

      // Mark the jumps that do not reach; lay out again if any did not.
      const far: [Item & { kind: "jmp" }, "tFar" | "fFar"][] = [];
      let pc = 0;
      for (const it of items) {
        if (it.kind === "jmp") {
          if (!it.tFar && offset(pc, it.t) > 255) far.push([it, "tFar"]);
          if (!it.fFar && offset(pc, it.f) > 255) far.push([it, "fFar"]);
        }
        pc += size(it);
      }
      for (const [it, side] of far) it[side] = true;
      if (far.length) continue;

      const out = new Uint8Array(n * 8);
      const view = new DataView(out.buffer);
      pc = 0;
      const put = (code: number, jt: number, jf: number, k: number) => {
        view.setUint16(pc * 8, code, true);
        view.setUint8(pc * 8 + 2, jt);
        view.setUint8(pc * 8 + 3, jf);
        view.setUint32(pc * 8 + 4, k >>> 0, true);
        pc++;
      };
      const emit = (it: Item) => {
        if (it.kind === "plain") put(it.code, 0, 0, it.k);
        else if (it.kind === "ja") put(Op.JA, 0, 0, offset(pc, it.to));
      };
      for (const it of items) {
        if (it.kind !== "jmp") {
          emit(it);
          continue;
        }
        // Stepping stones sit right after the jump: first jt's, then jf's.
        const jt = it.tFar ? 0 : offset(pc, it.t);
        const jf = it.fFar ? Number(it.tFar ?? false) : offset(pc, it.f);
        put(it.code, jt, jf, it.k);
        if (it.tFar) emit(stone(it.t));
        if (it.fFar) emit(stone(it.f));
      }
      return out;
    }
  }
}
