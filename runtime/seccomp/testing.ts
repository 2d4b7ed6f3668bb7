// Test helpers: Debian's podman profile as podman would hand it to the runtime, and building the
// small C programs the kernel and libseccomp tests run.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LinuxSeccomp } from "../../spec/schema.ts";
import type { NativeArch } from "./seccomp.ts";

export const PODMAN_PROFILE = "/usr/share/containers/seccomp.json";

// containers.conf default_capabilities
const PODMAN_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"];

interface DockerProfile {
  defaultAction: LinuxSeccomp["defaultAction"];
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls: (NonNullable<LinuxSeccomp["syscalls"]>[number] & {
    includes?: { arches?: string[]; caps?: string[] };
    excludes?: { arches?: string[]; caps?: string[] };
  })[];
}

/**
 * The profile in the docker/podman format turned into linux.seccomp the way containers/common
 * does for a container with podman's default capabilities: the archMap entry of the host, rules
 * kept by their includes/excludes (Go arch names, capabilities). undefined if not installed.
 */
export async function podmanProfile(nativeArch: NativeArch = "x86_64"): Promise<LinuxSeccomp | undefined> {
  if (!existsSync(PODMAN_PROFILE)) return undefined;
  const p = (await Bun.file(PODMAN_PROFILE).json()) as DockerProfile;
  const scmp = nativeArch === "x86_64" ? "SCMP_ARCH_X86_64" : "SCMP_ARCH_AARCH64";
  const goArch = nativeArch === "x86_64" ? "amd64" : "arm64";
  const entry = p.archMap?.find((a) => a.architecture === scmp);
  const has = (list: string[] | undefined, v: string) => list?.includes(v) ?? false;
  const syscalls = p.syscalls
    .filter(({ includes: inc = {}, excludes: exc = {} }) => {
      if (inc.arches?.length && !has(inc.arches, goArch)) return false;
      if (inc.caps?.length && !inc.caps.every((c) => PODMAN_CAPS.includes(c))) return false;
      if (has(exc.arches, goArch) || exc.caps?.some((c) => PODMAN_CAPS.includes(c))) return false;
      return true;
    })
    .map(({ names, action, errnoRet, args }) => ({ names, action, errnoRet, args }));
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] as LinuxSeccomp["architectures"] : [],
    syscalls,
  };
}

/** gcc is here and we are root on x86_64: what the kernel tests need. */
export function canBuildAndLoad(): string | undefined {
  if (process.arch !== "x64") return "the harness is x86_64-only";
  if (process.getuid?.() !== 0) return "needs root";
  if (!Bun.which("gcc")) return "needs gcc";
  return undefined;
}

/** Compiles one C file into a fresh temp dir; returns the binary and a cleanup function. */
export function buildC(source: string, extra: string[] = []): { bin: string; dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "tsrun-seccomp-"));
  const bin = join(dir, "prog");
  const cc = Bun.spawnSync(["gcc", "-O1", "-Wall", "-o", bin, source, ...extra], { stderr: "pipe" });
  if (cc.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`gcc ${source}: ${cc.stderr.toString()}`);
  }
  return { bin, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
