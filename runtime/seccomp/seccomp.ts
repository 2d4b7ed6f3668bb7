// linux.seccomp → a classic-BPF seccomp program, with the behaviour runc gets from libseccomp plus
// its own -ENOSYS stub (libcontainer/seccomp/seccomp_linux.go, patchbpf/enosys_linux.go), worked
// out from their sources and checked against libseccomp 2.5.4 in seccomp_libseccomp_test.ts.
//
// What a syscall gets, for each ABI the filter covers:
// 1. seccomp_data.arch is checked first. The native ABI is always covered, a compat ABI when
//    `architectures` lists it (x86_64 host: SCMP_ARCH_X86, SCMP_ARCH_X32; aarch64 host:
//    SCMP_ARCH_ARM). Anything else gets KILL_THREAD: libseccomp's bad-arch action (db.c sets
//    act_badarch = SCMP_ACT_KILL) and runc never changes it. x32 shares AUDIT_ARCH_X86_64 and is
//    told apart by __X32_SYSCALL_BIT in nr; without SCMP_ARCH_X32 those numbers are a bad arch,
//    except nr -1, which tracers use to skip a syscall (libseccomp spares it too).
//    Architectures this host can never run (SCMP_ARCH_MIPS on x86_64...) are skipped: runc
//    accepts them and builds rules that can never run, so skipping gives the same filter.
// 2. runc's -ENOSYS stub, when the default action is not ALLOW, LOG or TRACE: a syscall numbered
//    above the highest one the profile names for that ABI gets ENOSYS, so libc falls back from
//    syscalls newer than the profile (clone3, say) instead of failing with EPERM. Every name in
//    the profile counts, whatever its action. An ABI with no known names (or, a runc quirk, whose
//    highest is number 0) gets no stub.
// 3. The rules. Names unknown to our tables are skipped (runc logs and skips them). A rule whose
//    action equals the default action is dropped (runc: "redundant"). Per syscall number, in
//    profile order, entry by entry and name by name: the first rule without arguments decides
//    and every rule with arguments is then ignored, before or after it (libseccomp's
//    db_rule_add: a chainless entry absorbs later rules and replaces earlier chains). Otherwise
//    the rules with arguments are tried in profile order and the first whose comparisons all
//    hold decides; none → the default action. (libseccomp builds a tree, and where two such
//    rules with different actions can match the same call it either orders them by argument
//    and value or refuses the profile with EEXIST; profile order is our answer there.)
//    A rule naming one argument twice becomes one rule per comparison (runc's "old behavior").
// 4. Comparisons are unsigned and 64 bits wide, one 32-bit half at a time. On 32-bit ABIs (x86,
//    x32, arm) only the low halves of value and mask are compared, as libseccomp does
//    (_db_rule_gen_32: "implicitly strips off the upper 32 bit"). MASKED_EQ is
//    (arg & value) == (valueTwo & value); a half with a zero mask always matches.
// 5. On x86 a rule for a socket or SysV IPC call also applies to socketcall(2)/ipc(2) with arg0
//    the call number, as libseccomp's abi_rule_add does, so 32-bit code cannot route around it.
//
// The syscall number is found by a binary search over ranges of equal outcome, so a profile of
// hundreds of syscalls costs about a dozen instructions per syscall (see the tests).

import type { LinuxSeccomp, LinuxSeccompArg } from "../../spec/schema.ts";
import { Assembler, BPF_MAXINSNS, type Cond, type Label } from "./bpf.ts";
import { SYSCALL_ROWS } from "./syscall_table.ts";

export type NativeArch = "x86_64" | "aarch64";

export interface CompileOptions {
  nativeArch: NativeArch;
  /** Told about what is skipped or adjusted (unknown syscall names, foreign architectures...). */
  debug?(msg: string): void;
}

export interface CompiledSeccomp {
  /** struct sock_filter[], little-endian, 8 bytes an instruction. */
  program: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
  flags: number;
  /** A rule uses SCMP_ACT_NOTIFY: flags has NEW_LISTENER and the load returns the listener fd. */
  needsListener: boolean;
}

