// Attack class 1 (design.md §6): the host's runtime binary reachable from the container
// (CVE-2019-5736, CVE-2016-9962). At every moment a container process can reach — during create
// (a container sharing the pid namespace of the one being created), while pid 1 waits for
// `start`, during exec, and with the `#!/proc/self/exe` entrypoint — no runtime executable
// can be opened for writing through /proc/<pid>/exe, and what pid 1 runs while it waits is a
// sealed memfd.
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  allCaps,
  type Bundle,
  cprog,
  explain,
  records,
  removeCaches,
  run,
  type Sec,
  secCase,
  setNamespace,
  sh,
  type Spec,
  tree,
  waitForText,
} from "./lib/harness.ts";

afterAll(removeCaches);

const F_SEAL_WRITE = 8;

/** A shared host directory mounted at /shared. */
function shared(c: Spec, dir: string): void {
  c.mounts = [...(c.mounts ?? []), { destination: "/shared", type: "bind", source: dir, options: ["rbind", "rw"] }];
}

/** Every capability, for the strongest attacker (CAP_SYS_PTRACE reaches non-dumpable processes). */
function everyCap(c: Spec): void {
  const caps = allCaps();
  c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
}

/** dev:ino of every regular file of the bundles' rootfs: the container's own files, writable by design. */
function containerFiles(bundles: Bundle[]): Set<string> {
  const out = new Set<string>();
  for (const b of bundles) {
    for (const rel of tree(b.rootfs)) {
      const st = fs.lstatSync(path.join(b.rootfs, rel));
      if (st.isFile()) out.add(`${st.dev}:${st.ino}`);
    }
  }
  return out;
}

/** A FIFO opened read-write: as a container's stdin, reads block until it is closed (at cleanup). */
function blockingStdin(t: Sec): number {
  const p = path.join(t.tmp, `stdin-${Math.random().toString(16).slice(2)}`);
  const r = Bun.spawnSync(["mkfifo", p]);
  if (r.exitCode !== 0) throw new Error(`mkfifo ${p}: ${r.stderr.toString()}`);
  const fd = fs.openSync(p, fs.constants.O_RDWR);
  t.defer(() => fs.closeSync(fd));
  return fd;
}

/** The `#!/proc/self/exe` entrypoint: "enter" makes the re-executed runtime stage wait on stdin. */
function evilScript(b: Bundle): void {
  fs.writeFileSync(path.join(b.rootfs, "evil.sh"), "#!/proc/self/exe enter\n", { mode: 0o755 });
}

