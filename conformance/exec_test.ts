// runc's `exec`: a further process in a running container, from the command line (the config's
// process is the template: env, cwd, user, capabilities) or from a --process JSON file (used as
// is; containerd and podman pass one). It must join everything of the container: namespaces,
// cgroup, rootfs; get exactly the descriptors it was given; and report its exit like `run`.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_PATH, proc, setNamespace, sh, type Process } from "./lib/config.ts";
import {
  ancestorsOfSelf,
  capMask,
  consoleReceiver,
  fdList,
  fileFd,
  HAS_PIDFD_SOCKET,
  IDLE,
  LIST_FDS,
  pidfdReceiver,
  ppidOf,
  procStatus,
  started,
} from "./lib/container.ts";
import { conform, expectFailure, explain, readText, waitFor, waitForText, type Ctx } from "./lib/harness.ts";
import { RUNTIME } from "./lib/runtime.ts";
import { isAlive, nsId, waitGone } from "./lib/host.ts";
import { STAFF_GID, USER } from "./lib/rootfs.ts";

/** `exec <id> ...cmd` with extra runtime flags before the id; must exit 0; returns stdout. */
async function execOk(t: Ctx, id: string, cmd: string[], flags: string[] = []): Promise<string> {
  const r = await t.rt(["exec", ...flags, id, ...cmd]);
  if (r.code !== 0) throw new Error(`exec ${[...flags, id, ...cmd].join(" ")} failed: ${explain(r)}`);
  return r.stdout;
}

/** The exec'd shell's own environment, one entry a line ("; true" keeps the shell alive). */
const ENVIRON = "tr '\\0' '\\n' < /proc/$$/environ; true";

conform("exec: stdout, stderr and the exit code of the exec'd process come back", async (t) => {
  const c = await started(t, IDLE);
  const r = await t.rt(["exec", c.id, "sh", "-c", "echo out; echo err >&2; exit 5"]);
  expect(r.code, explain(r)).toBe(5);
  expect(r.stdout).toBe("out\n");
  expect(r.stderr).toBe("err\n");
  const r0 = await t.rt(["exec", c.id, "true"]);
  expect(r0.code, explain(r0)).toBe(0);
  // The container itself is untouched by the exec'd process's exit.
  expect((await t.state(c.id)).status).toBe("running");
});

