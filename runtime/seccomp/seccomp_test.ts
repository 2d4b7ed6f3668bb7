import { describe, expect, test } from "bun:test";
import type { LinuxSeccomp, LinuxSeccompArg } from "../../spec/schema.ts";
import { accumulatorTrouble, check, run, type SeccompData } from "./bpf_interp.ts";
import { SYSCALL_ROWS } from "./syscall_table.ts";
import { AUDIT_ARCH, compileSeccomp, SECCOMP_FILTER_FLAG as FLAG, SECCOMP_RET as RET, X32_SYSCALL_BIT, type NativeArch } from "./seccomp.ts";

const X86_64 = AUDIT_ARCH.X86_64;
const I386 = AUDIT_ARCH.I386;
const ERRNO = (e: number) => RET.ERRNO | e;
const EPERM = ERRNO(1);
const ENOSYS = ERRNO(38);

// x86_64 numbers used below.
const NR = { read: 0, write: 1, dup: 32, getpid: 39, socket: 41, clone: 56, getppid: 110, personality: 135, clone3: 435 };

function compile(config: LinuxSeccomp, nativeArch: NativeArch = "x86_64", debug?: (m: string) => void) {
  const out = compileSeccomp(config, { nativeArch, debug });
  const trouble = accumulatorTrouble(check(out.program)); // check: the kernel's load-time checks
  if (trouble) throw new Error(trouble);
  return out;
}

/** The action for one syscall; args default to zero. */
function act(config: LinuxSeccomp, nr: number, args: bigint[] = [], arch: number = X86_64, nativeArch: NativeArch = "x86_64") {
  return run(compile(config, nativeArch).program, { nr, arch, args }).action;
}

const allowExcept = (syscalls: LinuxSeccomp["syscalls"]): LinuxSeccomp => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls });

describe("actions", () => {
  test("every action returns its SECCOMP_RET value", () => {
    const names = ["read", "write", "dup", "getpid", "socket", "clone", "getppid", "personality", "clone3", "kill"];
    const config: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/run/agent.sock",
      syscalls: [
        { names: [names[0]!], action: "SCMP_ACT_KILL" },
        { names: [names[1]!], action: "SCMP_ACT_KILL_THREAD" },
        { names: [names[2]!], action: "SCMP_ACT_KILL_PROCESS" },
        { names: [names[3]!], action: "SCMP_ACT_TRAP" },
        { names: [names[4]!], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: [names[5]!], action: "SCMP_ACT_ERRNO" },
        { names: [names[6]!], action: "SCMP_ACT_TRACE", errnoRet: 7 },
        { names: [names[7]!], action: "SCMP_ACT_TRACE" },
        { names: [names[8]!], action: "SCMP_ACT_LOG" },
        { names: [names[9]!], action: "SCMP_ACT_NOTIFY" },
      ],
    };
    const { program } = compile(config);
    const got = [0, 1, 32, 39, 41, 56, 110, 135, 435, 62].map((nr) => run(program, { nr, arch: X86_64 }).action);
    expect(got).toEqual([RET.KILL_THREAD, RET.KILL_THREAD, RET.KILL_PROCESS, RET.TRAP, ERRNO(13), EPERM, RET.TRACE | 7, RET.TRACE | 1, RET.LOG, RET.USER_NOTIF]);
    expect(run(program, { nr: NR.getpid + 1, arch: X86_64 }).action).toBe(RET.ALLOW);
  });

  test("the default action takes defaultErrnoRet, and EPERM without it", () => {
    expect(act({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38 }, NR.read)).toBe(ENOSYS);
    expect(act({ defaultAction: "SCMP_ACT_ERRNO" }, NR.read)).toBe(EPERM);
    expect(act({ defaultAction: "SCMP_ACT_TRACE", defaultErrnoRet: 9 }, NR.read)).toBe(RET.TRACE | 9);
  });

  test("a rule's errnoRet defaults to EPERM, not to defaultErrnoRet (runtime-spec, runc)", () => {
    const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }] };
    expect(act(config, NR.getpid)).toBe(EPERM);
  });

  test("errnoRet 0 makes the syscall return 0 without running", () => {
    expect(act(allowExcept([{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 0 }]), NR.getpid)).toBe(RET.ERRNO);
  });
});

