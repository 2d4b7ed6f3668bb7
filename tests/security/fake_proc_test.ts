// Attack class 4 (design.md §6): writes to a fake /proc (CVE-2019-16884, 2019-19921,
// 2025-52881). The image's /proc is a directory of plain files, or the config puts a tmpfs, a
// host directory or a volume where procfs belongs: linux.sysctl, oomScoreAdj and the uid/gid
// maps must still reach the real procfs — checked from the host (/proc/<pid>/oom_score_adj,
// uid_map, the sysctl inside the container's real network namespace) — and nothing may be
// written into the fake.
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Bundle, explain, removeCaches, run, type Sec, secCase, setNamespace, sh, type Spec, tree } from "./lib/harness.ts";

afterAll(removeCaches);

const SYSCTL = "net.ipv4.tcp_keepalive_time";
const SYSCTL_FILE = "sys/net/ipv4/tcp_keepalive_time";
const VALUE = "1234";
const OOM = 123;
/** The host uid/gid of the container's root (its user namespace maps 0 → this). */
const HOST_ROOT = 200000;

/** A procfs look-alike of plain files, where every write tsrun makes would land. */
function fakeProc(dir: string): void {
  const files: Record<string, string> = {
    [SYSCTL_FILE]: "fake\n",
    "sys/kernel/hostname": "fake\n",
    "self/oom_score_adj": "fake\n",
    "self/uid_map": "fake\n",
    "self/gid_map": "fake\n",
    "self/setgroups": "fake\n",
    "self/attr/exec": "fake\n",
    "1/oom_score_adj": "fake\n",
    "1/uid_map": "fake\n",
    "thread-self/attr/exec": "fake\n",
  };
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  // Owned by the container's root, as an image's files are: nothing but the runtime's own
  // choice of where to write keeps them unchanged.
  Bun.spawnSync(["chown", "-R", `${HOST_ROOT}:${HOST_ROOT}`, dir]);
}

function snapshot(dir: string): string {
  return tree(dir)
    .map((rel) => {
      const p = path.join(dir, rel);
      return fs.lstatSync(p).isFile() ? `${rel}=${fs.readFileSync(p, "utf8")}` : rel;
    })
    .join("\n");
}

/** sysctl, oomScoreAdj, a user namespace with maps, a network namespace; the process waits. */
function asks(c: Spec): void {
  sh(c, "exit 0");
  c.process!.oomScoreAdj = OOM;
  c.linux.sysctl = { [SYSCTL]: VALUE };
  setNamespace(c, "user");
  c.linux.uidMappings = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: HOST_ROOT, size: 65536 }];
  // A user-namespaced container binds devices; its cgroup mount is not the point here.
  c.mounts = (c.mounts ?? []).filter((m) => m.type !== "cgroup");
}

/** What the real procfs says about pid, seen from the host. */
async function realEffects(t: Sec, pid: number): Promise<{ oom: string; uidMap: string; sysctl: string }> {
  const ns = await run(["nsenter", `--net=/proc/${pid}/ns/net`, "cat", `/proc/${SYSCTL_FILE}`], t.io);
  expect(ns.code, explain(ns)).toBe(0);
  return {
    oom: fs.readFileSync(`/proc/${pid}/oom_score_adj`, "utf8").trim(),
    uidMap: fs.readFileSync(`/proc/${pid}/uid_map`, "utf8").trim().split(/\s+/).join(" "),
    sysctl: ns.stdout.trim(),
  };
}

interface Case {
  name: string;
  /** Makes the fake and returns the directory that must stay untouched. */
  setup(t: Sec, b: Bundle): string;
  edit(c: Spec, fake: string): void;
}

const procMount = (c: Spec, m: NonNullable<Spec["mounts"]>[number] | null) => {
  c.mounts = (c.mounts ?? []).flatMap((x) => (x.destination === "/proc" ? (m ? [m] : []) : [x]));
};