// linux/seccomp.h
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  WAIT_KILLABLE_RECV: 32,
} as const;
// linux/audit.h
export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  I386: 0x40000003,
  AARCH64: 0xc00000b7,
  ARM: 0x40000028,
} as const;
export const X32_SYSCALL_BIT = 0x40000000;

const EPERM = 1;
const ENOSYS = 38;
const MAX_ERRNO = 4095;
const U64_MAX = (1n << 64n) - 1n;
const U32 = 0xffffffff;

type Abi = "x86_64" | "x86" | "x32" | "aarch64" | "arm";

const ABIS: Record<Abi, { column: number; bits: 32 | 64; audit: number }> = {
  x86_64: { column: 1, bits: 64, audit: AUDIT_ARCH.X86_64 },
  x86: { column: 2, bits: 32, audit: AUDIT_ARCH.I386 },
  x32: { column: 3, bits: 32, audit: AUDIT_ARCH.X86_64 },
  aarch64: { column: 4, bits: 64, audit: AUDIT_ARCH.AARCH64 },
  arm: { column: 5, bits: 32, audit: AUDIT_ARCH.ARM },
};
const SCMP_ARCH: Record<string, Abi> = {
  SCMP_ARCH_X86_64: "x86_64",
  SCMP_ARCH_X86: "x86",
  SCMP_ARCH_X32: "x32",
  SCMP_ARCH_AARCH64: "aarch64",
  SCMP_ARCH_ARM: "arm",
};
const HOST_ABIS: Record<NativeArch, readonly Abi[]> = { x86_64: ["x86_64", "x86", "x32"], aarch64: ["aarch64", "arm"] };
const OTHER_ARCHES = new Set([
  "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
  "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
]);

// x86 multiplexers: linux/net.h SYS_* for socketcall(2), linux/ipc.h for ipc(2).
const SOCKETCALL = new Map(Object.entries({
  socket: 1, bind: 2, connect: 3, listen: 4, accept: 5, getsockname: 6, getpeername: 7, socketpair: 8,
  send: 9, recv: 10, sendto: 11, recvfrom: 12, shutdown: 13, setsockopt: 14, getsockopt: 15,
  sendmsg: 16, recvmsg: 17, accept4: 18, recvmmsg: 19, sendmmsg: 20,
}));
const IPC = new Map(Object.entries({
  semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14,
  shmat: 21, shmdt: 22, shmget: 23, shmctl: 24,
}));

type Op = LinuxSeccompArg["op"];
const OPS = new Set<string>(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]);

/** One comparison as the profile says it: for MASKED_EQ, value is the mask and valueTwo the datum. */
interface Arg {
  index: number;
  op: Op;
  value: bigint;
  valueTwo: bigint;
}
/** A comparison ready for one ABI: (arg & mask) <op> datum, datum already masked. */
interface Check {
  index: number;
  op: Op;
  mask: bigint;
  datum: bigint;
}
interface Rule {
  checks: Check[];
  action: number;
}
/** What one syscall number gets: `uncond` if a rule without arguments was seen, else `rules`. */
interface Entry {
  uncond?: number;
  rules: Rule[];
}

let byName: Map<string, readonly (string | number)[]> | undefined;
function row(name: string) {
  byName ??= new Map(SYSCALL_ROWS.map((r) => [r[0], r]));
  return byName.get(name);
}
const knownName = (name: string) => row(name) !== undefined;
function syscallNumber(name: string, abi: Abi): number | undefined {
  const nr = row(name)?.[ABIS[abi].column] as number | undefined;
  if (nr === undefined || nr < 0) return undefined;
  return abi === "x32" ? (nr | X32_SYSCALL_BIT) >>> 0 : nr;
}

