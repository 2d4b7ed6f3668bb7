// What podman's default seccomp profile costs a process in the kernel, under tsrun and under
// runc, against no filter. Measures, never asserts. Root only.
//
//   bun bench/seccomp_latency.ts            ROUNDS=7 CALLS=5000000 TSRUN=bin/tsrun
//
// A static C loop (tests/security/c/latency.c) times system calls inside a container: getpid and
// read(-1) (allowed whatever the arguments: the kernel's seccomp action cache may answer them
// without running the filter), personality(0xffffffff) (allowed for some arguments only: the
// filter runs every time) and kcmp (denied: the filter runs and an errno comes back). Rounds are
// interleaved, each in a rotated order, so machine noise hits every variant alike; the report
// gives medians and ratios to "no filter".
//
// Then the programs themselves: tsrun's (compileSeccomp, as tsrun installs it) and the one runc
// actually installed (read back from a running container with PTRACE_SECCOMP_GET_FILTER), run
// through runtime/seccomp's BPF interpreter: how many instructions each path walks.
import * as fs from "node:fs";
import * as path from "node:path";
import { run as bpfRun, check, decode } from "../runtime/seccomp/bpf_interp.ts";
import { AUDIT_ARCH, compileSeccomp } from "../runtime/seccomp/seccomp.ts";
import type { LinuxSeccomp } from "../spec/schema.ts";
import { baseConfig, baseRootfs, cprog, removeCaches, RUNC, run, TSRUN } from "../tests/security/lib/harness.ts";
import { podmanDefaults } from "../tests/security/lib/podman_profile.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const CALLS = Number(process.env.CALLS ?? 5_000_000);
const KINDS = ["getpid", "read", "personality", "denied"] as const;
type Kind = (typeof KINDS)[number];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const tmp = fs.mkdtempSync("/tmp/tsrun-bench-seccomp-");
fs.chmodSync(tmp, 0o755);
const io = path.join(tmp, "io");
fs.mkdirSync(io);
const ids: { runtime: string; root: string; id: string }[] = [];
let serial = 0;

function bundle(name: string, process: (c: ReturnType<typeof baseConfig>) => void): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  Bun.spawnSync(["cp", "-a", baseRootfs(), path.join(dir, "rootfs")]);
  fs.copyFileSync(cprog("latency"), path.join(dir, "rootfs", "latency"));
  fs.chmodSync(path.join(dir, "rootfs", "latency"), 0o755);
  const c = baseConfig();
  c.ociVersion = "1.0.2";
  delete c.linux.cgroupsPath;
  process(c);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(c));
  return dir;
}

