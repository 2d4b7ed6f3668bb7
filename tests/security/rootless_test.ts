// Rootless, as a real unprivileged user made by the test (useradd; its /etc/subuid and
// /etc/subgid ranges come from useradd's defaults), running tsrun through setpriv with
// XDG_RUNTIME_DIR in a temp dir it owns. The `spec --rootless` config through the whole
// lifecycle; state under $XDG_RUNTIME_DIR/tsrun; a single mapping of its own ids (setgroups
// denied); several ranges through newuidmap/newgidmap; no cgroup of its own on this host (a
// warning) but an error when limits are asked for; /sys/fs/cgroup; nothing left behind.
// runc (rootless by itself when run unprivileged) goes through the same where it compares.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { baseRootfs, cprog, explain, mountsUnder, parseMountInfo, removeCaches, RUNC, type Result, type Sec, secCase, type Spec, TSRUN, waitFor } from "./lib/harness.ts";
import { TestUser } from "./lib/user.ts";

let user: TestUser;
beforeAll(() => {
  user = TestUser.create();
});
afterAll(async () => {
  removeCaches();
  await user?.remove();
});

interface Rootless {
  xdg: string;
  bundle: string;
  config: Spec;
  /** `runtime args…` as the user, XDG_RUNTIME_DIR set. */
  as(args: string[], runtime?: string): Promise<Result>;
  write(): void;
}

/** A bundle owned by the user with the config `spec --rootless` wrote (as the user), and its XDG dir. */
async function rootless(t: Sec, name = "rl"): Promise<Rootless> {
  const xdg = t.dir(`${name}-xdg`, 0o700);
  fs.chownSync(xdg, user.uid, user.gid);
  const bundle = t.dir(name);
  fs.chownSync(bundle, user.uid, user.gid);
  const env = { XDG_RUNTIME_DIR: xdg, TMPDIR: xdg };
  const as = (args: string[], runtime = TSRUN) => user.run([runtime, ...args], t.io, { env, cwd: bundle });
  const spec = await as(["spec", "--rootless", "--bundle", bundle]);
  expect(spec.code, explain(spec)).toBe(0);
  Bun.spawnSync(["cp", "-a", baseRootfs(), path.join(bundle, "rootfs")]);
  fs.copyFileSync(cprog("secprobe"), path.join(bundle, "rootfs", "secprobe"));
  fs.chmodSync(path.join(bundle, "rootfs", "secprobe"), 0o755);
  const config = JSON.parse(fs.readFileSync(path.join(bundle, "config.json"), "utf8")) as Spec;
  config.process!.terminal = false;
  config.process!.args = ["sleep", "100000"];
  const r: Rootless = {
    xdg,
    bundle,
    config,
    as,
    write: () => fs.writeFileSync(path.join(bundle, "config.json"), JSON.stringify(config, null, 2)),
  };
  r.write();
  // Whatever a case leaves, delete it as the user (its state lives in the user's XDG dir).
  t.defer(async () => {
    for (const rt of [TSRUN, RUNC]) {
      if (!rt) continue;
      const root = path.join(xdg, path.basename(rt));
      if (!fs.existsSync(root)) continue;
      for (const id of fs.readdirSync(root)) await as(["delete", "--force", id], rt);
    }
  });
  return r;
}

function lines(r: Result): string {
  return r.stdout.trim();
}

async function waitStopped(rl: Rootless, id: string, runtime = TSRUN): Promise<void> {
  await waitFor(async () => JSON.parse((await rl.as(["state", id], runtime)).stdout || "{}").status === "stopped", 10_000, `${id} to stop`);
}

function nothingLeft(t: Sec, rl: Rootless, id: string, runtime = TSRUN): void {
  expect(fs.existsSync(path.join(rl.xdg, path.basename(runtime), id)), "state left behind").toBe(false);
  expect(user.pids(), "processes of the user left behind").toEqual([]);
  expect(mountsUnder(t.tmp), "mounts left behind").toEqual([]);
}

