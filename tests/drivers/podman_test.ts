// podman 4.3 (conmon) driving each runtime in DRIVER_RUNTIMES; every scenario expects the same
// observable result from every runtime. See README.md.
import { afterAll, beforeAll, describe } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freezerState, isCgroup2Only, processesMentioning, selfStatus } from "./lib/host.ts";
import { PodmanEnv, type PodmanSession } from "./lib/podman.ts";
import { check, expectCode, expectFail, expectOk, text, until } from "./lib/proc.ts";
import { lines, RUNTIMES, sessionScenario, type Runtime } from "./lib/runtimes.ts";

const SUITE = "podman";
const skip =
  process.getuid?.() !== 0 ? "needs root" : Bun.which(process.env.PODMAN ?? "podman") === null ? "podman is not installed" : "";
if (skip !== "") console.log(`skip ${SUITE} driver scenarios: ${skip}`);

let env: PodmanEnv | undefined;

/** A scenario on runtime `rt` with a fresh session; cleanup removes and checks everything it made. */
function sc(rt: Runtime, title: string, fn: (s: PodmanSession) => Promise<void>, timeoutMs?: number): void {
  sessionScenario(SUITE, () => env, rt, title, fn, timeoutMs);
}


/** Wait until `podman logs` of `name` contains `what`. */
async function logsContain(s: PodmanSession, name: string, what: string): Promise<void> {
  await until(`"${what}" in the logs of ${name}`, async () => (await s.podman(["logs", name])).stdout.includes(what));
}

/** A container that prints "started", "term" on SIGTERM (then exits 7) and "usr1" on SIGUSR1. */
const SIGNAL_AWARE = ["sh", "-c", `trap 'echo term; exit 7' TERM; trap 'echo usr1' USR1; echo started; while :; do sleep 0.1; done`];

