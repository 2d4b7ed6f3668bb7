// Differential test against the system's libseccomp (2.5.x on Debian 12), which is what runc
// builds its filters with: the same profile goes to libseccomp the way runc's seccomp_linux.go
// hands it over, runc's -ENOSYS stub (patchbpf) is applied on top, and both programs must give
// the same action for every syscall number and a spread of argument values. Skipped where
// libseccomp.so.2 or gcc is missing.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LinuxSeccomp, LinuxSeccompArg } from "../../spec/schema.ts";
import { accumulatorTrouble, check, run, type Insn, type SeccompData } from "./bpf_interp.ts";
import { AUDIT_ARCH, compileSeccomp, SECCOMP_RET as RET } from "./seccomp.ts";
import { buildC, podmanProfile } from "./testing.ts";

const LIBSECCOMP = "/usr/lib/x86_64-linux-gnu/libseccomp.so.2";
const skip = process.arch !== "x64" ? "x86_64 only" : !existsSync(LIBSECCOMP) ? `no ${LIBSECCOMP}` : !Bun.which("gcc") ? "no gcc" : undefined;
const oracleBin = skip ? undefined : buildC(join(import.meta.dir, "testdata/libseccomp_export.c"), [LIBSECCOMP]);
afterAll(() => oracleBin?.cleanup());

// ---- runc's side, written from libcontainer/seccomp/seccomp_linux.go and patchbpf/enosys_linux.go

const SCMP_ARCH: Record<string, number> = { SCMP_ARCH_X86_64: 0xc000003e, SCMP_ARCH_X86: 0x40000003, SCMP_ARCH_X32: 0x4000003e };
const SCMP_CMP: Record<LinuxSeccompArg["op"], number> = { SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7 };

function runcAction(action: string, errnoRet: number | undefined): number {
  const ret = errnoRet ?? 1;
  const map: Record<string, number> = {
    SCMP_ACT_KILL: 0, SCMP_ACT_KILL_THREAD: 0, SCMP_ACT_KILL_PROCESS: 0x80000000, SCMP_ACT_TRAP: 0x30000,
    SCMP_ACT_ERRNO: 0x50000 | ret, SCMP_ACT_TRACE: 0x7ff00000 | ret, SCMP_ACT_ALLOW: 0x7fff0000,
    SCMP_ACT_LOG: 0x7ffc0000, SCMP_ACT_NOTIFY: 0x7fc00000,
  };
  return map[action]! >>> 0;
}

interface Oracle {
  insns: Insn[];
  max: Map<number, number>;
  unknown: Set<string>;
}

/** libseccomp's program for `config`, fed as runc's InitSeccomp and matchCall feed it. */
function libseccomp(config: LinuxSeccomp): Oracle | "refused" | "broken" {
  const def = runcAction(config.defaultAction, config.defaultErrnoRet);
  const lines = [`default ${def}`, ...(config.architectures ?? []).map((a) => `arch ${SCMP_ARCH[a]}`)];
  for (const call of config.syscalls ?? []) {
    const act = runcAction(call.action, call.errnoRet);
    for (const name of call.names) {
      if (act === def) {
        lines.push(`name ${name}`);
        continue;
      }
      const args = call.args ?? [];
      const arg = (a: LinuxSeccompArg) => `${a.index} ${SCMP_CMP[a.op]} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`;
      const dup = new Set(args.map((a) => a.index)).size !== args.length;
      if (dup) for (const a of args) lines.push(`rule ${act} ${name} 1 ${arg(a)}`);
      else lines.push(`rule ${act} ${name} ${args.length} ${args.map(arg).join(" ")}`);
    }
  }
  const p = Bun.spawnSync([oracleBin!.bin], { stdin: new TextEncoder().encode(lines.join("\n") + "\n"), stdout: "pipe", stderr: "pipe" });
  if (p.exitCode === 3) return "refused";
  if (p.exitCode !== 0) throw new Error(`libseccomp oracle exited ${p.exitCode}: ${p.stderr}`);
  const max = new Map<number, number>();
  const unknown = new Set<string>();
  for (const line of p.stderr.toString().split("\n")) {
    const [what, a, b] = line.split(" ");
    if (what === "max") max.set(Number(a), Number(b));
    if (what === "unknown") unknown.add(a!);
  }
  // libseccomp 2.5.4 sometimes compares whatever happens to be in the accumulator (see
  // accumulatorTrouble): such a program is wrong, so there is nothing to compare against.
  const insns = check(new Uint8Array(p.stdout));
  return accumulatorTrouble(insns) ? "broken" : { insns, max, unknown };
}