export function compileSeccomp(config: LinuxSeccomp, opts: CompileOptions): CompiledSeccomp {
  const debug = opts.debug ?? (() => {});
  const at = "linux.seccomp";
  const hostAbis = HOST_ABIS[opts.nativeArch];
  if (!hostAbis) throw new Error(`seccomp: unsupported native architecture ${JSON.stringify(opts.nativeArch)}`);

  const defaultAction = parseAction(config.defaultAction, config.defaultErrnoRet, `${at}.defaultAction`, `${at}.defaultErrnoRet`);
  if (config.defaultAction === "SCMP_ACT_NOTIFY") {
    throw new Error(`${at}.defaultAction: cannot be SCMP_ACT_NOTIFY: the runtime's own writes after loading the filter would be trapped`);
  }

  // ---- architectures
  const abis: Abi[] = [hostAbis[0]!];
  for (const [i, arch] of (config.architectures ?? []).entries()) {
    const abi = SCMP_ARCH[arch];
    if (abi && hostAbis.includes(abi)) {
      if (!abis.includes(abi)) abis.push(abi);
    } else if (abi || OTHER_ARCHES.has(arch)) {
      debug(`${at}.architectures[${i}]: ${JSON.stringify(arch)} never runs on an ${opts.nativeArch} host; no rules are made for it`);
    } else {
      throw new Error(`${at}.architectures[${i}]: unknown architecture ${JSON.stringify(arch)}`);
    }
  }

  // ---- syscalls: check everything, then expand to (name, action, arg sets) in profile order
  const named: Named[] = [];
  let needsListener = false;
  for (const [i, call] of (config.syscalls ?? []).entries()) {
    const where = `${at}.syscalls[${i}]`;
    const action = parseAction(call.action, call.errnoRet, `${where}.action`, `${where}.errnoRet`);
    if (!Array.isArray(call.names)) throw new Error(`${where}.names: must be a list of syscall names`);
    for (const [j, name] of call.names.entries()) {
      if (typeof name !== "string" || name === "") throw new Error(`${where}.names[${j}]: must be a syscall name, found ${JSON.stringify(name)}`);
    }
    const args = (call.args ?? []).map((arg, j) => parseArg(arg, `${where}.args[${j}]`, debug));
    if (call.action === "SCMP_ACT_NOTIFY") {
      needsListener = true;
      // runc refuses this too: the init process must write() the listener fd out after loading.
      if (call.names.includes("write")) throw new Error(`${where}.names: cannot send write to SCMP_ACT_NOTIFY: the runtime's own writes would be trapped`);
    }
    // libseccomp compares each argument at most once per rule; runc then splits the rule into
    // one rule per comparison (ORed) instead of failing.
    const indexes = args.map((a) => a.index);
    const argSets = new Set(indexes).size === indexes.length ? [args] : args.map((a) => [a]);
    if (action === defaultAction) debug(`${where}: action is the default action; rules dropped as runc does`);
    for (const name of call.names) named.push({ name, action, argSets, where });
  }
  if (needsListener && !config.listenerPath) throw new Error(`${at}.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY`);
  if (config.listenerMetadata && !config.listenerPath) throw new Error(`${at}.listenerMetadata: needs listenerPath`);

  const flags = parseFlags(config.flags, needsListener, debug);

  const unknown = new Set<string>();
  for (const n of named) {
    if (knownName(n.name) || unknown.has(n.name)) continue;
    unknown.add(n.name);
    debug(`${n.where}: unknown syscall ${JSON.stringify(n.name)} skipped`);
  }

  const tables = new Map(abis.map((abi) => [abi, ruleTable(abi, named, defaultAction)]));
  const enosysStub = !["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"].includes(config.defaultAction);
  const asm = new Assembler();
  emitProgram(asm, abis, tables, defaultAction, enosysStub);
  const program = asm.assemble();
  const count = program.length / 8;
  if (count > BPF_MAXINSNS) {
    throw new Error(`${at}: the filter needs ${count} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { program, flags, needsListener };
}

// ---- profile parsing -----------------------------------------------------------------------

function parseAction(name: string, errnoRet: number | undefined, at: string, errAt: string): number {
  const data = (max: number) => {
    if (errnoRet === undefined) return EPERM;
    if (!Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > max) throw new Error(`${errAt}: must be 0..${max}, found ${JSON.stringify(errnoRet)}`);
    return errnoRet;
  };
  const plain = (value: number) => {
    if (errnoRet !== undefined) throw new Error(`${errAt}: is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${name}`);
    return value;
  };
  switch (name) {
    case "SCMP_ACT_KILL": // runc maps it to KILL_THREAD, which is what the old name meant
    case "SCMP_ACT_KILL_THREAD":
      return plain(SECCOMP_RET.KILL_THREAD);
    case "SCMP_ACT_KILL_PROCESS":
      return plain(SECCOMP_RET.KILL_PROCESS);
    case "SCMP_ACT_TRAP":
      return plain(SECCOMP_RET.TRAP);
    case "SCMP_ACT_ERRNO":
      return SECCOMP_RET.ERRNO | data(MAX_ERRNO); // the kernel caps larger values at MAX_ERRNO anyway
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET.TRACE | data(0xffff)) >>> 0; // the tracer sees it as the event message
    case "SCMP_ACT_ALLOW":
      return plain(SECCOMP_RET.ALLOW);
    case "SCMP_ACT_LOG":
      return plain(SECCOMP_RET.LOG);
    case "SCMP_ACT_NOTIFY":
      return plain(SECCOMP_RET.USER_NOTIF);
    default:
      throw new Error(`${at}: unknown action ${JSON.stringify(name)}`);
  }
}

function parseArg(arg: LinuxSeccompArg, at: string, debug: (msg: string) => void): Arg {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5) {
    throw new Error(`${at}.index: must be 0..5 (syscalls take six arguments), found ${JSON.stringify(arg.index)}`);
  }
  if (!OPS.has(arg.op)) throw new Error(`${at}.op: unknown operator ${JSON.stringify(arg.op)}`);
  return { index: arg.index, op: arg.op, value: u64(arg.value, `${at}.value`, debug), valueTwo: u64(arg.valueTwo ?? 0, `${at}.valueTwo`, debug) };
}

/** JSON numbers are doubles: u64 max arrives as 2^64, and values past 2^53 may be rounded. */
function u64(v: unknown, at: string, debug: (msg: string) => void): bigint {
  if (typeof v === "bigint" && v >= 0n && v <= U64_MAX) return v;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 64) {
    throw new Error(`${at}: must be an unsigned 64-bit integer, found ${typeof v === "bigint" ? v : JSON.stringify(v)}`);
  }
  if (v === 2 ** 64) return U64_MAX;
  if (v > Number.MAX_SAFE_INTEGER) debug(`${at}: ${v} is past 2^53, so JSON may have rounded it`);
  return BigInt(v);
}

function parseFlags(list: readonly string[] | undefined, needsListener: boolean, debug: (msg: string) => void): number {
  const at = "linux.seccomp.flags";
  // runc: no `flags` at all (not even []) means SPEC_ALLOW, when the kernel has it (4.17+).
  let flags = list === undefined ? SECCOMP_FILTER_FLAG.SPEC_ALLOW : 0;
  for (const [i, flag] of (list ?? []).entries()) {
    switch (flag) {
      case "SECCOMP_FILTER_FLAG_TSYNC":
        // runc accepts it and never passes it: the filter is loaded by one thread before execve,
        // and TSYNC with NEW_LISTENER is EINVAL unless TSYNC_ESRCH is set too.
        debug(`${at}[${i}]: SECCOMP_FILTER_FLAG_TSYNC is accepted and not passed to the kernel, as runc does`);
        break;
      case "SECCOMP_FILTER_FLAG_LOG":
        flags |= SECCOMP_FILTER_FLAG.LOG;
        break;
      case "SECCOMP_FILTER_FLAG_SPEC_ALLOW":
        flags |= SECCOMP_FILTER_FLAG.SPEC_ALLOW;
        break;
      case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV":
        // The kernel refuses it with EINVAL when there is no listener.
        if (!needsListener) throw new Error(`${at}[${i}]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY`);
        flags |= SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
        break;
      default:
        throw new Error(`${at}[${i}]: unknown flag ${JSON.stringify(flag)}`);
    }
  }
  return needsListener ? flags | SECCOMP_FILTER_FLAG.NEW_LISTENER : flags;
}

// ---- rules per syscall number ------------------------------------------------------------------

interface Named {
  name: string;
  action: number;
  argSets: Arg[][];
  where: string;
}
interface Table {
  entries: Map<number, Entry>;
  /** The highest number a profile name has on this ABI, for the ENOSYS stub. */
  highest: number | undefined;
}

function ruleTable(abi: Abi, named: readonly Named[], defaultAction: number): Table {
  const entries = new Map<number, Entry>();
  let highest: number | undefined;
  for (const n of named) {
    const nr = syscallNumber(n.name, abi);
    const mux = abi !== "x86" ? undefined
      : SOCKETCALL.has(n.name) ? { nr: syscallNumber("socketcall", abi)!, call: SOCKETCALL.get(n.name)! }
      : IPC.has(n.name) ? { nr: syscallNumber("ipc", abi)!, call: IPC.get(n.name)! }
      : undefined;
    // libseccomp resolves x86 socket/IPC names to pseudo numbers, so runc's stub skips them.
    if (nr !== undefined && !mux) highest = Math.max(highest ?? 0, nr);
    if (n.action === defaultAction) continue;
    for (const args of n.argSets) {
      if (mux) {
        const muxed: Arg[] = [{ index: 0, op: "SCMP_CMP_EQ", value: BigInt(mux.call), valueTwo: 0n }, ...args.filter((a) => a.index !== 0)];
        addRule(entries, mux.nr, { checks: checksFor(muxed, abi), action: n.action });
      }
      if (nr !== undefined) addRule(entries, nr, { checks: checksFor(args, abi), action: n.action });
    }
  }
  // runc takes a highest number of 0 (a profile naming only read, on x86_64) for "none found".
  return { entries, highest: highest || undefined };
}

function checksFor(args: readonly Arg[], abi: Abi): Check[] {
  const width = ABIS[abi].bits === 64 ? U64_MAX : BigInt(U32);
  const checks: Check[] = [];
  for (const a of args) {
    const masked = a.op === "SCMP_CMP_MASKED_EQ";
    const mask = (masked ? a.value : U64_MAX) & width;
    if (masked && mask === 0n) continue; // (x & 0) == 0 always holds: libseccomp drops it too
    checks.push({ index: a.index, op: a.op, mask, datum: (masked ? a.valueTwo : a.value) & mask });
  }
  return checks;
}

function addRule(entries: Map<number, Entry>, nr: number, rule: Rule) {
  let e = entries.get(nr);
  if (!e) entries.set(nr, (e = { rules: [] }));
  if (e.uncond !== undefined) return;
  if (rule.checks.length === 0) {
    e.uncond = rule.action;
    e.rules = [];
  } else {
    e.rules.push(rule);
  }
}

// ---- the number → outcome map of a section -------------------------------------------------------

/** Numbers from `start` up to the next interval's start all get `ret`, or the rules of `entry`. */
interface Interval {
  start: number;
  ret?: number;
  entry?: Entry;
}

type Outcome = { ret: number } | { entry: Entry };

function outcomeOf(entries: Map<number, Entry>, nr: number, defaultAction: number): Outcome {
  const e = entries.get(nr);
  if (!e) return { ret: defaultAction };
  if (e.uncond !== undefined) return { ret: e.uncond };
  return e.rules.length ? { entry: e } : { ret: defaultAction };
}

/** Walks [0, 2^32) cut at every point where `outcome` may change, merging equal neighbours. */
function intervals(cuts: Iterable<number>, outcome: (nr: number) => Outcome): Interval[] {
  const points = [...new Set([0, ...cuts])].filter((p) => p >= 0 && p <= U32).sort((a, b) => a - b);
  const out: Interval[] = [];
  for (const start of points) {
    const o = outcome(start);
    const last = out.at(-1);
    if ("ret" in o) {
      if (last?.ret === o.ret) continue;
      out.push({ start, ret: o.ret });
    } else {
      out.push({ start, entry: o.entry });
    }
  }
  return out;
}

function ruleCuts(entries: Map<number, Entry>): number[] {
  return [...entries.keys()].flatMap((nr) => [nr, nr + 1]);
}

function simpleIntervals(table: Table, defaultAction: number, enosys: number | undefined) {
  const { entries, highest } = table;
  const stub = enosys !== undefined && highest !== undefined;
  return intervals([...ruleCuts(entries), ...(stub ? [highest + 1] : [])], (nr) =>
    stub && nr > highest ? { ret: enosys } : outcomeOf(entries, nr, defaultAction),
  );
}

/** x86_64, with x32 in the same number space (numbers with __X32_SYSCALL_BIT) when listed. */
function x86_64Intervals(
  tables: Map<Abi, Table>,
  withX32: boolean,
  defaultAction: number,
  enosys: number | undefined,
): Interval[] {
  const native = tables.get("x86_64")!;
  const x32 = tables.get("x32");
  const entries = new Map([...native.entries, ...(x32?.entries ?? [])]);
  const outcome = (nr: number): Outcome => {
    const x32Bit = (nr & X32_SYSCALL_BIT) !== 0;
    // runc's stub looks at bit 30 alone, before the filter.
    if (enosys !== undefined) {
      const highest = x32Bit ? (withX32 ? x32?.highest : undefined) : native.highest;
      if (highest !== undefined && nr > highest) return { ret: enosys };
    }
    // libseccomp: without x32 in the filter, nr >= __X32_SYSCALL_BIT is a bad arch but -1.
    if (!withX32 && nr >= X32_SYSCALL_BIT) return nr === U32 ? { ret: defaultAction } : { ret: SECCOMP_RET.KILL_THREAD };
    return outcomeOf(entries, nr, defaultAction);
  };
  const cuts = [X32_SYSCALL_BIT, 0x80000000, 0xc0000000, U32, ...ruleCuts(entries)];
  for (const h of [native.highest, x32?.highest]) if (h !== undefined) cuts.push(h + 1);
  return intervals(cuts, outcome);
}

// ---- code generation -----------------------------------------------------------------------------

/** ld arch; one section per AUDIT_ARCH (x32 rides in x86_64's), each a search on nr; then the rules. */
function emitProgram(asm: Assembler, abis: readonly Abi[], tables: Map<Abi, Table>, defaultAction: number, enosysStub: boolean) {
  const rets = new Map<number, Label>();
  const retLabel = (action: number) => {
    let l = rets.get(action >>> 0);
    if (!l) rets.set(action >>> 0, (l = asm.label()));
    return l;
  };
  const badArch = retLabel(SECCOMP_RET.KILL_THREAD);
  const enosys = enosysStub ? SECCOMP_RET.ERRNO | ENOSYS : undefined;
  const blocks: { label: Label; entry: Entry }[] = [];
  const targetOf = (iv: Interval): Label => {
    if (iv.ret !== undefined) return retLabel(iv.ret);
    const label = asm.label();
    blocks.push({ label, entry: iv.entry! });
    return label;
  };

  const sections = abis.filter((a) => a !== "x32").map((abi) => ({
    abi,
    label: asm.label(),
    intervals: abi === "x86_64" ? x86_64Intervals(tables, abis.includes("x32"), defaultAction, enosys) : simpleIntervals(tables.get(abi)!, defaultAction, enosys),
  }));

  asm.load(4); // seccomp_data.arch
  for (const [k, { abi, label, intervals }] of sections.entries()) {
    const onMatch = intervals.length === 1 ? targetOf(intervals[0]!) : label;
    const next = k === sections.length - 1 ? badArch : asm.label();
    asm.jump("jeq", ABIS[abi].audit, onMatch, next);
    if (next !== badArch) asm.place(next);
  }
  for (const { label, intervals } of sections) {
    if (intervals.length === 1) continue;
    asm.place(label);
    asm.load(0); // seccomp_data.nr
    emitTree(asm, intervals, 0, intervals.length - 1, targetOf);
  }
  for (const { label, entry } of blocks) {
    asm.place(label);
    emitRules(asm, entry.rules, retLabel, retLabel(defaultAction));
  }
  for (const [action, label] of rets) {
    asm.place(label);
    asm.ret(action);
  }
}

/** A balanced binary search on nr (in A) over intervals[lo..hi]; leaves jump to their outcome. */
function emitTree(asm: Assembler, ivs: Interval[], lo: number, hi: number, targetOf: (iv: Interval) => Label) {
  const mid = (lo + hi + 1) >> 1;
  const side = (a: number, b: number) => (a === b ? { label: targetOf(ivs[a]!), inner: false } : { label: asm.label(), inner: true });
  const left = side(lo, mid - 1);
  const right = side(mid, hi);
  asm.jump("jge", ivs[mid]!.start, right.label, left.label);
  if (left.inner) {
    asm.place(left.label);
    emitTree(asm, ivs, lo, mid - 1, targetOf);
  }
  if (right.inner) {
    asm.place(right.label);
    emitTree(asm, ivs, mid, hi, targetOf);
  }
}

/** Rules tried in order; the first whose checks all hold returns its action, else `fallback`. */
function emitRules(asm: Assembler, rules: Rule[], retLabel: (action: number) => Label, fallback: Label) {
  for (const [i, rule] of rules.entries()) {
    const fail = i === rules.length - 1 ? fallback : asm.label();
    for (const [j, check] of rule.checks.entries()) {
      const last = j === rule.checks.length - 1;
      const ok = last ? retLabel(rule.action) : asm.label();
      emitCheck(asm, check, ok, fail);
      if (!last) asm.place(ok);
    }
    if (fail !== fallback) asm.place(fail);
  }
}

/** seccomp_data.args[i]: low word at 16 + 8i, high word 4 bytes later (little-endian hosts). */
function emitCheck(asm: Assembler, c: Check, ok: Label, fail: Label) {
  const lo = 16 + 8 * c.index;
  const hi = lo + 4;
  const mHi = Number(c.mask >> 32n);
  const mLo = Number(c.mask & 0xffffffffn);
  const dHi = Number(c.datum >> 32n);
  const dLo = Number(c.datum & 0xffffffffn);
  // Compare one half: `cond` true → t, false → f.
  const half = (offset: number, mask: number, cond: Cond, k: number, t: Label, f: Label) => {
    asm.load(offset);
    if (mask !== U32) asm.and(mask);
    asm.jump(cond, k, t, f);
  };

  if (c.op === "SCMP_CMP_MASKED_EQ") {
    if (mHi !== 0 && mLo !== 0) {
      const l = asm.label();
      half(hi, mHi, "jeq", dHi, l, fail);
      asm.place(l);
      half(lo, mLo, "jeq", dLo, ok, fail);
    } else if (mHi !== 0) {
      half(hi, mHi, "jeq", dHi, ok, fail);
    } else {
      half(lo, mLo, "jeq", dLo, ok, fail);
    }
    return;
  }
  if (c.mask <= 0xffffffffn) {
    // A 32-bit ABI: the low half only.
    const [cond, t, f]: [Cond, Label, Label] =
      c.op === "SCMP_CMP_EQ" ? ["jeq", ok, fail]
      : c.op === "SCMP_CMP_NE" ? ["jeq", fail, ok]
      : c.op === "SCMP_CMP_GT" ? ["jgt", ok, fail]
      : c.op === "SCMP_CMP_GE" ? ["jge", ok, fail]
      : c.op === "SCMP_CMP_LT" ? ["jge", fail, ok]
      : ["jgt", fail, ok]; // LE
    half(lo, U32, cond, dLo, t, f);
    return;
  }
  const low = asm.label();
  switch (c.op) {
    case "SCMP_CMP_EQ":
      half(hi, U32, "jeq", dHi, low, fail);
      asm.place(low);
      half(lo, U32, "jeq", dLo, ok, fail);
      return;
    case "SCMP_CMP_NE":
      half(hi, U32, "jeq", dHi, low, ok);
      asm.place(low);
      half(lo, U32, "jeq", dLo, fail, ok);
      return;
    default: {
      // Ordered: the high halves decide unless equal, then the low halves do.
      const greater = c.op === "SCMP_CMP_GT" || c.op === "SCMP_CMP_GE";
      const eqHi = asm.label();
      half(hi, U32, "jgt", dHi, greater ? ok : fail, eqHi);
      asm.place(eqHi);
      asm.jump("jeq", dHi, low, greater ? fail : ok);
      asm.place(low);
      asm.load(lo);
      if (c.op === "SCMP_CMP_GT") asm.jump("jgt", dLo, ok, fail);
      else if (c.op === "SCMP_CMP_GE") asm.jump("jge", dLo, ok, fail);
      else if (c.op === "SCMP_CMP_LT") asm.jump("jge", dLo, fail, ok);
      else asm.jump("jgt", dLo, fail, ok); // LE
    }
  }
}
