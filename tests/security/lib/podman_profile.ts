// podman's default seccomp profile in OCI form, the way podman itself hands it to a runtime: a
// private podman (tests/drivers/lib/podman.ts: its own storage and config in a temp dir, the
// busybox image imported) creates a container with runc and its defaults, and the config.json
// it wrote into the container's bundle is read back. Everything is removed afterwards.
import * as fs from "node:fs";
import * as path from "node:path";
import { PodmanEnv } from "../../drivers/lib/podman.ts";
import { expectOk } from "../../drivers/lib/proc.ts";
import { rand, RUNC } from "./harness.ts";

export interface PodmanDefaults {
  /** linux.seccomp exactly as podman wrote it. */
  seccomp: Record<string, unknown>;
  /** process.capabilities as podman wrote them (its default set). */
  capabilities: Record<string, string[]>;
  noNewPrivileges: boolean;
  podman: string;
}

export async function podmanDefaults(): Promise<PodmanDefaults> {
  if (!RUNC) throw new Error("podman's profile is captured with runc as podman's runtime: runc is not installed");
  const env = await PodmanEnv.create();
  try {
    const runc = { name: "runc", path: RUNC };
    const name = `tsrun-sec-${rand()}`;
    const created = expectOk(await env.podman(runc, ["create", "--name", name, "--network", "none", "--cgroup-parent", env.cgroupParent, env.image, "true"]));
    const id = created.stdout.trim();
    // `init` makes podman write the bundle and have the runtime create the container.
    expectOk(await env.podman(runc, ["init", name]));
    const file = path.join(env.dir, "graph", "overlay-containers", id, "userdata", "config.json");
    const config = JSON.parse(fs.readFileSync(file, "utf8")) as {
      linux: { seccomp?: Record<string, unknown> };
      process: { capabilities: Record<string, string[]>; noNewPrivileges?: boolean };
    };
    const version = expectOk(await env.podman(null, ["--version"])).stdout.trim();
    expectOk(await env.podman(runc, ["rm", "--force", "--time", "0", name]));
    if (!config.linux.seccomp) throw new Error(`podman wrote no linux.seccomp into ${file}`);
    return { seccomp: config.linux.seccomp, capabilities: config.process.capabilities, noNewPrivileges: config.process.noNewPrivileges === true, podman: version };
  } finally {
    await env.teardown();
  }
}
