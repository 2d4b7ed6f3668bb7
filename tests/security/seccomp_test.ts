// Seccomp: podman's default profile, tsrun against runc. The profile comes from podman itself (a
// private podman creates a container and the linux.seccomp it writes into the bundle is taken
// as is), and a static probe compiled at test time tries ~125 system calls — common ones, and
// the ones the profile denies or allows only for some arguments — in a container with that
// exact filter and podman's capabilities. Every call must give the same result under both.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { explain, removeCaches, RUNC, type Sec, secCase, type Spec } from "./lib/harness.ts";
import { type PodmanDefaults, podmanDefaults } from "./lib/podman_profile.ts";

let podman: PodmanDefaults;
beforeAll(async () => {
  podman = await podmanDefaults();
}, 120_000);
afterAll(removeCaches);

function results(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

async function probe(t: Sec, filter: boolean, runtime?: string): Promise<Map<string, string>> {
  const b = t.bundle(
    (c: Spec) => {
      c.process!.args = ["/syscalls"];
      c.process!.capabilities = structuredClone(podman.capabilities);
      c.process!.noNewPrivileges = podman.noNewPrivileges;
      if (filter) c.linux.seccomp = structuredClone(podman.seccomp);
    },
    { programs: ["syscalls"] },
  );
  const o = runtime ? { runtime, root: `${t.tmp}/state-${runtime.split("/").pop()}` } : {};
  const r = await t.rt(["run", "--bundle", b.dir, t.id("sc", o.runtime, o.root)], o);
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout, explain(r)).toContain("done");
  return results(r.stdout);
}

describe("seccomp: podman's default profile", () => {
  secCase("every probed syscall gives the same result under tsrun and under runc", async (t) => {
    if (!RUNC) throw new Error("runc is not installed");
    const ours = await probe(t, true);
    const theirs = await probe(t, true, RUNC);
    const open = await probe(t, false);
    expect(ours.size).toBeGreaterThanOrEqual(60);
    const differ = [...ours.keys(), ...theirs.keys()]
      .filter((k, i, all) => all.indexOf(k) === i)
      .filter((k) => ours.get(k) !== theirs.get(k))
      .map((k) => `${k}: tsrun ${ours.get(k)}, runc ${theirs.get(k)}`);
    expect(differ, "syscalls whose result differs between tsrun and runc").toEqual([]);
    // Not vacuous: the filter changes results (unfiltered, in the same container otherwise).
    const filtered = [...ours].filter(([k, v]) => open.get(k) !== v).map(([k, v]) => `${k}: ${open.get(k)} → ${v}`);
    expect(filtered.length, "the profile changed no result").toBeGreaterThan(5);
    console.log(`${podman.podman}: ${ours.size} syscalls probed, identical under tsrun and runc; the filter changed: ${filtered.join(", ")}`);
  });
});