describe("profile errors name the field", () => {
  const fails = (config: LinuxSeccomp, message: string) => expect(() => compile(config)).toThrow(message);

  test("unknown action", () => {
    fails(allowExcept([{ names: ["read"], action: "SCMP_ACT_ALLOW" }, { names: ["read"], action: "SCMP_ACT_FOO" as "SCMP_ACT_LOG" }]), 'linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_FOO"');
    fails({ defaultAction: "SCMP_ACT_NOPE" as "SCMP_ACT_LOG" }, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"');
  });
  test("errno out of range, or on an action that has none", () => {
    fails(allowExcept([{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: 4096 }]), "linux.seccomp.syscalls[0].errnoRet: must be 0..4095, found 4096");
    fails({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: -1 }, "linux.seccomp.defaultErrnoRet: must be 0..4095");
    fails(allowExcept([{ names: ["read"], action: "SCMP_ACT_KILL", errnoRet: 1 }]), "linux.seccomp.syscalls[0].errnoRet: is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_KILL");
  });
  test("notify needs a listener path, and may not be the default or catch write", () => {
    fails(allowExcept([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }]), "linux.seccomp.listenerPath: is required when a rule uses SCMP_ACT_NOTIFY");
    fails({ defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/a" }, "linux.seccomp.defaultAction: cannot be SCMP_ACT_NOTIFY");
    fails({ ...allowExcept([{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }]), listenerPath: "/a" }, "linux.seccomp.syscalls[0].names: cannot send write to SCMP_ACT_NOTIFY");
  });
  test("arguments", () => {
    const arg = (a: Partial<LinuxSeccompArg>) => allowExcept([{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ", ...a }] }]);
    fails(arg({ index: 6 }), "linux.seccomp.syscalls[0].args[0].index: must be 0..5");
    fails(arg({ op: "SCMP_CMP_XX" as "SCMP_CMP_EQ" }), 'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"');
    fails(arg({ value: -1 }), "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer, found -1");
    fails(arg({ valueTwo: 1.5 }), "linux.seccomp.syscalls[0].args[0].valueTwo: must be an unsigned 64-bit integer");
  });
  test("architectures and flags", () => {
    fails({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80" as "SCMP_ARCH_X86"] }, 'linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"');
    fails({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }, "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY");
    fails({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NOPE" as "SECCOMP_FILTER_FLAG_LOG"] }, 'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"');
    fails(allowExcept([{ names: [""], action: "SCMP_ACT_ERRNO" }]), "linux.seccomp.syscalls[0].names[0]: must be a syscall name");
  });
});

describe("flags", () => {
  const flags = (config: Partial<LinuxSeccomp>) => compile({ defaultAction: "SCMP_ACT_ALLOW", ...config }).flags;

  test("no flags field at all means SPEC_ALLOW, as runc defaults it; an empty list means none", () => {
    expect(flags({})).toBe(FLAG.SPEC_ALLOW);
    expect(flags({ flags: [] })).toBe(0);
  });
  test("LOG and SPEC_ALLOW are passed through; TSYNC is accepted and dropped as runc does", () => {
    const told: string[] = [];
    const out = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }, { nativeArch: "x86_64", debug: (m) => told.push(m) });
    expect(out.flags).toBe(FLAG.LOG | FLAG.SPEC_ALLOW);
    expect(told.join("\n")).toContain("linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_TSYNC is accepted and not passed");
  });
  test("a NOTIFY rule asks for a listener; WAIT_KILLABLE_RECV then goes with it", () => {
    const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/a", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] };
    const out = compile(config);
    expect(out.needsListener).toBe(true);
    expect(out.flags).toBe(FLAG.NEW_LISTENER | FLAG.WAIT_KILLABLE_RECV);
    expect(compile({ defaultAction: "SCMP_ACT_ALLOW" }).needsListener).toBe(false);
  });
});

describe("argument comparisons", () => {
  const H = 1n << 32n;
  const values = [0n, 1n, 4n, 5n, 6n, 0xffffffffn, H, H + 4n, H + 5n, H + 6n, 2n * H + 5n, 0xffffffffn * H, (1n << 63n) + 5n, (1n << 64n) - 1n];
  const truth: Record<string, (a: bigint, v: bigint) => boolean> = {
    SCMP_CMP_EQ: (a, v) => a === v,
    SCMP_CMP_NE: (a, v) => a !== v,
    SCMP_CMP_LT: (a, v) => a < v,
    SCMP_CMP_LE: (a, v) => a <= v,
    SCMP_CMP_GT: (a, v) => a > v,
    SCMP_CMP_GE: (a, v) => a >= v,
  };

  test.each(Object.keys(truth))("%s compares all 64 bits, unsigned, including values that differ only in the high half", (op) => {
    for (const v of values) {
      const { program } = compile(allowExcept([{ names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, value: v as unknown as number, op: op as LinuxSeccompArg["op"] }] }]));
      for (const a of values) {
        const want = truth[op]!(a, v) ? EPERM : RET.ALLOW;
        const got = run(program, { nr: NR.dup, arch: X86_64, args: [0n, 0n, a] }).action;
        if (got !== want) throw new Error(`${op} ${v}: arg ${a} gave ${got.toString(16)}, want ${want.toString(16)}`);
      }
    }
  });

  test("SCMP_CMP_MASKED_EQ is (arg & value) == valueTwo over 64 bits; a zero mask half always matches", () => {
    const masks = [0n, 0xffn, 0xff00000000n, 0xff000000ffn, (1n << 64n) - 1n, 1n << 63n];
    const args = [0n, 0x12n, 0x1200000000n, 0x1200000012n, 0xffffffffffffffffn, 1n << 63n, 0x12n | (1n << 63n)];
    for (const mask of masks) {
      for (const datum of [0n, 0x12n, 0x1200000000n, 0x1200000012n, 1n << 63n, 0x1234n]) {
        const { program } = compile(allowExcept([{ names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: mask as unknown as number, valueTwo: datum as unknown as number, op: "SCMP_CMP_MASKED_EQ" }] }]));
        for (const a of args) {
          // libseccomp masks the datum too, so a datum with bits outside the mask still matches.
          const want = (a & mask) === (datum & mask) ? EPERM : RET.ALLOW;
          expect({ mask, datum, a, got: run(program, { nr: NR.dup, arch: X86_64, args: [a] }).action }).toEqual({ mask, datum, a, got: want });
        }
      }
    }
  });

  test("on a 32-bit ABI only the low halves of value and argument are compared, as libseccomp does", () => {
    const config: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [{ names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 32 + 5, op: "SCMP_CMP_EQ" }] }],
    };
    const x86dup = 41;
    expect(act(config, x86dup, [5n], I386)).toBe(EPERM);
    expect(act(config, x86dup, [(7n << 32n) + 5n], I386)).toBe(EPERM);
    expect(act(config, x86dup, [6n], I386)).toBe(RET.ALLOW);
    // and on x86_64 the high half counts
    expect(act(config, NR.dup, [5n])).toBe(RET.ALLOW);
    expect(act(config, NR.dup, [(1n << 32n) + 5n])).toBe(EPERM);
  });

  test("comparisons in one rule are ANDed; rules for one syscall are ORed", () => {
    const config = allowExcept([
      { names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }, { index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
      { names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 2, value: 3, op: "SCMP_CMP_EQ" }] },
    ]);
    expect(act(config, NR.dup, [1n, 2n])).toBe(EPERM);
    expect(act(config, NR.dup, [1n, 0n])).toBe(RET.ALLOW);
    expect(act(config, NR.dup, [0n, 2n])).toBe(RET.ALLOW);
    expect(act(config, NR.dup, [0n, 0n, 3n])).toBe(EPERM);
  });

  test("one argument named twice in a rule makes one rule per comparison (runc's fallback): they are ORed", () => {
    const config = allowExcept([{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }, { index: 0, value: 9, op: "SCMP_CMP_EQ" }] }]);
    expect(act(config, NR.personality, [8n])).toBe(EPERM);
    expect(act(config, NR.personality, [9n])).toBe(EPERM);
    expect(act(config, NR.personality, [10n])).toBe(RET.ALLOW);
  });

  test("u64 max survives JSON (it parses as 2^64) and bigint values are taken as they are", () => {
    const max = JSON.parse('{"v": 18446744073709551615}').v as number;
    const config = allowExcept([{ names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: max, op: "SCMP_CMP_EQ" }] }]);
    expect(act(config, NR.dup, [(1n << 64n) - 1n])).toBe(EPERM);
    const big = allowExcept([{ names: ["dup"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: ((1n << 62n) + 1n) as unknown as number, op: "SCMP_CMP_EQ" }] }]);
    expect(act(big, NR.dup, [(1n << 62n) + 1n])).toBe(EPERM);
    expect(act(big, NR.dup, [1n << 62n])).toBe(RET.ALLOW);
  });
});