async function rt(runtime: string, args: string[]) {
  const root = path.join(tmp, `state-${path.basename(runtime)}`);
  const r = await run([runtime, "--root", root, ...args], io, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${runtime} ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r;
}

function newId(runtime: string): string {
  const id = `bench-${process.pid}-${serial++}`;
  ids.push({ runtime, root: path.join(tmp, `state-${path.basename(runtime)}`), id });
  return id;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("needs root");
  const podman = await podmanDefaults();
  const profile = podman.seccomp as unknown as LinuxSeccomp;
  const withProfile = (filter: boolean) => (c: ReturnType<typeof baseConfig>) => {
    c.process!.args = ["/latency", String(CALLS)];
    c.process!.capabilities = structuredClone(podman.capabilities);
    c.process!.noNewPrivileges = podman.noNewPrivileges;
    if (filter) c.linux.seccomp = structuredClone(podman.seccomp);
  };
  const variants = [
    { name: "no filter", runtime: TSRUN, dir: bundle("open", withProfile(false)) },
    { name: "tsrun + podman profile", runtime: TSRUN, dir: bundle("tsrun", withProfile(true)) },
    ...(RUNC ? [{ name: "runc + podman profile", runtime: RUNC, dir: bundle("runc", withProfile(true)) }] : []),
  ];
  const samples = new Map<string, Record<Kind, number[]>>(variants.map((v) => [v.name, { getpid: [], read: [], personality: [], denied: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(round + k) % variants.length]!;
      const r = await rt(v.runtime, ["run", "--bundle", v.dir, newId(v.runtime)]);
      for (const line of r.stdout.split("\n")) {
        const m = /^(\w+) ns=([\d.]+)$/.exec(line);
        if (m) samples.get(v.name)![m[1] as Kind].push(Number(m[2]));
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
  }

  console.log(`\n${podman.podman} default profile, ${CALLS} calls per sample, ${ROUNDS} interleaved rounds; median ns per call (ratio to no filter) [min–max]`);
  const base = samples.get("no filter")!;
  const W = 30;
  console.log(["variant".padEnd(24), ...KINDS.map((k) => k.padStart(W))].join(""));
  for (const v of variants) {
    const s = samples.get(v.name)!;
    const cells = KINDS.map((k) =>
      `${median(s[k]).toFixed(1)} (${(median(s[k]) / median(base[k])).toFixed(2)}×) [${Math.min(...s[k]).toFixed(0)}–${Math.max(...s[k]).toFixed(0)}]`.padStart(W),
    );
    console.log([v.name.padEnd(24), ...cells].join(""));
  }
  if (RUNC) {
    const t = samples.get("tsrun + podman profile")!;
    const r = samples.get("runc + podman profile")!;
    console.log(`tsrun / runc: ${KINDS.map((k) => `${k} ${(median(t[k]) / median(r[k])).toFixed(2)}×`).join(", ")}`);
  }

  // The programs: tsrun's as compiled, and what each runtime really installed.
  const ours = compileSeccomp(profile, { nativeArch: "x86_64" });
  const installed: Record<string, Uint8Array> = { "tsrun (compileSeccomp)": ours.program };
  for (const v of variants.filter((x) => x.name !== "no filter")) {
    const dir = bundle(`dump-${path.basename(v.runtime)}`, (c) => {
      withProfile(true)(c);
      c.process!.args = ["sleep", "100000"];
    });
    const id = newId(v.runtime);
    await rt(v.runtime, ["run", "--detach", "--bundle", dir, id]);
    const st = JSON.parse((await rt(v.runtime, ["state", id])).stdout) as { pid: number };
    const d = Bun.spawnSync([cprog("seccomp_dump"), String(st.pid)], { stdout: "pipe", stderr: "pipe" });
    if (d.exitCode === 0) installed[`${path.basename(v.runtime)} (installed)`] = new Uint8Array(d.stdout);
    else console.log(`could not read ${v.name}'s filter: ${d.stderr.toString()}`);
    await rt(v.runtime, ["delete", "--force", id]);
  }
  const paths: [string, number, bigint[]][] = [
    ["getpid", 39, []],
    ["read", 0, [0xffffffffffffffffn]],
    ["personality(0xffffffff)", 135, [0xffffffffn]],
    ["kcmp (denied)", 312, []],
    ["kexec_load (denied)", 246, []],
    ["socket(AF_NETLINK, NETLINK_AUDIT)", 41, [16n, 3n, 9n]],
    ["unknown nr 500 (default action)", 500, []],
  ];
  console.log("\nBPF instructions walked per path (runtime/seccomp/bpf_interp.ts)");
  console.log(["program".padEnd(26), "length".padStart(8), ...paths.map(([n]) => n.padStart(Math.max(10, n.length + 2)))].join(""));
  for (const [name, prog] of Object.entries(installed)) {
    let insns;
    try {
      insns = check(prog);
    } catch (e) {
      console.log(`${name}: ${decode(prog).length} instructions, not interpretable: ${(e as Error).message}`);
      continue;
    }
    const cells = paths.map(([n, nr, args]) => {
      const r = bpfRun(insns, { nr, arch: AUDIT_ARCH.X86_64, args });
      return `${r.steps} (${(r.action >>> 16).toString(16)})`.padStart(Math.max(10, n.length + 2));
    });
    console.log([name.padEnd(26), String(insns.length).padStart(8), ...cells].join(""));
  }
  console.log("(action in parentheses: 7fff = allow, 5 = errno)");
  // The kernel's seccomp action cache (5.11+): a syscall number the filter allows without looking
  // at anything but nr and arch is answered from a bitmap, and the filter is not run for it.
  console.log("\nkernel action cache (kernel/seccomp.c seccomp_is_const_allow, emulated): x86_64 numbers 0..469 answered without running the filter");
  for (const [name, prog] of Object.entries(installed)) {
    const insns = decode(prog);
    const cached = Array.from({ length: 470 }, (_, nr) => nr).filter((nr) => constAllow(insns, nr, AUDIT_ARCH.X86_64));
    const allowed = Array.from({ length: 470 }, (_, nr) => nr).filter((nr) => {
      try {
        return bpfRun(insns, { nr, arch: AUDIT_ARCH.X86_64, args: [0n, 0n, 0n, 0n, 0n, 0n] }).action === 0x7fff0000;
      } catch {
        return false;
      }
    });
    const probe = paths.map(([n, nr]) => `${n.split(" ")[0]}: ${constAllow(insns, nr, AUDIT_ARCH.X86_64) ? "cached" : "runs"}`);
    console.log(`${name.padEnd(26)} ${cached.length} cached (of ${allowed.length} allowed with zero arguments); ${probe.join(", ")}`);
  }
  const same = installed["tsrun (installed)"];
  if (same) console.log(`tsrun's installed filter ${Buffer.compare(Buffer.from(same), Buffer.from(ours.program)) === 0 ? "is byte for byte" : "differs from"} compileSeccomp's output`);
}

/** kernel/seccomp.c seccomp_is_const_allow: does the program allow nr/arch without loading anything else? */
function constAllow(insns: { code: number; jt: number; jf: number; k: number }[], nr: number, arch: number): boolean {
  let a = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, k, jt, jf } = insns[pc]!;
    switch (code) {
      case 0x20: // ld [k]
        if (k === 0) a = nr;
        else if (k === 4) a = arch;
        else return false;
        break;
      case 0x06: // ret
        return k >>> 0 === 0x7fff0000;
      case 0x05: // ja
        pc += k;
        break;
      case 0x15:
      case 0x35:
      case 0x25:
      case 0x45: {
        const r = code === 0x15 ? a === k >>> 0 : code === 0x35 ? a >>> 0 >= k >>> 0 : code === 0x25 ? a >>> 0 > k >>> 0 : (a & k) !== 0;
        pc += r ? jt : jf;
        break;
      }
      case 0x54: // and #k
        a = (a & k) >>> 0;
        break;
      default:
        return false;
    }
  }
  return false;
}

try {
  await main();
} finally {
  for (const c of ids.reverse()) await run([c.runtime, "--root", c.root, "delete", "--force", c.id], io).catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
  removeCaches();
}
