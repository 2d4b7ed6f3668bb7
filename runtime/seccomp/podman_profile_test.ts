import { describe, expect, test } from "bun:test";
import { check, run, type Insn } from "./bpf_interp.ts";
import { AUDIT_ARCH, compileSeccomp, SECCOMP_RET as RET, X32_SYSCALL_BIT } from "./seccomp.ts";
import { PODMAN_PROFILE, podmanProfile } from "./testing.ts";

const profile = await podmanProfile("x86_64");
const EPERM = RET.ERRNO | 1;
const EINVAL = RET.ERRNO | 22;
const ENOSYS = RET.ERRNO | 38;

// x86_64 numbers
const NR = { read: 0, write: 1, getpid: 39, socket: 41, clone: 56, personality: 135, arch_prctl: 158, init_module: 175, add_key: 248, kexec_load: 246, open_by_handle_at: 304, bpf: 321, io_uring_setup: 425, clone3: 435 };
const CLONE_THREAD_FLAGS = 0x3d0f00n; // what glibc's pthread_create passes: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID

describe.skipIf(!profile)(`Debian's podman default profile (${PODMAN_PROFILE})`, () => {
  const compiled = compileSeccomp(profile!, { nativeArch: "x86_64" });
  const insns: Insn[] = check(compiled.program);
  const call = (nr: number, args: bigint[] = [], arch: number = AUDIT_ARCH.X86_64) => run(insns, { nr, arch, args });

  test("compiles within the kernel's limits", () => {
    expect(insns.length).toBeLessThan(1024);
    expect(compiled.flags).toBe(4); // no flags in the profile: runc's default SPEC_ALLOW
    expect(compiled.needsListener).toBe(false);
  });

  test("everyday syscalls are allowed", () => {
    for (const nr of [NR.read, NR.write, NR.getpid, NR.arch_prctl, NR.clone3]) expect(call(nr).action).toBe(RET.ALLOW);
    expect(call(NR.clone, [CLONE_THREAD_FLAGS]).action).toBe(RET.ALLOW);
    expect(call(NR.socket, [2n, 1n, 0n]).action).toBe(RET.ALLOW); // AF_INET, SOCK_STREAM
  });

  test("what the profile denies gets its errno", () => {
    for (const nr of [NR.kexec_load, NR.init_module, NR.open_by_handle_at, NR.bpf]) expect(call(nr).action).toBe(EPERM);
    expect(call(NR.socket, [16n, 3n, 9n]).action).toBe(EINVAL); // AF_NETLINK, NETLINK_AUDIT without CAP_AUDIT_WRITE
    expect(call(NR.socket, [16n, 3n, 0n]).action).toBe(RET.ALLOW); // NETLINK_ROUTE
    expect(call(NR.personality, [0n]).action).toBe(RET.ALLOW);
    expect(call(NR.personality, [0xffffffffn]).action).toBe(RET.ALLOW);
    expect(call(NR.personality, [1n]).action).toBe(ENOSYS); // the profile's default errno
  });

  test("syscalls the profile does not name get its default, ENOSYS, as do newer ones", () => {
    for (const nr of [NR.add_key, NR.io_uring_setup, 471, 500]) expect(call(nr).action).toBe(ENOSYS);
  });

  test("32-bit x86 and x32 code is filtered with its own numbers", () => {
    expect(call(20, [], AUDIT_ARCH.I386).action).toBe(RET.ALLOW); // getpid
    expect(call(283, [], AUDIT_ARCH.I386).action).toBe(EPERM); // kexec_load
    expect(call(102, [1n], AUDIT_ARCH.I386).action).toBe(RET.ALLOW); // socketcall
    expect(call((X32_SYSCALL_BIT | 39) >>> 0).action).toBe(RET.ALLOW); // x32 getpid
    expect(call((X32_SYSCALL_BIT | 528) >>> 0).action).toBe(EPERM); // x32 kexec_load
    expect(call(172, [], AUDIT_ARCH.AARCH64).action).toBe(RET.KILL_THREAD);
  });

  test("instructions walked stay far below a linear scan", () => {
    const walked = {
      getpid: call(NR.getpid).steps,
      read: call(NR.read).steps,
      kexec_load: call(NR.kexec_load).steps,
      "socket(AF_NETLINK, NETLINK_AUDIT)": call(NR.socket, [16n, 3n, 9n]).steps,
      "i386 getpid": call(20, [], AUDIT_ARCH.I386).steps,
      "unknown (nr 500)": call(500).steps,
    };
    const allowed = profile!.syscalls!.filter((s) => s.action === "SCMP_ACT_ALLOW").reduce((n, s) => n + s.names.length, 0);
    console.log(`podman profile: ${insns.length} instructions; walked per syscall: ${JSON.stringify(walked)}; a linear scan would test up to ${allowed} numbers`);
    for (const steps of Object.values(walked)) expect(steps).toBeLessThan(25);
    expect(walked.getpid).toBeLessThan(15);
  });

  test("the aarch64 build of the profile filters arm64 and arm", async () => {
    const arm = compileSeccomp((await podmanProfile("aarch64"))!, { nativeArch: "aarch64" });
    const a = check(arm.program);
    expect(run(a, { nr: 172, arch: AUDIT_ARCH.AARCH64 }).action).toBe(RET.ALLOW); // getpid
    expect(run(a, { nr: 104, arch: AUDIT_ARCH.AARCH64 }).action).toBe(EPERM); // kexec_load
    expect(run(a, { nr: 20, arch: AUDIT_ARCH.ARM }).action).toBe(RET.ALLOW); // getpid
    expect(run(a, { nr: 0x0f0005, arch: AUDIT_ARCH.ARM }).action).toBe(RET.ALLOW); // set_tls
    expect(run(a, { nr: 39, arch: AUDIT_ARCH.X86_64 }).action).toBe(RET.KILL_THREAD);
  });

  test("compiling it is quick", () => {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) compileSeccomp(profile!, { nativeArch: "x86_64" });
    const ms = (performance.now() - t0) / 20;
    console.log(`podman profile compiles in ${ms.toFixed(2)} ms`);
    expect(ms).toBeLessThan(50);
  });
});