describe("architectures", () => {
  const onlyNative = allowExcept([{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }]);

  test("a syscall from an ABI the profile does not list is killed (libseccomp's bad-arch action)", () => {
    expect(act(onlyNative, 20, [], I386)).toBe(RET.KILL_THREAD);
    expect(act(onlyNative, NR.getpid, [], AUDIT_ARCH.AARCH64)).toBe(RET.KILL_THREAD);
    expect(act(onlyNative, (X32_SYSCALL_BIT | NR.getpid) >>> 0)).toBe(RET.KILL_THREAD);
    expect(act(onlyNative, NR.getpid)).toBe(EPERM);
  });

  test("nr -1, which tracers use to skip a syscall, is not taken for x32", () => {
    expect(act(onlyNative, 0xffffffff)).toBe(RET.ALLOW);
  });

  test("x86 and x32 are filtered with their own numbers when listed", () => {
    const config: LinuxSeccomp = { ...onlyNative, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] };
    expect(act(config, 20, [], I386)).toBe(EPERM); // getpid on i386
    expect(act(config, 39, [], I386)).toBe(RET.ALLOW); // 39 is mkdir there
    expect(act(config, (X32_SYSCALL_BIT | 39) >>> 0)).toBe(EPERM);
    expect(act(config, (X32_SYSCALL_BIT | 40) >>> 0)).toBe(RET.ALLOW);
    expect(act(config, 20)).toBe(RET.ALLOW); // writev on x86_64
  });

  test("x32 only: x86 stays a bad arch", () => {
    const config: LinuxSeccomp = { ...onlyNative, architectures: ["SCMP_ARCH_X32"] };
    expect(act(config, (X32_SYSCALL_BIT | 39) >>> 0)).toBe(EPERM);
    expect(act(config, 20, [], I386)).toBe(RET.KILL_THREAD);
  });

  test("an empty list means the native ABI only", () => {
    expect(act({ ...onlyNative, architectures: [] }, 20, [], I386)).toBe(RET.KILL_THREAD);
  });

  test("an aarch64 host filters arm when listed, and skips ABIs it cannot run", () => {
    const told: string[] = [];
    const config: LinuxSeccomp = { ...onlyNative, architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86_64", "SCMP_ARCH_MIPS"] };
    const { program } = compileSeccomp(config, { nativeArch: "aarch64", debug: (m) => told.push(m) });
    expect(run(program, { nr: 172, arch: AUDIT_ARCH.AARCH64 }).action).toBe(EPERM);
    expect(run(program, { nr: 20, arch: AUDIT_ARCH.ARM }).action).toBe(EPERM);
    expect(run(program, { nr: 39, arch: X86_64 }).action).toBe(RET.KILL_THREAD);
    expect(told).toContain('linux.seccomp.architectures[2]: "SCMP_ARCH_X86_64" never runs on an aarch64 host; no rules are made for it');
    expect(told).toContain('linux.seccomp.architectures[3]: "SCMP_ARCH_MIPS" never runs on an aarch64 host; no rules are made for it');
  });
});

