// Attack class 5 (design.md §6): inheritable capabilities (CVE-2022-29162). `tsrun spec` emits
// no inheritable set; a container whose config has none gets CapInh 0 (its process and exec'd
// ones); and so a non-root process cannot gain capabilities by executing a file whose
// inheritable file capabilities name them.
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { explain, removeCaches, run, secCase, sh, TSRUN } from "./lib/harness.ts";

afterAll(removeCaches);

/** Fields of /proc/<pid>/status text. */
function status(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

describe("inheritable capabilities (CVE-2022-29162)", () => {
  for (const rootless of [false, true]) {
    secCase(`\`spec${rootless ? " --rootless" : ""}\` emits no inheritable (nor ambient) capabilities`, async (t) => {
      const dir = t.dir("spec");
      const r = await run([TSRUN, "spec", ...(rootless ? ["--rootless"] : []), "--bundle", dir], t.io);
      expect(r.code, explain(r)).toBe(0);
      const caps = (JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as { process: { capabilities: Record<string, string[]> } }).process
        .capabilities;
      expect(caps.inheritable ?? [], JSON.stringify(caps)).toEqual([]);
      expect(caps.ambient ?? [], JSON.stringify(caps)).toEqual([]);
    });
  }

  secCase("a config without an inheritable set gives CapInh 0 to the process and to exec'd ones", async (t) => {
    const b = t.bundle((c) => {
      c.process!.args = ["sleep", "100000"];
      delete c.process!.capabilities!.ambient;
    });
    const id = t.id();
    const { pid } = await t.up(b, id);
    const own = status(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    expect(own.CapInh, JSON.stringify(own)).toBe("0000000000000000");
    const x = await t.ok(["exec", "--cap", "CAP_SYS_ADMIN", id, "cat", "/proc/self/status"]);
    expect(status(x.stdout).CapInh, explain(x)).toBe("0000000000000000");
    const p = await t.ok(["exec", "--process", processFile(t.tmp), id]);
    expect(status(p.stdout).CapInh, explain(p)).toBe("0000000000000000");
  });

  secCase("a non-root process gains nothing from a file's inheritable capabilities", async (t) => {
    const b = t.bundle((c) => {
      // The file capability path is what the CVE is about: no_new_privs would hide it.
      c.process!.noNewPrivileges = false;
      c.process!.user = { uid: 1000, gid: 1000 };
      delete c.process!.capabilities!.ambient;
      sh(c, "/capdir/busybox cat /proc/self/status");
    });
    // busybox picks the applet from argv[1] when it is called as "busybox".
    fs.mkdirSync(path.join(b.rootfs, "capdir"));
    const capbox = path.join(b.rootfs, "capdir", "busybox");
    fs.copyFileSync(path.join(b.rootfs, "bin", "busybox"), capbox);
    fs.chmodSync(capbox, 0o755);
    // Effective + inheritable, nothing permitted: only a process holding the capabilities in its
    // inheritable set gets them at exec.
    const sc = await run(["setcap", "cap_kill,cap_net_bind_service,cap_audit_write+ei", capbox], t.io);
    expect(sc.code, explain(sc)).toBe(0);
    const r = await t.ok(["run", "--bundle", b.dir, t.id()]);
    const s = status(r.stdout);
    expect(s.CapInh, explain(r)).toBe("0000000000000000");
    expect(s.CapPrm, explain(r)).toBe("0000000000000000");
    expect(s.CapEff, explain(r)).toBe("0000000000000000");
    // The control: asked for, the inheritable set does carry them through the file (so the
    // check above is not vacuous).
    b.config.process!.capabilities!.inheritable = ["CAP_KILL"];
    t.writeConfig(b);
    const granted = status((await t.ok(["run", "--bundle", b.dir, t.id()])).stdout);
    expect(granted.CapPrm, JSON.stringify(granted)).toBe("0000000000000020");
  });
});

/** A --process file: uid 0, capabilities without an inheritable set. */
function processFile(dir: string): string {
  const p = path.join(dir, "process.json");
  const caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
  fs.writeFileSync(
    p,
    JSON.stringify({
      user: { uid: 0, gid: 0 },
      args: ["cat", "/proc/self/status"],
      env: ["PATH=/bin"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
    }),
  );
  return p;
}