describe("host binary (CVE-2019-5736, CVE-2016-9962)", () => {
  secCase("pid 1 of a created container runs from a sealed memfd: no write access through /proc/<pid>/exe", async (t) => {
    const b = t.bundle((c) => sh(c, "exit 0"), { programs: ["secprobe"] });
    const id = t.id();
    const { pid } = await t.up(b, id, { start: false });
    // From the host (root, CAP_SYS_PTRACE): the strongest view of it.
    const host = records((await run([cprog("secprobe"), "exe", `/proc/${pid}/exe`], t.io)).stdout)[0]!;
    expect(host.open, JSON.stringify(host)).toBe("0");
    expect(host.link, JSON.stringify(host)).toStartWith("/memfd:");
    expect(Number(host.seals) & F_SEAL_WRITE, `seals of pid 1's executable: ${JSON.stringify(host)}`).toBe(F_SEAL_WRITE);
    expect(host.wopen, JSON.stringify(host)).not.toBe("0");
    // From inside, by a process given CAP_SYS_PTRACE (which gets past non-dumpable).
    const r = await t.ok(["exec", "--cap", "CAP_SYS_PTRACE", id, "/secprobe", "exe", "/proc/1/exe"]);
    const inside = records(r.stdout)[0]!;
    expect(inside.open, explain(r)).toBe("0");
    expect(Number(inside.seals) & F_SEAL_WRITE, explain(r)).toBe(F_SEAL_WRITE);
    expect(inside.wopen, explain(r)).not.toBe("0");
  });

  secCase("pid 1 of a created container is out of reach of an exec'd process with the container's capabilities", async (t) => {
    const b = t.bundle((c) => sh(c, "exit 0"), { programs: ["secprobe"] });
    const id = t.id();
    await t.up(b, id, { start: false });
    const r = await t.ok(["exec", id, "/secprobe", "reach", "1"]);
    const entries = records(r.stdout, "entry=");
    expect(entries.length, explain(r)).toBeGreaterThan(0);
    // Non-dumpable: /proc/1/exe, cwd, root and the fd directory all refuse (EACCES), so neither
    // the executable nor anything pid 1 holds (a procfs handle, the exec fifo) is reachable.
    for (const e of entries) expect(e.open, `${e.entry}: ${explain(r)}`).toBe("EACCES");
  });

  secCase(
    "a process with every capability sharing the pid namespace gets write access to no runtime executable: create, exec, start, #!/proc/self/exe",
    async (t) => {
      const dir = t.dir("shared", 0o777);
      const log = path.join(dir, "log");
      // A: the attacker, with every capability, watching its pid namespace.
      const a = t.bundle(
        (c) => {
          c.process!.args = ["/exewatch", "/shared/log", "/shared/stop"];
          everyCap(c);
          shared(c, dir);
        },
        { programs: ["exewatch"] },
      );
      const idA = t.id("attacker");
      const { pid: pidA } = await t.up(a, idA);
      await waitForText(log, "ready");
      const joinA = (c: Spec) => setNamespace(c, "pid", `/proc/${pidA}/ns/pid`);

      // B: created in A's pid namespace (its init and waiting pid 1 are visible to A), exec'd into
      // while created and while running.
      const b = t.bundle((c) => {
        sh(c, "read x; exit 0");
        joinA(c);
      });
      const idB = t.id("victim");
      await t.up(b, idB, { start: false, stdin: blockingStdin(t) });
      await t.ok(["exec", idB, "/bin/true"]);
      await t.ok(["start", idB]);
      await t.ok(["exec", idB, "/bin/true"]);
      // exec into A itself.
      await t.ok(["exec", idA, "/bin/true"]);

      // C: the container's process is a script whose interpreter is /proc/self/exe.
      const cb = t.bundle((c) => {
        c.process!.args = ["/evil.sh"];
        joinA(c);
      });
      evilScript(cb);
      const idC = t.id("selfexe");
      await t.up(cb, idC, { stdin: blockingStdin(t) });
      await waitForText(log, /seen [^\n]*cmd=\/proc\/self\/exe_enter_\/evil\.sh/);
      // … and the same through exec into A.
      evilScript(a);
      await t.ok(["exec", "--detach", idA, "/evil.sh"], { stdin: blockingStdin(t) });
      await waitForText(log, /seen [^\n]*cmd=\/proc\/self\/exe_enter_\/evil\.sh[^\n]*\n(?:.*\n)*seen [^\n]*cmd=\/proc\/self\/exe_enter_\/evil\.sh/);

      // The re-executed entrypoint, seen from the host: the sealed helper, nothing of the host.
      // (Before the stop: when A's pid 1 exits, every process of its pid namespace dies.)
      const sC = await t.state(idC);
      const host = records((await run([cprog("secprobe"), "exe", `/proc/${sC.pid}/exe`], t.io)).stdout)[0]!;
      expect(host.link, JSON.stringify(host)).toStartWith("/memfd:");
      expect(Number(host.seals) & F_SEAL_WRITE, JSON.stringify(host)).toBe(F_SEAL_WRITE);

      // Every runtime process of these operations is gone (or blocked on stdin): now the attack.
      fs.writeFileSync(path.join(dir, "stop"), "");
      const text = await waitForText(log, "done");
      const own = containerFiles([a, b, cb]);
      const finals = records(text, "final ");
      const foreign = finals.filter((f) => !own.has(`${f.dev}:${f.ino}`));
      const report = `watcher saw:\n${finals.map((f) => JSON.stringify(f)).join("\n")}`;
      // Not vacuous: it saw the runtime's init stage, a helper memfd, and the re-executed "/proc/self/exe".
      expect(foreign.some((f) => /init/.test(f.cmd ?? "") && !f.link!.startsWith("/memfd:")), report).toBe(true);
      expect(foreign.some((f) => f.link!.startsWith("/memfd:")), report).toBe(true);
      expect(foreign.some((f) => f.cmd!.startsWith("/proc/self/exe")), report).toBe(true);
      for (const f of foreign) {
        // A memfd (or any shmem file) answers F_GET_SEALS.
        if (f.link!.startsWith("/memfd:") || Number(f.seals) >= 0) {
          expect(Number(f.seals) & F_SEAL_WRITE, `memfd not write-sealed: ${JSON.stringify(f)}\n${report}`).toBe(F_SEAL_WRITE);
          expect(f.wbyte, `memfd written: ${JSON.stringify(f)}\n${report}`).not.toBe("0");
        } else {
          expect(f.wlater, `write access to a runtime executable: ${JSON.stringify(f)}\n${report}`).not.toBe("0");
        }
      }
      const how = foreign.map((f) => `${f.link} (${f.cmd}): ${f.wlater === "0" ? `open, write ${f.wbyte}` : f.wlater}`);
      console.log(`watcher: ${finals.length} executables seen, ${foreign.length} not the containers' own:\n  ${[...new Set(how)].join("\n  ")}`);
    },
    90_000,
  );
});