describe("syscall names", () => {
  test("unknown names are skipped and reported; the rest of the rule still applies", () => {
    const told: string[] = [];
    const { program } = compileSeccomp(allowExcept([{ names: ["no_such_syscall", "getpid"], action: "SCMP_ACT_ERRNO" }]), { nativeArch: "x86_64", debug: (m) => told.push(m) });
    expect(run(program, { nr: NR.getpid, arch: X86_64 }).action).toBe(EPERM);
    expect(told).toContain('linux.seccomp.syscalls[0]: unknown syscall "no_such_syscall" skipped');
  });

  test("names that exist on another ABI only are not reported, and apply where they exist", () => {
    const told: string[] = [];
    const config: LinuxSeccomp = { ...allowExcept([{ names: ["waitpid"], action: "SCMP_ACT_ERRNO" }]), architectures: ["SCMP_ARCH_X86"] };
    const { program } = compileSeccomp(config, { nativeArch: "x86_64", debug: (m) => told.push(m) });
    expect(told).toEqual([]);
    expect(run(program, { nr: 7, arch: I386 }).action).toBe(EPERM); // waitpid on i386
    expect(run(program, { nr: 7, arch: X86_64 }).action).toBe(RET.ALLOW); // poll on x86_64
  });

  test("names like constructor are not looked up on Object.prototype", () => {
    const told: string[] = [];
    const config: LinuxSeccomp = { ...allowExcept([{ names: ["constructor", "__proto__", "toString"], action: "SCMP_ACT_ERRNO" }]), architectures: ["SCMP_ARCH_X86"] };
    const { program } = compileSeccomp(config, { nativeArch: "x86_64", debug: (m) => told.push(m) });
    expect(run(program, { nr: 102, arch: I386 }).action).toBe(RET.ALLOW);
    expect(told.length).toBe(3);
  });
});

