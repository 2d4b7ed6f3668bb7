// Loads compiled programs into the real kernel (root, x86_64, gcc): a small C harness installs
// the filter and makes one syscall, and we look at what came back.

import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LinuxSeccomp } from "../../spec/schema.ts";
import { compileSeccomp } from "./seccomp.ts";
import { buildC, canBuildAndLoad, podmanProfile } from "./testing.ts";

const skip = canBuildAndLoad();
const harness = skip ? undefined : buildC(join(import.meta.dir, "testdata/seccomp_harness.c"));
afterAll(() => harness?.cleanup());

let n = 0;
/** Runs the harness with `config` loaded: the syscall's return value and errno, or the signal. */
function load(config: LinuxSeccomp | null, abi: 64 | 32, nr: number | "-", ...args: (number | bigint)[]): { signal: string } | { ret: number; errno: number } {
  const file = join(harness!.dir, `filter${n++}.bin`);
  let flags = "-";
  if (config) {
    const out = compileSeccomp(config, { nativeArch: "x86_64" });
    writeFileSync(file, out.program);
    flags = String(out.flags);
  }
  const p = Bun.spawnSync([harness!.bin, file, flags, String(abi), String(nr), ...args.map(String)], { stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  if (p.signalCode) return { signal: String(p.signalCode) };
  if (p.exitCode !== 0) throw new Error(`harness exited ${p.exitCode}: ${p.stderr.toString()}`);
  const [ret, errno] = p.stdout.toString().trim().split(" ").map(Number);
  return { ret: ret!, errno: errno! };
}

// x86_64 numbers
const NR = { dup: 32, getpid: 39, socket: 41, getppid: 110, kexec_load: 246, add_key: 248, getrandom: 318 };
const harnessNeeds = ["write", "exit_group"];

describe.skipIf(skip !== undefined)(`the kernel runs our programs${skip ? ` (skipped: ${skip})` : ""}`, () => {
  test("a denied syscall returns the configured errno and an allowed one runs", () => {
    const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 42 }] };
    expect(load(config, 64, NR.getppid)).toEqual({ ret: -1, errno: 42 });
    const pid = load(config, 64, NR.getpid);
    expect(pid).toMatchObject({ errno: 0 });
    expect("ret" in pid && pid.ret > 1).toBe(true);
  });

  test("argument comparisons use all 64 bits", () => {
    const value = 2 ** 32 + 1000;
    const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["dup"], action: "SCMP_ACT_ERRNO", errnoRet: 7, args: [{ index: 0, value, op: "SCMP_CMP_EQ" }] }] };
    expect(load(config, 64, NR.dup, value)).toEqual({ ret: -1, errno: 7 });
    expect(load(config, 64, NR.dup, 1000)).toEqual({ ret: -1, errno: 9 }); // EBADF from dup itself
  });

  test("a syscall newer than the profile gets ENOSYS, an older unnamed one the default errno", () => {
    const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: [...harnessNeeds, "getpid"], action: "SCMP_ACT_ALLOW" }] };
    expect(load(config, 64, NR.getrandom, 0, 0, 0)).toEqual({ ret: -1, errno: 38 }); // 318 > exit_group (231)
    expect(load(config, 64, NR.getppid)).toEqual({ ret: -1, errno: 1 });
    expect(load(config, 64, NR.getpid)).toMatchObject({ errno: 0 });
  });

  test("KILL_PROCESS, KILL_THREAD and TRAP end the process with SIGSYS", () => {
    for (const action of ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"] as const) {
      const config: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getppid"], action }] };
      expect(load(config, 64, NR.getppid)).toEqual({ signal: "SIGSYS" });
    }
  });

  test("flags and a listener are accepted by the kernel", () => {
    const config: LinuxSeccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      listenerPath: "/run/agent.sock",
      syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }],
    };
    const fd = load(config, 64, "-");
    expect("ret" in fd && fd.ret >= 3).toBe(true); // the listener fd
  });

  const int80 = load(null, 32, 20); // getpid through the i386 entry, no filter
  const ia32 = "ret" in int80 && int80.ret > 1;
  test.skipIf(!ia32)("32-bit syscalls are killed unless SCMP_ARCH_X86 is listed, and then use i386 numbers", () => {
    const rules: LinuxSeccomp["syscalls"] = [{ names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 5 }];
    expect(load({ defaultAction: "SCMP_ACT_ALLOW", syscalls: rules }, 32, 64)).toEqual({ signal: "SIGSYS" });
    const both: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: rules };
    expect(load(both, 32, 64)).toEqual({ ret: -5, errno: 0 }); // getppid is 64 on i386
    const pid = load(both, 32, 20);
    expect("ret" in pid && pid.ret > 1).toBe(true);
  });

  test("Debian's podman profile, loaded", async () => {
    const config = await podmanProfile("x86_64");
    if (!config) return;
    expect(load(config, 64, NR.getpid)).toMatchObject({ errno: 0 });
    expect(load(config, 64, NR.kexec_load, 0, 0, 0, 0)).toEqual({ ret: -1, errno: 1 });
    expect(load(config, 64, NR.add_key)).toEqual({ ret: -1, errno: 38 });
    expect(load(config, 64, NR.socket, 16, 3, 9)).toEqual({ ret: -1, errno: 22 }); // NETLINK_AUDIT
    expect(load(config, 64, NR.socket, 16, 3, 0)).toMatchObject({ errno: 0 });
  });
});