/** runc's stub: nr above the highest profile syscall of the ABI → ENOSYS, before the filter. */
function runcStub(config: LinuxSeccomp, o: Oracle, d: SeccompData): number | undefined {
  if (["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(config.defaultAction)) return undefined;
  const nr = d.nr >>> 0;
  let highest: number | undefined;
  if (d.arch === AUDIT_ARCH.X86_64) {
    highest = nr & 0x40000000 ? o.max.get(SCMP_ARCH.SCMP_ARCH_X32!) : o.max.get(SCMP_ARCH.SCMP_ARCH_X86_64!);
  } else {
    highest = o.max.get(d.arch >>> 0);
  }
  return highest && nr > highest ? (RET.ERRNO | 38) >>> 0 : undefined;
}

// ---- comparing

const H = 1n << 32n;
const EDGES = [0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xfffffffe, 0xffffffff];

function argValues(config: LinuxSeccomp): bigint[] {
  const seen = new Set<bigint>([0n, 1n, H - 1n, H, (1n << 64n) - 1n]);
  for (const c of config.syscalls ?? []) {
    for (const a of c.args ?? []) {
      for (const v of [BigInt(a.value), BigInt(a.valueTwo ?? 0)]) {
        for (const w of [v, v + 1n, v - 1n, v ^ H, v | (7n << 40n), v & 0xffffffffn]) if (w >= 0n && w < 1n << 64n) seen.add(w);
      }
    }
  }
  return [...seen];
}

/** Every syscall number of every ABI, and argument vectors for the numbers that have rules with args. */
function* inputs(config: LinuxSeccomp, withArgs: Set<string>): Generator<SeccompData> {
  const nrs = [...Array.from({ length: 600 }, (_, i) => i), ...Array.from({ length: 600 }, (_, i) => 0x40000000 + i), ...EDGES];
  const values = argValues(config);
  for (const arch of [AUDIT_ARCH.X86_64, AUDIT_ARCH.I386, AUDIT_ARCH.AARCH64]) {
    for (const nr of nrs) {
      yield { nr, arch };
      if (!withArgs.has(`${arch}:${nr}`)) continue;
      for (const v of values) for (let i = 0; i < 6; i++) yield { nr, arch, args: Array.from({ length: 6 }, (_, j) => (j === i ? v : 0n)) };
      for (const v of values) for (const w of values) yield { nr, arch, args: [v, 0n, w, 0n, 0n, 0n] };
      for (const v of values) for (const w of values) yield { nr, arch, args: [v, w, v, w, v, w] };
    }
  }
}

/** Compares the two filters over `inputs`; returns the first few differences. */
function compare(config: LinuxSeccomp): string[] {
  const o = libseccomp(config);
  if (o === "refused" || o === "broken") return [o];
  // Drop names the system libseccomp does not know (newer than it): runc would skip them.
  const known: LinuxSeccomp = { ...config, syscalls: (config.syscalls ?? []).map((s) => ({ ...s, names: s.names.filter((n) => !o.unknown.has(n)) })).filter((s) => s.names.length) };
  const ours = check(compileSeccomp(known, { nativeArch: "x86_64" }).program);
  const trouble = accumulatorTrouble(ours);
  if (trouble) return [`our program: ${trouble}`];
  const diffs: string[] = [];
  const differing: SeccompData[] = [];
  for (const d of inputs(known, numbersWithArgs(known))) {
    const want = runcStub(known, o, d) ?? run(o.insns, d).action;
    const got = run(ours, d).action;
    if (got === want) continue;
    differing.push(d);
    if (diffs.push(`arch 0x${d.arch.toString(16)} nr 0x${d.nr.toString(16)} args [${d.args ?? ""}]: ours 0x${got.toString(16)}, runc 0x${want.toString(16)}`) >= 5) break;
  }
  if (diffs.length && inconsistent(known, o, differing)) return ["broken"];
  return diffs;
}

/**
 * libseccomp 2.5.4 also merges rules with arguments differently depending on their order: with
 * `dup: arg2 != 1` then `dup: arg2 == 1 && arg1 > X` (one action) the second is lost on 32-bit
 * ABIs, the other way round it is kept. Rules with arguments for one name share an action in
 * our random profiles, so their order must not matter; where reordering them changes
 * libseccomp's answer, libseccomp's program is wrong.
 */
function inconsistent(config: LinuxSeccomp, o: Oracle, at: SeccompData[]): boolean {
  const calls = config.syscalls ?? [];
  const conditional = calls.filter((s) => s.args?.length).reverse();
  const reordered = { ...config, syscalls: calls.map((s) => (s.args?.length ? conditional.shift()! : s)) };
  const other = libseccomp(reordered);
  if (typeof other === "string") return true;
  return at.some((d) => run(other.insns, d).action !== run(o.insns, d).action);
}

/** "arch:nr" of every syscall a rule with arguments applies to (socketcall/ipc on i386 too). */
function numbersWithArgs(config: LinuxSeccomp): Set<string> {
  const out = new Set<string>();
  for (const s of config.syscalls ?? []) {
    if (!s.args?.length) continue;
    for (const name of s.names) {
      // Probe each ABI with a one-rule profile to find the numbers, without a second table.
      const one: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls: [{ names: [name], action: "SCMP_ACT_LOG" }] };
      const insns = check(compileSeccomp(one, { nativeArch: "x86_64" }).program);
      for (const arch of [AUDIT_ARCH.X86_64, AUDIT_ARCH.I386]) {
        for (const nr of [...Array.from({ length: 600 }, (_, i) => i), ...Array.from({ length: 600 }, (_, i) => 0x40000000 + i)]) {
          if (run(insns, { nr, arch }).action === RET.LOG) out.add(`${arch}:${nr}`);
          if (arch === AUDIT_ARCH.I386 && (nr === 102 || nr === 117)) out.add(`${arch}:${nr}`);
        }
      }
    }
  }
  return out;
}

// ---- random profiles

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

function randomProfile(seed: number, compat: boolean): LinuxSeccomp {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const NAMES = ["read", "write", "getpid", "dup", "socket", "personality", "clone", "ioctl", "kill", "semop", "accept", "clone3", "mmap"];
  const ACTIONS: [LinuxSeccomp["defaultAction"], number | undefined][] = [
    ["SCMP_ACT_ALLOW", undefined], ["SCMP_ACT_ERRNO", undefined], ["SCMP_ACT_ERRNO", 13], ["SCMP_ACT_KILL_PROCESS", undefined],
    ["SCMP_ACT_TRAP", undefined], ["SCMP_ACT_LOG", undefined], ["SCMP_ACT_TRACE", 3], ["SCMP_ACT_KILL", undefined],
  ];
  const VALUES = [0n, 1n, 5n, 9n, 16n, 0xffffffffn, H, H + 5n, (1n << 63n) + 5n, (1n << 64n) - 1n, 0xff00ff00ff00n];
  const OPS = Object.keys(SCMP_CMP) as LinuxSeccompArg["op"][];
  const [defaultAction, defaultErrnoRet] = pick(ACTIONS);
  // Conditional rules for one name share one action: where two rules with different actions
  // overlap, libseccomp orders them by its own tree (or refuses), and we by profile order.
  const condAction = new Map(NAMES.map((n) => [n, pick(ACTIONS)]));
  const syscalls: NonNullable<LinuxSeccomp["syscalls"]> = [];
  for (let i = 0, count = 1 + Math.floor(r() * 8); i < count; i++) {
    if (r() < 0.4) {
      const [action, errnoRet] = pick(ACTIONS);
      syscalls.push({ names: [pick(NAMES), pick(NAMES)], action, errnoRet });
    } else {
      const name = pick(NAMES);
      const [action, errnoRet] = condAction.get(name)!;
      const args = Array.from({ length: 1 + Math.floor(r() * 3) }, () => {
        const index = Math.floor(r() * 3);
        const op = pick(OPS);
        return { index, op, value: pick(VALUES) as unknown as number, valueTwo: pick(VALUES) as unknown as number };
      });
      syscalls.push({ names: [name], action, errnoRet, args });
    }
  }
  const architectures = (["SCMP_ARCH_X86", "SCMP_ARCH_X32"] as const).filter(() => compat && r() < 0.6);
  return { defaultAction, defaultErrnoRet, architectures: ["SCMP_ARCH_X86_64", ...architectures], syscalls };
}

describe.skipIf(skip !== undefined)(`same decisions as runc with libseccomp${skip ? ` (skipped: ${skip})` : ""}`, () => {
  test("Debian's podman profile", async () => {
    const config = await podmanProfile("x86_64");
    if (!config) return;
    expect(compare(config)).toEqual([]);
  });

  test("Debian's podman profile, native ABI only, default EPERM so the ENOSYS stub shows", async () => {
    const config = await podmanProfile("x86_64");
    if (!config) return;
    expect(compare({ ...config, architectures: [], defaultErrnoRet: 1 })).toEqual([]);
  });

  test.each([
    ["x86_64 only", 300, false],
    ["x86_64, x86 and x32", 300, true],
  ] as const)("random profiles, %s: actions, operators, 64-bit values", (_, count, compat) => {
    const skipped = { refused: 0, broken: 0 };
    for (let seed = 1; seed <= count; seed++) {
      const config = randomProfile(seed, compat);
      const diffs = compare(config);
      if (diffs[0] === "refused" || diffs[0] === "broken") {
        skipped[diffs[0]]++;
        continue;
      }
      if (diffs.length) throw new Error(`seed ${seed}: ${JSON.stringify(config, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}\n${diffs.join("\n")}`);
    }
    console.log(`${count} random profiles: libseccomp refused ${skipped.refused} (EEXIST and the like) and built ${skipped.broken} wrong programs (see accumulatorTrouble, inconsistent)`);
    expect(skipped.refused + skipped.broken).toBeLessThan(count / 3);
  }, 120_000);
});