describe("rule priority", () => {
  test("a rule without arguments beats rules with arguments for the same syscall, before or after it", () => {
    const cond = { names: ["dup"], action: "SCMP_ACT_ERRNO" as const, errnoRet: 5, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" as const }] };
    const plain = { names: ["dup"], action: "SCMP_ACT_ERRNO" as const, errnoRet: 6 };
    expect(act(allowExcept([cond, plain]), NR.dup, [1n])).toBe(ERRNO(6));
    expect(act(allowExcept([plain, cond]), NR.dup, [1n])).toBe(ERRNO(6));
  });

  test("of two rules without arguments, the first one wins", () => {
    const config = allowExcept([
      { names: ["dup"], action: "SCMP_ACT_ERRNO", errnoRet: 5 },
      { names: ["dup"], action: "SCMP_ACT_KILL_PROCESS" },
    ]);
    expect(act(config, NR.dup)).toBe(ERRNO(5));
  });

  test("rules with arguments are tried in profile order; the first match wins", () => {
    const config = allowExcept([
      { names: ["dup"], action: "SCMP_ACT_ERRNO", errnoRet: 5, args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["dup"], action: "SCMP_ACT_ERRNO", errnoRet: 6, args: [{ index: 1, value: 2, op: "SCMP_CMP_EQ" }] },
    ]);
    expect(act(config, NR.dup, [1n, 2n])).toBe(ERRNO(5));
    expect(act(config, NR.dup, [0n, 2n])).toBe(ERRNO(6));
    expect(act(config, NR.dup, [0n, 0n])).toBe(RET.ALLOW);
  });

  test("a rule whose action is the default action is dropped, as runc does, even where it would have mattered", () => {
    const config = allowExcept([
      { names: ["dup"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] },
      { names: ["dup"], action: "SCMP_ACT_ERRNO" },
    ]);
    expect(act(config, NR.dup, [1n])).toBe(EPERM);
  });
});

describe("ENOSYS for syscalls newer than the profile (runc's patchbpf stub)", () => {
  const profile = (defaultAction: LinuxSeccomp["defaultAction"], extra: LinuxSeccomp["syscalls"] = []): LinuxSeccomp => ({
    defaultAction,
    syscalls: [{ names: ["read", "write", "getpid"], action: defaultAction === "SCMP_ACT_ALLOW" ? "SCMP_ACT_ERRNO" : "SCMP_ACT_ALLOW" }, ...extra],
  });

  test("above the highest syscall the profile names: ENOSYS; at or below it: the rules and the default", () => {
    const config = profile("SCMP_ACT_ERRNO", [{ names: ["clone3"], action: "SCMP_ACT_ALLOW" }]);
    expect(act(config, NR.clone3)).toBe(RET.ALLOW);
    expect(act(config, NR.clone3 + 1)).toBe(ENOSYS);
    expect(act(config, 0x3fffffff)).toBe(ENOSYS);
    expect(act(config, 434)).toBe(EPERM);
  });

  test("a name counts even when its rule is dropped for equalling the default", () => {
    const config = profile("SCMP_ACT_ERRNO", [{ names: ["clone3"], action: "SCMP_ACT_ERRNO" }]);
    expect(act(config, NR.clone3)).toBe(EPERM);
    expect(act(config, NR.clone3 + 1)).toBe(ENOSYS);
    expect(act(config, NR.getpid + 1)).toBe(EPERM);
  });

  test("kill and trap defaults get it too; allow, log and trace defaults do not", () => {
    expect(act(profile("SCMP_ACT_KILL_PROCESS"), 400)).toBe(ENOSYS);
    expect(act(profile("SCMP_ACT_TRAP"), 400)).toBe(ENOSYS);
    expect(act(profile("SCMP_ACT_ALLOW"), 400)).toBe(RET.ALLOW);
    expect(act(profile("SCMP_ACT_LOG"), 400)).toBe(RET.LOG);
    expect(act(profile("SCMP_ACT_TRACE"), 400)).toBe(RET.TRACE | 1);
  });

  test("each ABI has its own highest number", () => {
    const config: LinuxSeccomp = { ...profile("SCMP_ACT_ERRNO"), architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] };
    expect(act(config, NR.getpid + 1)).toBe(ENOSYS); // x86_64: getpid (39) is the highest
    expect(act(config, 21, [], I386)).toBe(ENOSYS); // i386: getpid is 20
    expect(act(config, 19, [], I386)).toBe(EPERM);
    expect(act(config, (X32_SYSCALL_BIT | 40) >>> 0)).toBe(ENOSYS);
    expect(act(config, (X32_SYSCALL_BIT | 38) >>> 0)).toBe(EPERM);
    expect(act(config, 0xffffffff)).toBe(ENOSYS);
  });

  test("without x32 listed, x32 numbers stay a bad arch while the rest above the highest get ENOSYS", () => {
    const config = profile("SCMP_ACT_ERRNO");
    expect(act(config, (X32_SYSCALL_BIT | 1) >>> 0)).toBe(RET.KILL_THREAD);
    expect(act(config, 0x80000000)).toBe(ENOSYS);
    expect(act(config, 0xffffffff)).toBe(EPERM);
  });

  test("x86 socket and IPC names do not raise the highest number (libseccomp gives them pseudo numbers)", () => {
    const config: LinuxSeccomp = { ...profile("SCMP_ACT_ERRNO", [{ names: ["socket"], action: "SCMP_ACT_ALLOW" }]), architectures: ["SCMP_ARCH_X86"] };
    expect(act(config, 359, [], I386)).toBe(ENOSYS); // socket on i386: above getpid (20)
    expect(act(config, NR.socket)).toBe(RET.ALLOW); // x86_64 socket (41) is the highest there
  });
});

