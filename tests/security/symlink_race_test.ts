// Attack class 3 (design.md §6), raced: a process sharing a volume with the container keeps
// swapping a directory of it with symlinks to a host directory (renameat2 RENAME_EXCHANGE, a C
// racer compiled at test time) while `create` runs again and again with mounts below that
// directory — the volume as a config bind mount, and as a host bind mount that is part of the
// rootfs. No mount may ever land outside the rootfs (the container's namespace is inspected by
// a createContainer hook before pivot_root), and nothing may be created in the host directory.
//
// The source of a bind mount is a host path, resolved on the host by every runtime: with its
// parent swapped, the host directory's content may be what is bound (inside the rootfs). That
// is counted and printed, not failed (runc resolves it the same way).
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { cprog, explain, type Bundle, removeCaches, run, type Sec, secCase, sh, type Spec } from "./lib/harness.ts";
import { hostTarget, mountinfoHook, mountsOutside } from "./lib/rootfs_watch.ts";

afterAll(removeCaches);

const ROUNDS = Number(process.env.SEC_RACE_ROUNDS ?? 120);
const BUDGET_MS = Number(process.env.SEC_RACE_MS ?? 25_000);

function targets(c: Spec, vol: string): void {
  c.mounts = [
    ...(c.mounts ?? []),
    { destination: `${vol}/d/mnt`, type: "tmpfs", source: "tmpfs" },
    { destination: `${vol}/d/x/y`, type: "tmpfs", source: "tmpfs" },
  ];
}

async function race(t: Sec, variant: "config bind" | "rootfs part"): Promise<void> {
  const h = hostTarget(t, (dir) => {
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "src", "host-marker"), "");
  });
  // The volume: d (a directory) and two symlinks to the host directory, absolute and relative.
  const vol = t.dir("vol", 0o777);
  fs.mkdirSync(path.join(vol, "d", "src"), { recursive: true });
  fs.writeFileSync(path.join(vol, "d", "src", "vol-marker"), "");
  fs.symlinkSync(h.dir, path.join(vol, "sa"));
  fs.symlinkSync(path.relative(vol, h.dir), path.join(vol, "sr"));
  const hook = path.join(t.tmp, "hook-mountinfo");
  const b: Bundle = t.bundle((c) => {
    sh(c, "exit 0");
    mountinfoHook(c, hook);
    if (variant === "config bind") c.mounts = [...(c.mounts ?? []), { destination: "/vol", type: "bind", source: vol, options: ["rbind", "rw"] }];
    targets(c, "/vol");
    // The source's parent is swapped too.
    c.mounts = [...(c.mounts ?? []), { destination: "/srcbind", type: "bind", source: path.join(vol, "d", "src"), options: ["rbind"] }];
  });
  // Inside the root the symlinks resolve to these (absolute: the same path below the rootfs;
  // relative: /host-target, since /vol is at the root), so creates get through to the mounts.
  fs.mkdirSync(path.join(b.rootfs, h.dir), { recursive: true });
  fs.mkdirSync(path.join(b.rootfs, path.basename(h.dir)), { recursive: true });
  const allowed: string[] = [];
  if (variant === "rootfs part") {
    const at = path.join(b.rootfs, "vol");
    fs.mkdirSync(at);
    const m = await run(["mount", "--bind", vol, at], t.io);
    expect(m.code, explain(m)).toBe(0);
    allowed.push(at);
  }

  const stop = path.join(t.tmp, "stop-racer");
  const out = fs.openSync(path.join(t.tmp, "racer.out"), "w+");
  const racer = Bun.spawn([cprog("racer"), stop, vol, "d", "sa", "sr"], { stdio: ["ignore", out, "inherit"] });
  fs.closeSync(out);
  t.own(racer.pid);
  t.defer(async () => {
    fs.writeFileSync(stop, "");
    await racer.exited;
  });

  let created = 0;
  let hostSource = 0;
  const refusals = new Map<string, number>();
  const deadline = Date.now() + BUDGET_MS;
  let round = 0;
  for (; round < ROUNDS && Date.now() < deadline; round++) {
    fs.rmSync(hook, { force: true });
    const id = t.id("race");
    const r = await t.rt(["create", "--bundle", b.dir, id]);
    h.check(`round ${round}: ${explain(r)}`, allowed);
    expect(mountsOutside(hook, b.rootfs, t.tmp), `round ${round}: mounts outside the rootfs in the container's namespace: ${explain(r)}`).toEqual([]);
    if (r.code === 0) {
      created++;
      const s = JSON.parse((await t.ok(["state", id])).stdout) as { pid: number };
      if (fs.existsSync(`/proc/${s.pid}/root/srcbind/host-marker`)) hostSource++;
    } else {
      const why = (r.stderr.trim().split("\n").at(-1) ?? "").replace(/"race-[0-9a-f]+"/, '"…"');
      refusals.set(why, (refusals.get(why) ?? 0) + 1);
    }
    await t.ok(["delete", "--force", id]);
  }
  fs.writeFileSync(stop, "");
  await racer.exited;
  h.check("after the race", allowed);
  const swaps = fs.readFileSync(path.join(t.tmp, "racer.out"), "utf8").trim();
  console.log(
    `${variant}: ${round} creates (${created} succeeded) against ${swaps}; host directory bound as the swapped source: ${hostSource}×; refusals: ${JSON.stringify([...refusals])}`,
  );
  expect(round).toBeGreaterThan(10);
}

describe("symlink swaps raced against create (CVE-2021-30465, 2024-45310)", () => {
  secCase("a volume bound by the config, its directory swapped with symlinks to a host directory", (t) => race(t, "config bind"), BUDGET_MS + 30_000);
  secCase("a host bind mount inside the rootfs, its directory swapped with symlinks to a host directory", (t) => race(t, "rootfs part"), BUDGET_MS + 30_000);
});