const CASES: Case[] = [
  {
    name: "the image's /proc is a directory of plain files and the config mounts no procfs",
    setup: (_t, b) => {
      fakeProc(path.join(b.rootfs, "proc"));
      return path.join(b.rootfs, "proc");
    },
    edit: (c) => procMount(c, null),
  },
  {
    name: "the image's /proc is a symlink to a directory of plain files and the config mounts procfs there",
    setup: (_t, b) => {
      const d = path.join(b.rootfs, "fakeproc");
      fakeProc(d);
      fs.rmSync(path.join(b.rootfs, "proc"), { recursive: true, force: true });
      fs.symlinkSync("fakeproc", path.join(b.rootfs, "proc"));
      return d;
    },
    edit: () => {},
  },
  {
    name: "the image's /proc is a symlink to a directory of plain files and the config mounts no procfs",
    setup: (_t, b) => {
      const d = path.join(b.rootfs, "fakeproc");
      fakeProc(d);
      fs.rmSync(path.join(b.rootfs, "proc"), { recursive: true, force: true });
      fs.symlinkSync("/fakeproc", path.join(b.rootfs, "proc"));
      return d;
    },
    edit: (c) => procMount(c, null),
  },
  {
    name: "the config mounts a host directory (bind) at /proc",
    setup: (t) => {
      const d = t.dir("fake-proc", 0o777);
      fakeProc(d);
      return d;
    },
    edit: (c, fake) => procMount(c, { destination: "/proc", type: "bind", source: fake, options: ["rbind", "rw"] }),
  },
  {
    name: "the config mounts a tmpfs at /proc",
    setup: (_t, b) => path.join(b.rootfs, "proc"),
    edit: (c) => procMount(c, { destination: "/proc", type: "tmpfs", source: "tmpfs" }),
  },
  {
    name: "a volume (host directory) is mounted over /proc/sys",
    setup: (t) => {
      const d = t.dir("fake-proc", 0o777);
      fakeProc(d);
      return path.join(d, "sys");
    },
    edit: (c, fake) => {
      c.mounts = [...(c.mounts ?? []), { destination: "/proc/sys", type: "bind", source: fake, options: ["rbind", "rw"] }];
    },
  },
  {
    name: "a volume is mounted over /proc/sys/net/ipv4",
    setup: (t) => {
      const d = t.dir("fake-proc", 0o777);
      fakeProc(d);
      return path.join(d, "sys", "net", "ipv4");
    },
    edit: (c, fake) => {
      c.mounts = [...(c.mounts ?? []), { destination: "/proc/sys/net/ipv4", type: "bind", source: fake, options: ["rbind", "rw"] }];
    },
  },
];

describe("writes to a fake /proc (CVE-2019-16884, 2019-19921, 2025-52881)", () => {
  secCase("baseline: with a real /proc the sysctl, oom_score_adj and id maps take effect", async (t) => {
    const b = t.bundle(asks);
    const id = t.id();
    const { pid } = await t.up(b, id, { start: false });
    expect(await realEffects(t, pid)).toEqual({ oom: String(OOM), uidMap: `0 ${HOST_ROOT} 65536`, sysctl: VALUE });
  });

  for (const k of CASES) {
    secCase(`${k.name}: refused, or every write reaches the real procfs and none the fake`, async (t) => {
      let fake = "";
      const b = t.bundle(asks);
      fake = k.setup(t, b);
      k.edit(b.config, fake);
      t.writeConfig(b);
      const before = snapshot(fake);
      const id = t.id();
      const r = await t.rt(["create", "--bundle", b.dir, id]);
      console.log(`${k.name}: ${r.code === 0 ? "created" : `refused: ${r.stderr.trim().split("\n").at(-1)}`}`);
      if (r.code === 0) {
        const s = JSON.parse((await t.ok(["state", id])).stdout) as { pid: number };
        expect(await realEffects(t, s.pid), explain(r)).toEqual({ oom: String(OOM), uidMap: `0 ${HOST_ROOT} 65536`, sysctl: VALUE });
      }
      expect(snapshot(fake), `written into the fake /proc: ${explain(r)}`).toBe(before);
    });
  }
});