describe.skipIf(skip !== "")(SUITE, () => {
  beforeAll(async () => {
    env = await PodmanEnv.create();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  }, 120_000);

  for (const rt of RUNTIMES) {
    describe(rt.name, () => {
      sc(rt, "run: stdout and exit code 0", async (s) => {
        expectOk(await s.run([], ["echo", "hello"]), "hello");
      });

      sc(rt, "run: the process's exit code", async (s) => {
        expectCode(await s.run([], ["sh", "-c", "exit 3"]), 3);
      });

      sc(rt, "run: a missing command exits 127", async (s) => {
        // podman maps the runtime's error text to 127 ("executable file not found in", ...).
        const r = expectCode(await s.run([], ["nosuchcmd"]), 127);
        check(/not found/.test(r.stderr), "expected the error to say the command was not found", r);
      });

      sc(rt, "run: a non-executable file exits 126", async (s) => {
        expectCode(await s.run([], ["/etc/passwd"]), 126);
      });

      sc(rt, "run -i: stdin reaches the container", async (s) => {
        expectOk(await s.run(["-i"], ["sh", "-c", "cat; echo done"], { input: "piped\n" }), lines("piped", "done"));
      });

      sc(rt, "run -t: a terminal through conmon's console socket", async (s) => {
        const r = await s.run(["-t"], ["sh", "-c", "tty; stty size; [ -t 0 ] && echo stdin-is-tty; exit 5"], { tty: true });
        expectCode(r, 5);
        check(/^\/dev\/pts\/\d+\n40 100\nstdin-is-tty$/.test(text(r.stdout)), "expected a pty of 40x100 on stdin and stdout", r);
      });

      sc(rt, "run -e --workdir --user", async (s) => {
        const r = await s.run(["-e", "FOO=bar baz", "--workdir", "/tmp", "--user", "1000:1000"], [
          "sh",
          "-c",
          'echo "$FOO"; pwd; id -u; id -g',
        ]);
        expectOk(r, lines("bar baz", "/tmp", "1000", "1000"));
      });

      sc(rt, "run --hostname --ulimit", async (s) => {
        const r = await s.run(["--hostname", "drvhost", "--ulimit", "nofile=512:512", "--ulimit", "nproc=1024:1024"], ["sh", "-c", "hostname; ulimit -n; ulimit -Hn"]);
        expectOk(r, lines("drvhost", "512", "512"));
      });

      sc(rt, "run --read-only --read-only-tmpfs=false: / is read-only", async (s) => {
        const r = await s.run(["--read-only", "--read-only-tmpfs=false"], [
          "sh",
          "-c",
          "touch /a 2>/dev/null && echo / writable || echo / read-only",
        ]);
        expectOk(r, "/ read-only");
      });

      // podman mounts tmpfs on /tmp, /var/tmp and /run with its "tmpcopyup" option.
      sc(rt, "run --read-only: / is read-only, podman's tmpfs /tmp is writable", async (s) => {
        const r = await s.run(["--read-only"], [
          "sh",
          "-c",
          "touch /a 2>/dev/null && echo / writable || echo / read-only; touch /tmp/a && echo /tmp writable",
        ]);
        expectOk(r, lines("/ read-only", "/tmp writable"));
      });

      // --tmpfs adds "tmpcopyup": the image's files under the mount point are copied into it.
      sc(rt, "run --tmpfs: a tmpfs with the image's content copied up", async (s) => {
        const r = await s.run(["--tmpfs", "/home"], [
          "sh",
          "-c",
          "grep -c ' /home .* - tmpfs ' /proc/self/mountinfo; stat -c '%u %F' /home/user; touch /home/new && echo writable",
        ]);
        expectOk(r, lines("1", "1000 directory", "writable"));
      });

      sc(rt, "run -v: bind volumes, read-write and :ro", async (s) => {
        const vol = fs.mkdtempSync(path.join(s.env.dir, "vol-"));
        fs.writeFileSync(path.join(vol, "in"), "from-host\n");
        expectOk(await s.run(["-v", `${vol}:/data`], ["sh", "-c", "cat /data/in; echo from-container > /data/out"]), "from-host");
        check(fs.readFileSync(path.join(vol, "out"), "utf8") === "from-container\n", "the host sees the container's write");
        const ro = await s.run(["-v", `${vol}:/data:ro`], ["sh", "-c", "cat /data/in; echo x > /data/ro 2>/dev/null || echo refused"]);
        expectOk(ro, lines("from-host", "refused"));
        check(!fs.existsSync(path.join(vol, "ro")), "nothing written through the :ro volume");
      });

      sc(rt, "run --memory --pids-limit --cpus: the cgroup limits", async (s) => {
        const v2 = isCgroup2Only();
        const script = v2
          ? "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"
          : "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us";
        const r = await s.run(["--memory", "64m", "--pids-limit", "50", "--cpus", "0.5"], ["sh", "-c", script]);
        expectOk(r, v2 ? lines("67108864", "50", "50000 100000") : lines("67108864", "50", "50000", "100000"));
      });

      sc(rt, "run --cap-drop ALL --cap-add NET_BIND_SERVICE --security-opt no-new-privileges", async (s) => {
        const r = await s.run(["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges"], [
          "sh",
          "-c",
          "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -d '\\t'",
        ]);
        expectOk(r, lines("CapEff:0000000000000400", "CapBnd:0000000000000400", "NoNewPrivs:1"));
      });

      sc(rt, "run --privileged: every capability, no seccomp, host devices", async (s) => {
        const kmsg = fs.existsSync("/dev/kmsg");
        const r = await s.run(["--privileged"], [
          "sh",
          "-c",
          `grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\\t'; ${kmsg ? "[ -c /dev/kmsg ] && echo kmsg" : "echo kmsg"}`,
        ]);
        expectOk(r, lines(`CapEff:${selfStatus("CapBnd")}`, "NoNewPrivs:0", "Seccomp:0", "kmsg"));
      });

      sc(rt, "run -d, logs, stop: SIGTERM reaches the process", async (s) => {
        const c = await s.runDetached([], SIGNAL_AWARE);
        await logsContain(s, c.name, "started");
        check((await s.inspect(c.name, "{{.State.Status}}")) === "running", "status running after run -d");
        expectOk(await s.podman(["stop", "--time", "10", c.name]));
        check((await s.inspect(c.name, "{{.State.Status}} {{.State.ExitCode}}")) === "exited 7", "exited with the trap's code 7");
        expectOk(await s.podman(["logs", c.name]), lines("started", "term"));
      });

      sc(rt, "stop: a process that ignores SIGTERM is killed after the timeout", async (s) => {
        const c = await s.runDetached([], ["sh", "-c", "trap '' TERM; echo started; while :; do sleep 0.1; done"]);
        await logsContain(s, c.name, "started");
        expectOk(await s.podman(["stop", "--time", "1", c.name]));
        check((await s.inspect(c.name, "{{.State.Status}} {{.State.ExitCode}}")) === "exited 137", "SIGKILLed: 137");
      });

      sc(rt, "kill: -s USR1 reaches the process, -s KILL ends it", async (s) => {
        const c = await s.runDetached([], SIGNAL_AWARE);
        await logsContain(s, c.name, "started");
        expectOk(await s.podman(["kill", "--signal", "USR1", c.name]));
        await logsContain(s, c.name, "usr1");
        expectOk(await s.podman(["kill", "--signal", "KILL", c.name]));
        expectOk(await s.podman(["wait", c.name]), "137");
      });

      sc(rt, "exec: stdout, exit codes, --user, -e", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        const r = await s.podman(["exec", c.name, "sh", "-c", "echo in-exec; exit 4"]);
        expectCode(r, 4);
        check(text(r.stdout) === "in-exec", "exec's stdout", r);
        expectOk(await s.podman(["exec", "--user", "1000:1000", "-e", "FOO=bar", c.name, "sh", "-c", 'id -u; echo "$FOO"']), lines("1000", "bar"));
        expectCode(await s.podman(["exec", c.name, "nosuchcmd"]), 127);
      });

      sc(rt, "exec -i and -t", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        expectOk(await s.podman(["exec", "-i", c.name, "cat"], { input: "piped\n" }), "piped");
        const r = await s.podman(["exec", "-t", c.name, "sh", "-c", "tty; stty size"], { tty: true });
        expectOk(r);
        check(/^\/dev\/pts\/\d+\n40 100$/.test(text(r.stdout)), "expected a pty of 40x100", r);
      });

      sc(rt, "pause and unpause: the cgroup is frozen, then thawed", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        const cg = s.cgroupOf(c.id);
        expectOk(await s.podman(["pause", c.name]));
        check((await s.inspect(c.name, "{{.State.Status}}")) === "paused", "status paused");
        check(freezerState(cg) === "FROZEN", `freezer state of ${cg} is FROZEN, found ${freezerState(cg)}`);
        expectOk(await s.podman(["unpause", c.name]));
        check((await s.inspect(c.name, "{{.State.Status}}")) === "running", "status running");
        check(freezerState(cg) === "THAWED", `freezer state of ${cg} is THAWED, found ${freezerState(cg)}`);
      });

      sc(rt, "rm -f of a paused container", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        expectOk(await s.podman(["pause", c.name]));
        expectOk(await s.podman(["rm", "--force", "--time", "0", c.name], { timeoutMs: 15_000 }));
        expectOk(await s.podman(["ps", "--all", "--filter", `name=${c.name}`, "--format", "{{.Names}}"]), "");
      });

      sc(rt, "top: the container's processes", async (s) => {
        const c = await s.runDetached([], ["sh", "-c", "sleep 1000 & wait"]);
        await until("sleep to start", async () => (await s.podman(["top", c.name, "pid", "args"])).stdout.includes("sleep 1000"));
        const r = expectOk(await s.podman(["top", c.name, "pid", "args"]));
        check(/^\s*1\s+sh -c sleep 1000 & wait\s*$/m.test(r.stdout), "pid 1 is the container's sh", r);
      });

      sc(rt, "rm -f: a running container goes, with its conmon", async (s) => {
        const c = await s.runDetached([], ["sleep", "1000"]);
        check(processesMentioning(c.id).length > 0, "conmon runs for the container");
        expectOk(await s.podman(["rm", "--force", "--time", "0", c.name]));
        expectOk(await s.podman(["ps", "--all", "--filter", `name=${c.name}`, "--format", "{{.Names}}"]), "");
        await until("conmon to exit", () => processesMentioning(c.id).length === 0);
      });

      sc(rt, "run --rm and run -d --rm: the container is removed when it exits", async (s) => {
        const r = await s.run(["--rm"], ["echo", "bye"]);
        expectOk(r, "bye");
        expectOk(await s.podman(["ps", "--all", "--filter", `name=${r.name}`, "--format", "{{.Names}}"]), "");
        const d = await s.runDetached(["--rm"], ["sh", "-c", "exit 0"]);
        await until(`${d.name} to be removed`, async () => {
          const ps = await s.podman(["ps", "--all", "--filter", `name=${d.name}`, "--format", "{{.Names}}"]);
          return ps.code === 0 && ps.stdout.trim() === "";
        });
      });

      sc(rt, "run --init: podman-init is pid 1", async (s) => {
        const r = await s.run(["--init"], ["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$"]);
        expectOk(r);
        const [init, me] = text(r.stdout).split("\n");
        check(init?.startsWith("/run/podman-init -- sh -c") === true, "pid 1 is /run/podman-init", r);
        check(me !== "1", "the command is not pid 1", r);
      });

      sc(rt, "run --pid host --ipc host --uts host: the host's namespaces", async (s) => {
        const r = await s.run(["--pid", "host", "--ipc", "host", "--uts", "host"], [
          "sh",
          "-c",
          "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname",
        ]);
        const host = ["pid", "ipc", "uts"].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
        expectOk(r, lines(...host, os.hostname()));
      });

      sc(rt, "run: a default container has its own pid, ipc, uts and mount namespaces", async (s) => {
        const r = await s.run([], ["sh", "-c", "for n in pid ipc uts mnt; do readlink /proc/self/ns/$n; done"]);
        expectOk(r);
        const inside = text(r.stdout).split("\n");
        const host = ["pid", "ipc", "uts", "mnt"].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
        check(inside.length === 4 && inside.every((l, i) => l !== host[i]), "every namespace differs from the host's", r);
      });

      sc(rt, "run --rm with a failing create leaves nothing behind", async (s) => {
        expectFail(await s.run(["--rm", "--workdir", "/etc/passwd"], ["true"]));
      });
    });
  }
});
