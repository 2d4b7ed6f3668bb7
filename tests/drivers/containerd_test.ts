// containerd 1.6 (io.containerd.runc.v2 shim, driven by ctr) running each runtime in
// DRIVER_RUNTIMES; every scenario expects the same observable result from every runtime.
// See README.md.
import { afterAll, beforeAll, describe } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ContainerdEnv, type ContainerdSession } from "./lib/containerd.ts";
import { cgroupFile, freezerState, isCgroup2Only } from "./lib/host.ts";
import { check, CheckError, expectCode, expectFail, expectOk, text, until } from "./lib/proc.ts";
import { lines, RUNTIMES, sessionScenario, type Runtime } from "./lib/runtimes.ts";

const SUITE = "containerd";
const skip =
  process.getuid?.() !== 0
    ? "needs root"
    : Bun.which(process.env.CONTAINERD ?? "containerd") === null || Bun.which(process.env.CTR ?? "ctr") === null
      ? "containerd or ctr is not installed"
      : Bun.which("containerd-shim-runc-v2") === null
        ? "containerd-shim-runc-v2 is not installed"
        : "";
if (skip !== "") console.log(`skip ${SUITE} driver scenarios: ${skip}`);

let env: ContainerdEnv | undefined;

/** A scenario on runtime `rt` with a fresh session; cleanup removes and checks everything it made. */
function sc(rt: Runtime, title: string, fn: (s: ContainerdSession) => Promise<void>, timeoutMs?: number): void {
  sessionScenario(SUITE, () => env, rt, title, fn, timeoutMs);
}


/** Wait for the task to reach `status` in `ctr tasks list`. */
async function taskStatus(s: ContainerdSession, id: string, status: string): Promise<void> {
  await until(`task ${id} to be ${status}`, async () => (await s.task(id))?.status === status);
}

