// Attack class 2 (design.md §6): leaked fds and a cwd outside the rootfs (CVE-2024-21626). The
// container's process and exec'd processes hold only stdio and the fds they were told to keep,
// whatever the caller leaked into the runtime; a cwd of /proc/self/fd/N (config or exec --cwd)
// is refused or stays inside the root; and pid 1, while it waits for `start`, holds nothing that
// leads out of the container.
import { afterAll, describe, expect } from "bun:test";
import * as fs from "node:fs";
import { explain, records, removeCaches, type Result, type Sec, secCase, sh } from "./lib/harness.ts";

afterAll(removeCaches);

const HOST_HOSTNAME = fs.readFileSync("/etc/hostname", "utf8").trim();

/** fds that a careless caller leaks into the runtime: directories and files of the host. */
function leaked(t: Sec): number[] {
  const fds = ["/", "/etc", "/sys/fs/cgroup", "/etc/hostname", "/proc"].map((p) => fs.openSync(p, "r"));
  t.defer(() => fds.forEach((fd) => fs.closeSync(fd)));
  return fds;
}

function fdsOf(r: Result): number[] {
  return records(r.stdout, "fd=")
    .map((f) => Number(f.fd))
    .sort((a, b) => a - b);
}

/** The probe's cwd line, and whether it lies inside the root (getcwd reports an unreachable one). */
function cwdOf(r: Result): string {
  return records(r.stdout, "cwd=")[0]?.cwd ?? "";
}

describe("fd leaks and cwd (CVE-2024-21626)", () => {
  secCase("the container process holds only stdio, whatever the runtime was given", async (t) => {
    const b = t.bundle((c) => (c.process!.args = ["/secprobe", "fds"]), { programs: ["secprobe"] });
    const r = await t.ok(["run", "--bundle", b.dir, t.id()], { extraFds: leaked(t) });
    expect(fdsOf(r), explain(r)).toEqual([0, 1, 2]);
    expect(cwdOf(r), explain(r)).toBe("/");
  });

  secCase("--preserve-fds N passes exactly fds 3..N+2", async (t) => {
    const b = t.bundle((c) => (c.process!.args = ["/secprobe", "fds"]), { programs: ["secprobe"] });
    const r = await t.ok(["run", "--preserve-fds", "2", "--bundle", b.dir, t.id()], { extraFds: leaked(t) });
    expect(fdsOf(r), explain(r)).toEqual([0, 1, 2, 3, 4]);
  });

  secCase("an exec'd process holds only stdio (and its preserved fds), in a created and in a running container", async (t) => {
    const b = t.bundle((c) => (c.process!.args = ["sleep", "100000"]), { programs: ["secprobe"] });
    const id = t.id();
    await t.up(b, id, { start: false });
    const created = await t.ok(["exec", id, "/secprobe", "fds"], { extraFds: leaked(t) });
    expect(fdsOf(created), explain(created)).toEqual([0, 1, 2]);
    await t.ok(["start", id]);
    const running = await t.ok(["exec", "--preserve-fds", "1", id, "/secprobe", "fds"], { extraFds: leaked(t) });
    expect(fdsOf(running), explain(running)).toEqual([0, 1, 2, 3]);
  });

  secCase("process.cwd /proc/self/fd/N is refused or never lands outside the root", async (t) => {
    const outcomes: string[] = [];
    for (let n = 3; n <= 12; n++) {
      const b = t.bundle(
        (c) => {
          c.process!.cwd = `/proc/self/fd/${n}`;
          sh(c, "/secprobe fds; pwd -P; /secprobe cat ../../../../../etc/hostname");
        },
        { programs: ["secprobe"] },
      );
      const r = await t.rt(["run", "--bundle", b.dir, t.id()], { extraFds: leaked(t) });
      outcomes.push(`fd ${n}: exit ${r.code} ${r.stderr.trim().split("\n").at(-1)}`);
      if (r.code !== 0) continue; // refused: fine
      const cwd = cwdOf(r);
      expect(cwd, `fd ${n}: ${explain(r)}`).toStartWith("/");
      expect(r.stdout, `fd ${n}: the host's /etc/hostname was read: ${explain(r)}`).not.toContain(`content=${HOST_HOSTNAME}`);
    }
    console.log(outcomes.join("\n"));
  });

  secCase("exec --cwd /proc/self/fd/N is refused or never lands outside the root", async (t) => {
    const b = t.bundle((c) => (c.process!.args = ["sleep", "100000"]), { programs: ["secprobe"] });
    const id = t.id();
    await t.up(b, id);
    const outcomes: string[] = [];
    for (let n = 3; n <= 12; n++) {
      const r = await t.rt(["exec", "--cwd", `/proc/self/fd/${n}`, id, "/bin/sh", "-c", "/secprobe fds; pwd -P; /secprobe cat ../../../../../etc/hostname"], {
        extraFds: leaked(t),
      });
      outcomes.push(`fd ${n}: exit ${r.code} ${r.stderr.trim().split("\n").at(-1)}`);
      if (r.code !== 0) continue;
      expect(cwdOf(r), `fd ${n}: ${explain(r)}`).toStartWith("/");
      expect(r.stdout, `fd ${n}: the host's /etc/hostname was read: ${explain(r)}`).not.toContain(`content=${HOST_HOSTNAME}`);
    }
    console.log(outcomes.join("\n"));
  });

  // The exec stage keeps a detached procfs until execve (the exec fifo is reopened and LSM labels
  // written through it). It must be the container's pid directories only (subset=pid): with the
  // whole procfs, /proc/1/fd/N/sys/kernel/core_pattern was writable (found by this case).
  secCase(
    "pid 1 waiting for start holds nothing that leads to a writable procfs (exec'd with CAP_SYS_PTRACE)",
    async (t) => {
      const b = t.bundle((c) => sh(c, "exit 0"), { programs: ["secprobe"] });
      const id = t.id();
      await t.up(b, id, { start: false });
      // The container's own /proc/sys is read-only (readonlyPaths): the baseline.
      const direct = await t.ok(["exec", "--cap", "CAP_SYS_PTRACE", id, "/secprobe", "wopen", "/proc/sys/kernel/core_pattern"]);
      expect(records(direct.stdout)[0]?.wopen, explain(direct)).toBe("EROFS");
      const r = await t.ok(["exec", "--cap", "CAP_SYS_PTRACE", id, "/secprobe", "reach", "1"]);
      const entries = records(r.stdout, "entry=");
      expect(entries.some((e) => e.entry === "exe"), explain(r)).toBe(true);
      for (const e of entries) {
        if (e.core_pattern_wopen === "0") throw new Error(`procfs reachable through pid 1 (${e.entry} -> ${e.link}): sys/kernel/core_pattern opens for writing\n${explain(r)}`);
        const pidsOnlyProc = e.procfs === "1" && e.core_pattern_wopen === "ENOENT";
        if (e.dir === "1" && e.is_our_root !== "1" && !pidsOnlyProc) throw new Error(`pid 1 holds a directory outside the container's root: ${JSON.stringify(e)}\n${explain(r)}`);
      }
    },
  );
});