describe("x86 socketcall and ipc", () => {
  const config: LinuxSeccomp = { ...allowExcept([{ names: ["socket", "semop"], action: "SCMP_ACT_ERRNO" }]), architectures: ["SCMP_ARCH_X86"] };

  test("a socket rule also catches socketcall(SYS_SOCKET) and an IPC rule ipc(SEMOP)", () => {
    expect(act(config, 359, [], I386)).toBe(EPERM); // socket
    expect(act(config, 102, [1n], I386)).toBe(EPERM); // socketcall(SYS_SOCKET, ...)
    expect(act(config, 102, [3n], I386)).toBe(RET.ALLOW); // socketcall(SYS_CONNECT, ...)
    expect(act(config, 117, [1n], I386)).toBe(EPERM); // ipc(SEMOP, ...)
    expect(act(config, 117, [2n], I386)).toBe(RET.ALLOW);
    expect(act(config, 102, [1n], X86_64)).toBe(RET.ALLOW); // 102 is getuid on x86_64
  });

  test("the multiplexed rule keeps the other comparisons and replaces the one on arg0", () => {
    const withArgs: LinuxSeccomp = {
      ...allowExcept([{ names: ["socket"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }, { index: 2, value: 9, op: "SCMP_CMP_EQ" }] }]),
      architectures: ["SCMP_ARCH_X86"],
    };
    expect(act(withArgs, 359, [16n, 0n, 9n], I386)).toBe(EPERM);
    expect(act(withArgs, 102, [1n, 0n, 9n], I386)).toBe(EPERM);
    expect(act(withArgs, 102, [1n, 0n, 8n], I386)).toBe(RET.ALLOW);
  });
});