// Many execs at once, each printing its own token: on a busy machine the stages of one exec race
// each other (a frame of the exec'd side overtaking the enter stage's report once failed 4 of
// 480 execs like these), and concurrent execs must not mix their output or fail.
conform("exec: 8 × 25 concurrent execs into one container all succeed with their own output", async (t) => {
  const c = await started(t, IDLE);
  const loop = async (k: number) => {
    for (let i = 0; i < 25; i++) {
      const r = await t.rt(["exec", c.id, "echo", `exec-${k}-${i}`]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toBe(`exec-${k}-${i}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, k) => loop(k)));
}, 120_000);

/** A --pidfd-socket case, skipped for a runtime that has no such flag (runc before 1.2). */
function conformPidfd(name: string, fn: (t: Ctx) => Promise<void>): void {
  if (HAS_PIDFD_SOCKET) conform(name, fn);
  else test.skip(`${name} [skipped: ${path.basename(RUNTIME)} has no --pidfd-socket (runc has it from 1.2)]`, () => {});
}

conformPidfd("create --pidfd-socket: the socket gets a pidfd of the container's process [runc 1.2 compat]", async (t) => {
  const recv = await pidfdReceiver(t);
  const b = t.bundle((c) => sh(c, IDLE));
  const id = t.id();
  await t.create(b, id, ["--pidfd-socket", recv.sock]);
  const got = await recv.result();
  expect(got, JSON.stringify(got)).toEqual({ pid: (await t.state(id)).pid });
});

// The process may exit at once and be reaped by a subreaper (conmon, containerd's shim) before a
// pidfd_open the runtime makes after the process started: strace delays every pidfd_open by
// 300 ms to make that certain. The pidfd must still reach the socket.
conformPidfd("exec --detach --pidfd-socket: a process that exits at once and is reaped at once still yields its pidfd [runc 1.2 compat]", async (t) => {
  const c = await started(t, IDLE);
  const recv = await pidfdReceiver(t);
  const cmds = [["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pidfd_open", "-e", "inject=pidfd_open:delay_enter=300000", RUNTIME, "--root", t.root, "exec", "--detach", "--pidfd-socket", recv.sock, c.id, "true"]];
  const r = Bun.spawnSync(["python3", path.join(import.meta.dir, "lib", "subreaper.py"), JSON.stringify(cmds)], { stdout: "pipe", stderr: "pipe", cwd: t.tmp });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  const done = JSON.parse(r.stdout.toString().trim()) as { code: number; stderr: string };
  expect(done.code, done.stderr).toBe(0);
  const got = await recv.result();
  expect(got.error, JSON.stringify(got)).toBeUndefined();
  expect(typeof got.pid).toBe("number");
});

conform("exec: a process killed by a signal exits 128+signal [runc compat]", async (t) => {
  const c = await started(t, IDLE);
  const r = await t.rt(["exec", c.id, "sh", "-c", "kill -KILL $$"]);
  expect(r.code, explain(r)).toBe(137);
});

conform("exec: arguments after the container id belong to the command, verbatim", async (t) => {
  const c = await started(t, IDLE);
  // Flags of the runtime's own (--env, -t, --cwd) after the id are the command's arguments.
  const out = await execOk(t, c.id, [
    "sh",
    "-c",
    'printf "[%s]" "$@"; echo',
    "argv0",
    "--env",
    "X=1",
    "-t",
    "two words",
    "",
    "$HOME",
    "--cwd=/tmp",
  ]);
  expect(out).toBe("[--env][X=1][-t][two words][][$HOME][--cwd=/tmp]\n");
});

conform("exec: stdin reaches the exec'd process and EOF is passed on", async (t) => {
  const c = await started(t, IDLE);
  const input = path.join(t.tmp, "input");
  fs.writeFileSync(input, "alpha\nbeta\n");
  const fd = fs.openSync(input, "r");
  t.defer(() => fs.closeSync(fd));
  const r = await t.rt(["exec", c.id, "sh", "-c", "cat; echo end"], { stdin: fd });
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toBe("alpha\nbeta\nend\n");
});

conform("exec: the process joins every namespace of the container's pid 1", async (t) => {
  const c = await started(t, IDLE);
  const types = ["ipc", "mnt", "net", "pid", "uts", "cgroup", "user"];
  const out = await execOk(t, c.id, ["sh", "-c", `for n in ${types.join(" ")}; do echo $n=$(readlink /proc/self/ns/$n); done`]);
  const inside = Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
  for (const n of types) expect(inside[n], n).toBe(nsId(`/proc/${c.pid}/ns/${n}`));
  // And the new ones really are the container's, not the host's.
  for (const n of ["ipc", "mnt", "net", "pid", "uts"]) expect(inside[n], n).not.toBe(nsId(`/proc/self/ns/${n}`));
});

conform("exec: the process sees the container's rootfs, /proc and hostname", async (t) => {
  const c = await started(t, IDLE, (conf, b) => {
    conf.hostname = "exec-host";
    fs.writeFileSync(path.join(b.rootfs, "marker"), "in-the-rootfs\n");
  });
  const out = await execOk(t, c.id, ["sh", "-c", "cat /marker; hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$"]);
  const [marker, host, init, self] = out.split("\n");
  expect(marker).toBe("in-the-rootfs");
  expect(host).toBe("exec-host");
  // /proc is the container's: its pid 1 is the container process.
  expect(init?.trim()).toBe(fs.readFileSync(`/proc/${c.pid}/cmdline`, "utf8").replaceAll("\0", " ").trim());
  expect(Number(self)).toBeGreaterThan(1);
  // What the exec'd process writes lands in the bundle's rootfs.
  await execOk(t, c.id, ["sh", "-c", "echo written > /tmp/from-exec"]);
  expect(readText(path.join(c.b.rootfs, "tmp", "from-exec"))).toBe("written\n");
});

conform("exec: the process is in the container's cgroup", async (t) => {
  const c = await started(t, IDLE);
  const out = await execOk(t, c.id, ["cat", "/proc/self/cgroup"]);
  const norm = (s: string): string[] => s.split("\n").filter((l) => l !== "").sort();
  expect(norm(out)).toEqual(norm(fs.readFileSync(`/proc/${c.pid}/cgroup`, "utf8")));
  // The container's cgroup, not the caller's.
  expect(norm(out)).not.toEqual(norm(fs.readFileSync("/proc/self/cgroup", "utf8")));
  expect(out).toContain(c.b.cgroupsPath);
});

conform("exec: in a user and cgroup namespace of the container's own, the process is in its cgroup", async (t) => {
  const c = await started(t, IDLE, (conf, b) => {
    setNamespace(conf, "user");
    setNamespace(conf, "cgroup");
    conf.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    conf.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    fs.chownSync(b.rootfs, 100000, 100000);
  });
  const r = await t.ok(["exec", "-d", "--pid-file", path.join(t.tmp, "exec.pid"), c.id, "sleep", "60"]);
  const pid = Number(readText(path.join(t.tmp, "exec.pid")));
  expect(pid, explain(r)).toBeGreaterThan(0);
  // Seen from the host, every hierarchy: the same cgroups as the container's pid 1.
  const norm = (s: string): string[] => s.split("\n").filter((l) => l !== "").sort();
  expect(norm(fs.readFileSync(`/proc/${pid}/cgroup`, "utf8"))).toEqual(norm(fs.readFileSync(`/proc/${c.pid}/cgroup`, "utf8")));
  expect(fs.readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain(c.b.cgroupsPath);
  // And its own view is the namespace's: its cgroup is the root.
  const inside = await execOk(t, c.id, ["cat", "/proc/self/cgroup"]);
  for (const line of norm(inside)) expect(line, inside).toMatch(/:\/$/);
});

conform("exec: the config's env is the base, --env adds and overrides (one entry per name)", async (t) => {
  const c = await started(t, IDLE, (conf) => {
    proc(conf).env = [DEFAULT_PATH, "FROM_CONFIG=1", "OVERRIDE=config"];
  });
  const out = await execOk(t, c.id, ["sh", "-c", ENVIRON], ["--env", "OVERRIDE=cli", "--env", "NEW=with=equals", "--env", "EMPTY="]);
  const env = out.split("\n").filter((l) => l !== "");
  expect(env).toContain(DEFAULT_PATH);
  expect(env).toContain("FROM_CONFIG=1");
  expect(env).toContain("NEW=with=equals");
  expect(env).toContain("EMPTY=");
  // getenv(3) returns the first match: a duplicate would hide the override from C programs.
  expect(env.filter((e) => e.startsWith("OVERRIDE="))).toEqual(["OVERRIDE=cli"]);
});

conform("exec: --cwd sets the working directory, the config's cwd is the default", async (t) => {
  const c = await started(t, IDLE, (conf) => (proc(conf).cwd = "/etc"));
  expect(await execOk(t, c.id, ["pwd"])).toBe("/etc\n");
  expect(await execOk(t, c.id, ["pwd"], ["--cwd", "/tmp"])).toBe("/tmp\n");
});

conform("exec: --user uid:gid and --additional-gids", async (t) => {
  const c = await started(t, IDLE);
  const ids = "grep -E '^(Uid|Gid|Groups):' /proc/self/status";
  const root = procStatus(await execOk(t, c.id, ["sh", "-c", ids]));
  expect(root.Uid?.split(/\s+/)).toEqual(["0", "0", "0", "0"]);
  const out = await execOk(t, c.id, ["sh", "-c", `${ids}; id -u; id -g`], [
    "--user",
    `${USER.uid}:${USER.gid}`,
    "--additional-gids",
    String(STAFF_GID),
    "--additional-gids",
    "4242",
  ]);
  const s = procStatus(out);
  expect(s.Uid?.split(/\s+/)).toEqual(Array(4).fill(String(USER.uid)));
  expect(s.Gid?.split(/\s+/)).toEqual(Array(4).fill(String(USER.gid)));
  expect(s.Groups?.split(/\s+/).sort()).toEqual([String(STAFF_GID), "4242"].sort());
  expect(out).toEndWith(`${USER.uid}\n${USER.gid}\n`);
});

conform("exec: --cap adds a capability to the config's sets", async (t) => {
  // No ambient set in the config: root's exec'd shell keeps exactly the permitted set.
  const c = await started(t, IDLE, (conf) => {
    const caps = proc(conf).capabilities;
    if (caps !== undefined) caps.ambient = [];
  });
  const caps = "grep ^Cap /proc/self/status";
  const base = procStatus(await execOk(t, c.id, ["sh", "-c", caps]));
  expect(base.CapEff).toBe(capMask("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
  const added = procStatus(await execOk(t, c.id, ["sh", "-c", caps], ["--cap", "CAP_CHOWN", "--cap", "CAP_NET_RAW"]));
  const want = capMask("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_NET_RAW");
  expect(added.CapEff).toBe(want);
  expect(added.CapPrm).toBe(want);
  expect(added.CapBnd).toBe(want);
  // The container's pid 1 is unchanged.
  expect(procStatus(fs.readFileSync(`/proc/${c.pid}/status`, "utf8")).CapEff).toBe(base.CapEff);
});

conform("exec: --no-new-privs sets NoNewPrivs, the config's value is the default", async (t) => {
  const c = await started(t, IDLE, (conf) => (proc(conf).noNewPrivileges = false));
  const nnp = "grep NoNewPrivs /proc/self/status";
  expect(procStatus(await execOk(t, c.id, ["sh", "-c", nnp])).NoNewPrivs).toBe("0");
  expect(procStatus(await execOk(t, c.id, ["sh", "-c", nnp], ["--no-new-privs"])).NoNewPrivs).toBe("1");
});

conform("exec --process: args, env, cwd, user, capabilities, rlimits and noNewPrivileges come from the file", async (t) => {
  const c = await started(t, IDLE, (conf) => {
    proc(conf).env = [DEFAULT_PATH, "FROM_CONFIG=1"];
    proc(conf).noNewPrivileges = false;
  });
  const p: Process = {
    terminal: false,
    user: { uid: USER.uid, gid: USER.gid, additionalGids: [STAFF_GID] },
    args: ["sh", "-c", `pwd; ${ENVIRON}; grep -E '^(Uid|Gid|Groups|Cap|NoNewPrivs)' /proc/self/status; grep 'open files' /proc/self/limits`],
    env: ["PATH=/bin", "ONLY=json"],
    cwd: "/tmp",
    capabilities: {
      bounding: ["CAP_KILL", "CAP_NET_RAW"],
      effective: ["CAP_KILL"],
      permitted: ["CAP_KILL"],
      inheritable: ["CAP_KILL"],
      ambient: ["CAP_KILL"],
    },
    rlimits: [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }],
    noNewPrivileges: true,
  };
  const file = path.join(t.tmp, "process.json");
  fs.writeFileSync(file, JSON.stringify(p));
  const out = await execOk(t, c.id, [], ["--process", file]);
  const lines = out.split("\n");
  expect(lines[0]).toBe("/tmp");
  // The file's env is used as it is: nothing of the config's env is merged in.
  expect(lines).toContain("ONLY=json");
  expect(lines).not.toContain("FROM_CONFIG=1");
  const s = procStatus(out);
  expect(s.Uid?.split(/\s+/)).toEqual(Array(4).fill(String(USER.uid)));
  expect(s.Gid?.split(/\s+/)).toEqual(Array(4).fill(String(USER.gid)));
  expect(s.Groups).toBe(String(STAFF_GID));
  expect(s.CapBnd).toBe(capMask("CAP_KILL", "CAP_NET_RAW"));
  expect(s.CapEff).toBe(capMask("CAP_KILL"));
  expect(s.CapAmb).toBe(capMask("CAP_KILL"));
  expect(s.NoNewPrivs).toBe("1");
  expect(out).toMatch(/^Max open files\s+321\s+654\s+files\s*$/m);
});

conform("exec --detach --pid-file: returns at once; the process runs in the container, reparented", async (t) => {
  const c = await started(t, IDLE);
  const pidFile = path.join(t.tmp, "exec.pid");
  const r = await t.rt(["exec", "--detach", "--pid-file", pidFile, c.id, "sh", "-c", "echo exec-ready; exec sleep 100000"]);
  expect(r.code, explain(r)).toBe(0);
  await waitForText(r.outPath, "exec-ready");
  const text = fs.readFileSync(pidFile, "utf8");
  expect(text).toMatch(/^\d+\n?$/);
  const pid = Number(text.trim());
  expect(isAlive(pid)).toBe(true);
  // The shell printed its marker and then exec'd sleep in its place (the same pid).
  const cmdline = (): string => readText(`/proc/${pid}/cmdline`);
  await waitFor(() => cmdline() === "sleep\u0000100000\u0000", 10_000, () => `pid ${pid} to exec sleep (${JSON.stringify(cmdline())})`);
  expect(nsId(`/proc/${pid}/ns/pid`)).toBe(nsId(`/proc/${c.pid}/ns/pid`));
  expect(nsId(`/proc/${pid}/ns/mnt`)).toBe(nsId(`/proc/${c.pid}/ns/mnt`));
  // Nothing of the runtime stays behind as its parent: the process belongs to the container's
  // init or to whoever reaps orphans here (the host's pid 1 or a subreaper above us).
  // (Bounded poll: an intermediate process of the runtime may take a moment to exit.)
  const reapers = [c.pid, ...ancestorsOfSelf()];
  await waitFor(
    () => reapers.includes(ppidOf(pid)),
    10_000,
    () => `pid ${pid} to be reparented (parent ${ppidOf(pid)}: ${JSON.stringify(readText(`/proc/${ppidOf(pid)}/cmdline`))})`,
  );
  // The exec'd process is part of the container: killing the container ends it.
  await t.ok(["kill", c.id, "KILL"]);
  await t.waitStatus(c.id, "stopped");
  expect(await waitGone(pid)).toBe(true);
});

conform("exec --tty --console-socket: the process gets a pty whose master reaches the socket", async (t) => {
  const c = await started(t, IDLE);
  const rcv = await consoleReceiver(t);
  const script = "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; echo done";
  await t.ok(["exec", "--tty", "--detach", "--console-socket", rcv.sock, c.id, "sh", "-c", script]);
  expect(await rcv.done(), readText(rcv.err)).toBe(0);
  const out = readText(rcv.out).replaceAll("\r", "");
  expect(out).toMatch(/^\/dev\/pts\/\d+\n/);
  expect(out).toContain("stdio-is-tty\n");
  expect(out).toContain("done\n");
});

conform("exec --process with terminal: true and --console-socket (containerd's form)", async (t) => {
  const c = await started(t, IDLE);
  const rcv = await consoleReceiver(t);
  const file = path.join(t.tmp, "process.json");
  const p: Process = {
    terminal: true,
    consoleSize: { height: 27, width: 93 },
    user: { uid: 0, gid: 0 },
    args: ["sh", "-c", "stty size; tty; echo done"],
    env: [DEFAULT_PATH],
    cwd: "/",
  };
  fs.writeFileSync(file, JSON.stringify(p));
  const pidFile = path.join(t.tmp, "exec.pid");
  await t.ok(["exec", "--process", file, "--detach", "--pid-file", pidFile, "--console-socket", rcv.sock, c.id]);
  expect(await rcv.done(), readText(rcv.err)).toBe(0);
  const out = readText(rcv.out).replaceAll("\r", "");
  expect(out).toMatch(/^27 93\n\/dev\/pts\/\d+\ndone\n/);
  expect(Number(fs.readFileSync(pidFile, "utf8").trim())).toBeGreaterThan(0);
});

conform("exec: --tty --detach without --console-socket, and --console-socket without --tty, are refused [runc compat]", async (t) => {
  const c = await started(t, IDLE);
  const marker = "/tmp/should-not-run";
  expectFailure(await t.rt(["exec", "--tty", "--detach", c.id, "sh", "-c", `touch ${marker}`]), /console/i);
  const sock = path.join(t.tmp, "unused.sock");
  expectFailure(await t.rt(["exec", "--detach", "--console-socket", sock, c.id, "sh", "-c", `touch ${marker}`]), /console|tty/i);
  expect(fs.existsSync(path.join(c.b.rootfs, marker))).toBe(false);
  expect((await t.state(c.id)).status).toBe("running");
});

conform("exec --preserve-fds N: the process gets fds 3..3+N-1 and no others", async (t) => {
  const c = await started(t, IDLE);
  const fds = [fileFd(t, "three", "three\n"), fileFd(t, "four", "four\n"), fileFd(t, "five", "five\n")];
  const r = await t.rt(["exec", "--preserve-fds", "2", c.id, "sh", "-c", `${LIST_FDS}; cat <&3; cat <&4`], { extraFds: fds });
  expect(r.code, explain(r)).toBe(0);
  expect(fdList(r.stdout)).toEqual([0, 1, 2, 3, 4]);
  expect(r.stdout).toEndWith("\nthree\nfour\n");
});

conform("exec: no descriptor of the caller or the runtime leaks into the process", async (t) => {
  const c = await started(t, IDLE);
  const r = await t.rt(["exec", c.id, "sh", "-c", LIST_FDS], { extraFds: [fileFd(t, "a", "a"), fileFd(t, "b", "b")] });
  expect(r.code, explain(r)).toBe(0);
  expect(fdList(r.stdout)).toEqual([0, 1, 2]);
  // Also none that points outside the container (CVE-2024-21626: a host directory fd as cwd).
  const cwd = await execOk(t, c.id, ["readlink", "/proc/self/cwd"]);
  expect(cwd).toBe("/\n");
});

conform("exec into a stopped container fails", async (t) => {
  const b = t.bundle((c) => sh(c, "true"));
  const id = t.id();
  await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expectFailure(await t.rt(["exec", id, "sh", "-c", "echo ran > /ran"]), /stopped|not running/i);
  expect(fs.existsSync(path.join(b.rootfs, "ran"))).toBe(false);
  expect((await t.state(id)).status).toBe("stopped");
});

conform("exec into a paused container fails without --ignore-paused", async (t) => {
  const c = await started(t, IDLE);
  await t.ok(["pause", c.id]);
  expectFailure(await t.rt(["exec", c.id, "sh", "-c", "echo ran > /ran"]), /paused/i);
  expect((await t.state(c.id)).status).toBe("paused");
  await t.ok(["resume", c.id]);
  expect(fs.existsSync(path.join(c.b.rootfs, "ran"))).toBe(false);
  expect(await execOk(t, c.id, ["echo", "after-resume"])).toBe("after-resume\n");
});

conform('exec: a missing command fails with "executable file not found in $PATH"', async (t) => {
  const c = await started(t, IDLE);
  // podman maps these texts to exit code 127 (drivers.md).
  expectFailure(await t.rt(["exec", c.id, "no-such-command"]), /executable file not found in \$PATH/);
  expectFailure(await t.rt(["exec", c.id, "/no/such/file"]), /no such file or directory/i);
  expect((await t.state(c.id)).status).toBe("running");
  expect(isAlive(c.pid)).toBe(true);
});

conform("exec: SIGTERM sent to the runtime reaches the exec'd process", async (t) => {
  const c = await started(t, IDLE);
  const out = t.openFile("exec.out");
  let runtimePid = 0;
  // The sleep must not hold the exec'd process's stdout: a foreground exec copies it through a
  // pipe until every writer is gone (runc does), and the sleep outlives the shell.
  const running = t.rt(["exec", c.id, "sh", "-c", "trap 'echo got-TERM; exit 7' TERM; echo exec-ready; sleep 100000 >/dev/null 2>&1 & wait"], {
    stdout: out.fd,
    onSpawn: (pid) => (runtimePid = pid),
  });
  await waitForText(out.path, "exec-ready");
  process.kill(runtimePid, "SIGTERM");
  const r = await running;
  expect(r.code, explain(r)).toBe(7);
  expect(readText(out.path)).toContain("got-TERM");
  // Only the exec'd process got it: the container runs on.
  expect((await t.state(c.id)).status).toBe("running");
});