describe("rootless, as a real unprivileged user", () => {
  for (const runtime of [TSRUN, RUNC]) {
    if (!runtime) continue;
    const rt = path.basename(runtime);
    secCase(`${rt}: the \`spec --rootless\` config through create/start/state/exec/kill/delete, state under $XDG_RUNTIME_DIR/${rt}`, async (t) => {
      const rl = await rootless(t);
      const id = t.id("rl");
      const c = await rl.as(["--debug", "create", "--bundle", rl.bundle, id], runtime);
      expect(c.code, explain(c)).toBe(0);
      const said = c.stderr.split("\n").filter((l) => /cgroup|warn/i.test(l) && !/nsexec/.test(l));
      console.log(`${rt} create --debug (rootless, hybrid cgroups) said: ${JSON.stringify(said.join("\n").slice(0, 1500))}`);
      // No cgroup of its own on this host (v1 controllers are root's): a warning, not an error.
      if (runtime === TSRUN) expect(c.stderr, explain(c)).toMatch(/warning: rootless: running without a cgroup of its own/);
      expect(fs.existsSync(path.join(rl.xdg, rt, id)), `no state under ${rl.xdg}/${rt}`).toBe(true);
      expect((await rl.as(["start", id], runtime)).code).toBe(0);
      const st = JSON.parse((await rl.as(["state", id], runtime)).stdout) as { status: string; pid: number };
      expect(st.status).toBe("running");
      // The host's view: the process runs as the user, its namespace maps only the user's own id.
      expect(fs.statSync(`/proc/${st.pid}`).uid).toBe(user.uid);
      expect(fs.readFileSync(`/proc/${st.pid}/uid_map`, "utf8").trim().split(/\s+/)).toEqual(["0", String(user.uid), "1"]);
      const x = await rl.as(["exec", id, "sh", "-c", "id -u; cat /proc/self/setgroups; cat /proc/self/uid_map"], runtime);
      expect(x.code, explain(x)).toBe(0);
      const [uid, setgroups, map] = lines(x).split("\n");
      expect(uid).toBe("0");
      expect(setgroups).toBe("deny");
      expect(map?.trim().split(/\s+/)).toEqual(["0", String(user.uid), "1"]);
      expect((await rl.as(["kill", id, "KILL"], runtime)).code).toBe(0);
      await waitStopped(rl, id, runtime);
      const d = await rl.as(["delete", id], runtime);
      expect(d.code, explain(d)).toBe(0);
      nothingLeft(t, rl, id, runtime);
    });

    secCase(`${rt}: a config asking for limits is refused without a cgroup the user may create`, async (t) => {
      const rl = await rootless(t);
      rl.config.linux = { ...rl.config.linux, resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } } };
      rl.write();
      const id = t.id("rl");
      const c = await rl.as(["create", "--bundle", rl.bundle, id], runtime);
      console.log(`${rt}, rootless with limits: exit ${c.code}: ${JSON.stringify(c.stderr.trim().slice(0, 800))}`);
      if (runtime === TSRUN) {
        expect(c.code, explain(c)).not.toBe(0);
        expect(c.stderr, explain(c)).toMatch(/linux\.resources\.memory/);
      }
      if (c.code === 0) await rl.as(["delete", "--force", id], runtime);
      nothingLeft(t, rl, id, runtime);
    });
  }

  secCase("tsrun: several ranges through newuidmap/newgidmap (the user's /etc/subuid, /etc/subgid)", async (t) => {
    expect(user.subuid, "useradd gave the user no /etc/subuid range").not.toBeNull();
    expect(user.subgid, "useradd gave the user no /etc/subgid range").not.toBeNull();
    const rl = await rootless(t);
    const n = Math.min(user.subuid!.count, user.subgid!.count, 65536);
    rl.config.linux!.uidMappings = [
      { containerID: 0, hostID: user.uid, size: 1 },
      { containerID: 1, hostID: user.subuid!.start, size: n },
    ];
    rl.config.linux!.gidMappings = [
      { containerID: 0, hostID: user.gid, size: 1 },
      { containerID: 1, hostID: user.subgid!.start, size: n },
    ];
    rl.write();
    const id = t.id("rl");
    const c = await rl.as(["create", "--bundle", rl.bundle, id]);
    expect(c.code, explain(c)).toBe(0);
    expect((await rl.as(["start", id])).code).toBe(0);
    const st = JSON.parse((await rl.as(["state", id])).stdout) as { pid: number };
    const map = (f: string) => fs.readFileSync(`/proc/${st.pid}/${f}`, "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(map("uid_map")).toEqual([`0 ${user.uid} 1`, `1 ${user.subuid!.start} ${n}`]);
    expect(map("gid_map")).toEqual([`0 ${user.gid} 1`, `1 ${user.subgid!.start} ${n}`]);
    // setgroups is allowed (newgidmap wrote the map), and container id 1000 is a subordinate id.
    const x = await rl.as(["exec", "--cap", "CAP_CHOWN", id, "sh", "-c", "cat /proc/self/setgroups; touch /dev/shm/f && chown 1000:1000 /dev/shm/f && echo chowned"]);
    expect(lines(x).split("\n"), explain(x)).toEqual(["allow", "chowned"]);
    const f = fs.statSync(`/proc/${st.pid}/root/dev/shm/f`);
    expect([f.uid, f.gid]).toEqual([user.subuid!.start + 999, user.subgid!.start + 999]);
    expect((await rl.as(["delete", "--force", id])).code).toBe(0);
    nothingLeft(t, rl, id);
  });

  for (const ro of [true, false]) {
    secCase(`/sys/fs/cgroup of a rootless container (${ro ? "ro" : "rw"} asked, no cgroup namespace): tsrun no weaker than runc`, async (t) => {
      const probe = [
        "for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/*/tasks; do [ -e $f ] && /secprobe wopen $f; done",
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo | sed 's/^/m /'",
      ].join("; ");
      const results: Record<string, { writable: string[]; mounts: string[] }> = {};
      for (const runtime of [TSRUN, RUNC]) {
        if (!runtime) continue;
        const rl = await rootless(t, `rl-${path.basename(runtime)}`);
        rl.config.process!.args = ["sh", "-c", probe];
        for (const m of rl.config.mounts ?? []) if (m.type === "cgroup") m.options = (m.options ?? []).filter((o) => o !== "ro" && o !== "rw").concat(ro ? "ro" : "rw");
        rl.write();
        const r = await rl.as(["run", "--bundle", rl.bundle, t.id("rl")], runtime);
        expect(r.code, explain(r)).toBe(0);
        // `spec --rootless` binds the host's /sys (rbind): its cgroup submounts come along, covered by
        // the cgroup mount. Only what is on top is reachable.
        const all = parseMountInfo(r.stdout.split("\n").filter((l) => l.startsWith("m ")).map((l) => l.slice(2)).join("\n"));
        const covers = (a: string, b: string) => a === b || b.startsWith(`${a}/`);
        const mounts = all.filter((m, i) => !all.slice(i + 1).some((later) => covers(later.mountPoint, m.mountPoint)));
        results[path.basename(runtime)] = {
          writable: r.stdout.split("\n").filter((l) => l.startsWith("path=") && l.endsWith("wopen=0")).map((l) => l.split(" ")[0]!.slice(5)),
          mounts: mounts.map((m) => `${m.mountPoint} ${m.options.split(",")[0]} ${m.fsType} root=${m.root}`),
        };
        expect(user.pids()).toEqual([]);
      }
      console.log(`rootless /sys/fs/cgroup (${ro ? "ro" : "rw"}): ${JSON.stringify(results, null, 1)}`);
      const ours = results[path.basename(TSRUN)]!;
      if (ro) {
        expect(ours.writable).toEqual([]);
        for (const m of ours.mounts) expect(m, "not read-only").toContain(" ro ");
      }
      const theirs = RUNC ? results[path.basename(RUNC)] : undefined;
      if (theirs) expect(ours.writable.filter((w) => !theirs.writable.includes(w)), "writable under tsrun, not under runc").toEqual([]);
    });
  }
});