describe("program size", () => {
  test("a profile needing jumps past 255 instructions still decides every syscall right", () => {
    // 300 syscalls, each allowed only for one argument value: a long program of rule blocks.
    const syscalls = Array.from({ length: 300 }, (_, i) => ({ names: [`nr${i}`], action: "SCMP_ACT_ALLOW" as const, args: [{ index: 0, value: i, op: "SCMP_CMP_EQ" as const }] }));
    const names = firstSyscalls(300);
    syscalls.forEach((s, i) => (s.names = [names[i]!.name]));
    const { program } = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls });
    expect(program.length / 8).toBeGreaterThan(600);
    const insns = check(program);
    expect(insns.some((i) => i.code === 0x05)).toBe(true); // ja: a long jump was needed
    for (const [i, { nr }] of names.entries()) {
      expect(run(insns, { nr, arch: X86_64, args: [BigInt(i)] }).action).toBe(RET.ALLOW);
      expect(run(insns, { nr, arch: X86_64, args: [BigInt(i + 1)] }).action).toBe(EPERM);
    }
  });

  test("more than BPF_MAXINSNS instructions is refused with the count", () => {
    const names = firstSyscalls(300);
    const args = Array.from({ length: 6 }, (_, index) => ({ index, value: 2 ** 40 + index, op: "SCMP_CMP_GE" as const }));
    const syscalls = names.map(({ name }) => ({ names: [name], action: "SCMP_ACT_ALLOW" as const, args }));
    expect(() => compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls })).toThrow(/^linux\.seccomp: the filter needs \d+ BPF instructions, more than the kernel's limit of 4096$/);
  });
});

/** The first `count` x86_64 syscalls, by number. */
function firstSyscalls(count: number): { name: string; nr: number }[] {
  return SYSCALL_ROWS.filter((r) => r[1] >= 0)
    .map((r) => ({ name: r[0], nr: r[1] }))
    .sort((a, b) => a.nr - b.nr)
    .slice(0, count);
}

test("the syscall table agrees with the kernel's numbers for a few well-known calls", () => {
  const row = (n: string) => SYSCALL_ROWS.find((r) => r[0] === n)?.slice(1);
  expect(row("getpid")).toEqual([39, 20, 39, 172, 20]);
  expect(row("clone3")).toEqual([435, 435, 435, 435, 435]);
  expect(row("rt_sigaction")).toEqual([13, 174, 512, 134, 174]);
  expect(row("set_tls")).toEqual([-1, -1, -1, -1, 0x0f0005]);
});

test("interpreter data: args and instruction pointer halves are read little-endian", () => {
  const data: SeccompData = { nr: 1, arch: X86_64, instructionPointer: 0x1122334455667788n, args: [0xaabbccdd00112233n] };
  const config = allowExcept([{ names: ["write"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0xaabbccdd00112233n as unknown as number, op: "SCMP_CMP_EQ" }] }]);
  expect(run(compile(config).program, data).action).toBe(EPERM);
});