describe.skipIf(skip !== "")(SUITE, () => {
  beforeAll(async () => {
    env = await ContainerdEnv.create();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  for (const rt of RUNTIMES) {
    describe(rt.name, () => {
      sc(rt, "run --rm: stdout and exit code 0", async (s) => {
        expectOk(await s.run(["--rm"], ["echo", "hello"]), "hello");
      });

      sc(rt, "run --rm: the process's exit code", async (s) => {
        expectCode(await s.run(["--rm"], ["sh", "-c", "exit 3"]), 3);
      });

      sc(rt, "run --rm: a missing command fails with the runtime's error", async (s) => {
        // The shim reports the last error line of the runtime's --log (JSON).
        expectFail(await s.run(["--rm"], ["nosuchcmd"]), /executable file not found/);
      });

      sc(rt, "run --env --cwd", async (s) => {
        expectOk(await s.run(["--rm", "--env", "FOO=bar baz", "--cwd", "/tmp"], ["sh", "-c", 'echo "$FOO"; pwd']), lines("bar baz", "/tmp"));
      });

      sc(rt, "run --mount type=bind: rbind:ro and rbind:rw", async (s) => {
        const dir = fs.mkdtempSync(path.join(s.env.dir, "vol-"));
        fs.writeFileSync(path.join(dir, "in"), "from-host\n");
        const ro = await s.run(["--rm", "--mount", `type=bind,src=${dir},dst=/data,options=rbind:ro`], [
          "sh",
          "-c",
          "cat /data/in; echo x > /data/ro 2>/dev/null || echo refused",
        ]);
        expectOk(ro, lines("from-host", "refused"));
        check(!fs.existsSync(path.join(dir, "ro")), "nothing written through the ro mount");
        const rw = await s.run(["--rm", "--mount", `type=bind,src=${dir},dst=/data,options=rbind:rw`], [
          "sh",
          "-c",
          "echo from-container > /data/out",
        ]);
        expectOk(rw);
        check(fs.readFileSync(path.join(dir, "out"), "utf8") === "from-container\n", "the host sees the container's write");
      });

      sc(rt, "run -t: a terminal through the shim's console socket", async (s) => {
        const r = await s.run(["--rm", "--tty"], ["sh", "-c", "tty; [ -t 0 ] && echo stdin-is-tty; exit 5"], { tty: true });
        expectCode(r, 5);
        check(/^\/dev\/pts\/\d+\nstdin-is-tty$/.test(text(r.stdout)), "expected a pty on stdin and stdout", r);
      });

      sc(rt, "run --memory-limit: the cgroup's limit, and task metrics", async (s) => {
        const c = await s.runDetached(["--memory-limit", "67108864"], ["sleep", "1000"]);
        const limit = cgroupFile("memory", s.cgroupOf(c.id), "memory.limit_in_bytes", "memory.max");
        check(limit === "67108864", `memory limit of ${s.cgroupOf(c.id)} is 67108864, found ${limit}`);
        const m = expectOk(await s.ctr(["tasks", "metrics", c.id]));
        check(isCgroup2Only() ? /67108864/.test(m.stdout) : /memory\.limit_in_bytes\s+67108864/.test(m.stdout), "metrics show the limit", m);
        check(/pids\.current\s+1\b/.test(m.stdout), "metrics show one process", m);
      });

      sc(rt, "task exec: stdout and exit codes", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        const r = await s.ctr(["tasks", "exec", "--exec-id", "e1", "--fifo-dir", path.join(s.env.dir, "fifo"), c.id, "sh", "-c", "echo in-exec; exit 4"]);
        expectCode(r, 4);
        check(text(r.stdout) === "in-exec", "exec's stdout", r);
        expectOk(await s.ctr(["tasks", "exec", "--exec-id", "e2", "--fifo-dir", path.join(s.env.dir, "fifo"), "--cwd", "/tmp", c.id, "pwd"]), "/tmp");
        expectFail(
          await s.ctr(["tasks", "exec", "--exec-id", "e3", "--fifo-dir", path.join(s.env.dir, "fifo"), c.id, "nosuchcmd"]),
          /executable file not found/,
        );
      });

      sc(rt, "task exec -t", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        const r = await s.ctr(["tasks", "exec", "--tty", "--exec-id", "t1", "--fifo-dir", path.join(s.env.dir, "fifo"), c.id, "sh", "-c", "tty; exit 6"], {
          tty: true,
        });
        expectCode(r, 6);
        // ctr's own log shares the pty; its resize can race the process's exit on any runtime.
        const out = text(r.stdout).split("\n").filter((l) => !/resize pty/.test(l));
        check(out.length === 1 && /^\/dev\/pts\/\d+$/.test(out[0] ?? ""), "expected a pty", r);
      });

      sc(rt, "task kill: SIGTERM reaches the process, delete reports its exit code", async (s) => {
        const c = await s.runDetached([], ["sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.1; done"]);
        expectOk(await s.ctr(["tasks", "kill", c.id]));
        await taskStatus(s, c.id, "STOPPED");
        const r = expectOk(await s.ctr(["tasks", "delete", c.id]));
        check(/exit code 9/.test(r.stderr), "ctr reports exit code 9", r);
      });

      sc(rt, "task kill --all --signal SIGKILL: every process dies", async (s) => {
        const c = await s.runDetached([], ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
        expectOk(await s.ctr(["tasks", "kill", "--all", "--signal", "SIGKILL", c.id]));
        await taskStatus(s, c.id, "STOPPED");
        const r = expectOk(await s.ctr(["tasks", "delete", c.id]));
        check(/exit code 137/.test(r.stderr), "ctr reports exit code 137", r);
      });

      sc(rt, "task pause and resume: the cgroup is frozen, then thawed", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        const cg = s.cgroupOf(c.id);
        expectOk(await s.ctr(["tasks", "pause", c.id]));
        await taskStatus(s, c.id, "PAUSED");
        check(freezerState(cg) === "FROZEN", `freezer state of ${cg} is FROZEN, found ${freezerState(cg)}`);
        expectOk(await s.ctr(["tasks", "resume", c.id]));
        await taskStatus(s, c.id, "RUNNING");
        check(freezerState(cg) === "THAWED", `freezer state of ${cg} is THAWED, found ${freezerState(cg)}`);
      });

      sc(rt, "task delete --force of a paused task", async (s) => {
        // The shim sends SIGKILL (`kill ID 9`) and waits for the exit: the runtime has to thaw
        // the frozen cgroup (runc does since 1.1) or the process never dies.
        const c = await s.runDetached([], ["sleep", "1000"]);
        expectOk(await s.ctr(["tasks", "pause", c.id]));
        await taskStatus(s, c.id, "PAUSED");
        const r = await s.ctr(["tasks", "delete", "--force", c.id], { timeoutMs: 10_000 }).catch((e: Error) => {
          throw new CheckError(`${e.message}; the task's cgroup is ${freezerState(s.cgroupOf(c.id))}`);
        });
        expectOk(r);
        check(/exit code 137/.test(r.stderr), "ctr reports exit code 137", r);
      });

      sc(rt, "task ps: the container's processes", async (s) => {
        const c = await s.runDetached([], ["sh", "-c", "sleep 1000 & wait"]);
        const pids = async (): Promise<number[]> =>
          expectOk(await s.ctr(["tasks", "ps", c.id]))
            .stdout.split("\n")
            .slice(1)
            .map((l) => Number(l.trim().split(/\s+/)[0]))
            .filter((n) => n > 0);
        await until("two processes in the container", async () => (await pids()).length === 2);
        check((await pids()).includes(c.pid), `task ps lists the task's pid ${c.pid}`);
      });

      sc(rt, "task delete --force of a running task, then container delete", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        check(fs.existsSync(path.join(s.env.runtimeRoot(rt), "default", c.id)), "the runtime keeps state under --runc-root/<namespace>");
        expectOk(await s.ctr(["tasks", "delete", "--force", c.id]));
        check((await s.task(c.id)) === undefined, "no task left");
        expectOk(await s.ctr(["containers", "delete", c.id]));
        check(!fs.existsSync(path.join(s.env.runtimeRoot(rt), "default", c.id)), "the runtime's state is gone");
      });
    });
  }
});
