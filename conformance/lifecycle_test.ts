// Lifecycle and the operations of runtime.md: create, start, state, kill, delete; plus runc's
// run, list and spec.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { setNamespace, sh, type Spec } from "./lib/config.ts";
import {
  conform,
  expectFailure,
  RUNTIME,
  explain,
  readText,
  trapper,
  waitForCount,
  waitForText,
  type Ctx,
  type Result,
} from "./lib/harness.ts";
import { isAlive, nsId, waitGone } from "./lib/host.ts";
import { BUSYBOX } from "./lib/rootfs.ts";

/** Create and start a container running `script`; wait for it to print "ready". */
async function started(t: Ctx, script: string, edit?: (c: Spec) => void) {
  const b = t.bundle((c) => {
    sh(c, script);
    edit?.(c);
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  const s = await t.state(id);
  if (s.pid === undefined) throw new Error("state of a running container has no pid");
  return { b, id, out: cr.outPath, pid: s.pid };
}

conform("lifecycle: create → created, start → running, kill → stopped, delete → gone", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const cr = await t.create(b, id);
  let s = await t.state(id);
  expect(s.status).toBe("created");
  const pid = s.pid ?? 0;
  expect(pid).toBeGreaterThan(0);
  expect(isAlive(pid)).toBe(true);
  // runtime.md: "process.args MUST NOT be applied until triggered by the start operation"
  expect(readText(cr.outPath)).not.toContain("ready");

  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  s = await t.state(id);
  expect(s.status).toBe("running");
  expect(s.pid).toBe(pid);
  expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]).toBe("sh");

  await t.ok(["kill", id, "TERM"]);
  await t.waitStatus(id, "stopped");
  expect(readText(cr.outPath)).toContain("got-TERM");
  expect(await waitGone(pid)).toBe(true);

  await t.ok(["delete", id]);
  expectFailure(await t.rt(["state", id]), /does not exist/);
  t.assertNothingLeft(id, b);
});

conform("state: ociVersion, id, status, pid, bundle and annotations", async (t) => {
  const annotations = { "org.example.key": "value", "org.example.empty": "" };
  const b = t.bundle((c) => {
    sh(c, trapper());
    c.annotations = annotations;
  });
  const id = t.id();
  await t.create(b, id);
  const s = await t.state(id);
  expect(s.ociVersion).toMatch(/^\d+\.\d+\.\d+/);
  expect(s.id).toBe(id);
  expect(s.status).toBe("created");
  expect(typeof s.pid).toBe("number");
  expect(s.bundle).toBe(b.dir);
  expect(s.annotations).toEqual(annotations);
  // The pid is the host's view of the container process, which lives in a new pid namespace.
  expect(nsId(`/proc/${s.pid}/ns/pid`)).not.toBe(nsId("/proc/self/ns/pid"));
});

conform("state: rootfs and created as runc prints them [runc compat]", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const before = Date.now();
  await t.create(b, id);
  const s = await t.state(id);
  expect(s.rootfs).toBe(b.rootfs);
  expect(typeof s.created).toBe("string");
  const created = Date.parse(s.created as string);
  expect(created).toBeGreaterThanOrEqual(before - 2000);
  expect(created).toBeLessThanOrEqual(Date.now() + 2000);
});

conform("state: a container whose process exited is stopped", async (t) => {
  const b = t.bundle((c) => sh(c, "echo bye"));
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expect(readText(cr.outPath)).toBe("bye\n");
  const s = await t.state(id);
  expect(s.id).toBe(id);
  expect(s.bundle).toBe(b.dir);
});

conform("create: the bundle defaults to the current directory [runc compat]", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  await t.ok(["create", id], { cwd: b.dir });
  const s = await t.state(id);
  expect(s.status).toBe("created");
  expect(s.bundle).toBe(b.dir);
});

conform("run: the foreground exit code is the container's, and the container is removed", async (t) => {
  const r = await t.run("echo out; echo err >&2; exit 3");
  expect(r.code, explain(r)).toBe(3);
  expect(r.stdout).toBe("out\n");
  expect(r.stderr).toBe("err\n");
  const r0 = await t.run("true");
  expect(r0.code, explain(r0)).toBe(0);
  // run = create + start + wait + delete: nothing stays under --root
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
});

conform("run: works with the runtime installed in a directory that also holds its --root", async (t) => {
  // A runtime that re-executes itself through an overlay of its own directory must not trip
  // over --root (or anything else) living below that directory: overlayfs refuses overlapping
  // layers with ELOOP.
  const install = t.dir("install");
  const bin = path.join(install, path.basename(RUNTIME));
  fs.copyFileSync(RUNTIME, bin);
  fs.chmodSync(bin, 0o755);
  const root = path.join(install, "state");
  const b = t.bundle((c) => sh(c, "echo inside"));
  const id = t.id();
  t.defer(() => Bun.spawnSync([bin, "--root", root, "delete", "--force", id]));
  const r = Bun.spawnSync([bin, "--root", root, "run", "--bundle", b.dir, id], { stdin: "ignore" });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  expect(r.stdout.toString()).toBe("inside\n");
  expect(fs.existsSync(root) ? fs.readdirSync(root) : []).toEqual([]);
});

conform("run: stdin reaches the container and EOF is passed on", async (t) => {
  const input = path.join(t.tmp, "input");
  fs.writeFileSync(input, "line one\nline two\n");
  const fd = fs.openSync(input, "r");
  t.defer(() => fs.closeSync(fd));
  const r = await t.run("cat; echo end", undefined, { stdin: fd });
  expect(r.code, explain(r)).toBe(0);
  expect(r.stdout).toBe("line one\nline two\nend\n");
});

conform("run: a container killed by a signal exits 128+signal", async (t) => {
  const out = t.openFile("run.out");
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const running = t.rt(["run", "--bundle", b.dir, id], { stdout: out.fd });
  await waitForText(out.path, "ready");
  await t.ok(["kill", id, "KILL"]);
  const r = await running;
  expect(r.code, explain(r)).toBe(137);
});

conform("run: SIGTERM sent to the runtime is forwarded to the container", async (t) => {
  const out = t.openFile("run.out");
  const b = t.bundle((c) => sh(c, "trap 'echo got-TERM; exit 9' TERM; echo ready; sleep 100000 & wait"));
  let runtimePid = 0;
  const running = t.rt(["run", "--bundle", b.dir, t.id()], {
    stdout: out.fd,
    onSpawn: (pid) => (runtimePid = pid),
  });
  await waitForText(out.path, "ready");
  process.kill(runtimePid, "SIGTERM");
  const r = await running;
  expect(r.code, explain(r)).toBe(9);
  expect(readText(out.path)).toContain("got-TERM");
});

// The window the test above can only hit by chance, made certain: the signal arrives while a
// createRuntime hook holds create. runc buffers it and forwards it once the process exists; a
// runtime that only installs its handlers after create would die of it and orphan the container.
conform("run: a signal sent to the runtime during create reaches the container once it runs", async (t) => {
  const dir = t.dir("hook");
  const entered = path.join(dir, "entered");
  const go = path.join(dir, "go");
  expect(Bun.spawnSync(["mkfifo", go]).exitCode).toBe(0);
  const b = t.bundle((c) => {
    // No pid namespace: as pid 1 of its own, sleep would ignore SIGTERM (it has no handler).
    setNamespace(c, "pid", null);
    c.process!.args = ["sleep", "100000"];
    c.hooks = { createRuntime: [{ path: BUSYBOX, args: ["sh", "-c", `echo in-hook > ${entered}; read x < ${go}`] }] };
  });
  const id = t.id();
  let runtimePid = 0;
  const running = t.rt(["run", "--bundle", b.dir, id], { onSpawn: (pid) => (runtimePid = pid) });
  await waitForText(entered, "in-hook");
  process.kill(runtimePid, "SIGTERM");
  fs.writeFileSync(go, "go\n");
  const r = await running;
  expect(r.signal, explain(r)).toBeNull();
  expect(r.code, explain(r)).toBe(128 + 15);
  t.assertNothingLeft(id, b);
});

// Under conmon or containerd's shim, a subreaper reaps the container's process the moment it
// exits. `start` releases the process by opening the exec fifo; whatever it still needs of the
// process (tsrun: a pidfd) must be taken before that, or a process that exits at once is gone.
// strace makes that window wide: it delays every pidfd_open by 300 ms (runc 1.1.5 makes none).
conform("start: a process that exits at once and is reaped by a subreaper at once still starts cleanly", async (t) => {
  const b = t.bundle((c) => (c.process!.args = ["true"]));
  const id = t.id();
  const rt = [RUNTIME, "--root", t.root];
  const cmds = [
    [...rt, "create", "--bundle", b.dir, id],
    ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=pidfd_open", "-e", "inject=pidfd_open:delay_enter=300000", ...rt, "start", id],
  ];
  const r = Bun.spawnSync(["python3", path.join(import.meta.dir, "lib", "subreaper.py"), JSON.stringify(cmds)], { stdout: "pipe", stderr: "pipe", cwd: t.tmp });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  const [created, started] = r.stdout.toString().trim().split("\n").map((l) => JSON.parse(l) as { code: number; stderr: string });
  expect(created!.code, created!.stderr).toBe(0);
  expect(started!.code, started!.stderr).toBe(0);
  await t.waitStatus(id, "stopped");
  await t.ok(["delete", id]);
  t.assertNothingLeft(id, b);
});

conform("run --detach: returns at once and leaves the container running", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const r = await t.ok(["run", "--detach", "--bundle", b.dir, id]);
  await waitForText(r.outPath, "ready");
  const s = await t.state(id);
  expect(s.status).toBe("running");
  expect(isAlive(s.pid ?? 0)).toBe(true);
  await t.ok(["kill", id, "KILL"]);
  await t.waitStatus(id, "stopped");
  await t.ok(["delete", id]);
  t.assertNothingLeft(id, b);
});

conform("kill: the default signal is SIGTERM", async (t) => {
  const c = await started(t, trapper(["TERM", "USR1"]));
  await t.ok(["kill", c.id]);
  await t.waitStatus(c.id, "stopped");
  expect(readText(c.out)).toContain("got-TERM");
});

for (const [form, sig] of [
  ["SIGUSR1", "USR1"],
  ["USR1", "USR1"],
  ["10", "USR1"],
  ["SIGHUP", "HUP"],
  ["1", "HUP"],
] as const) {
  conform(`kill: signal given as ${JSON.stringify(form)} is delivered as SIG${sig}`, async (t) => {
    const c = await started(t, trapper(["TERM", "USR1", "HUP"]));
    await t.ok(["kill", c.id, form]);
    await t.waitStatus(c.id, "stopped");
    const out = readText(c.out);
    expect(out).toContain(`got-${sig}`);
    expect(out.match(/got-/g)?.length).toBe(1);
  });
}

conform("kill: signal names are case-insensitive [runc compat]", async (t) => {
  const c = await started(t, trapper(["TERM", "USR1"]));
  await t.ok(["kill", c.id, "usr1"]);
  await t.waitStatus(c.id, "stopped");
  expect(readText(c.out)).toContain("got-USR1");
});

conform("kill: an unknown signal is rejected and the container keeps running", async (t) => {
  const c = await started(t, trapper(["TERM", "USR1", "HUP"]));
  for (const bad of ["FOO", "SIGFOO", "99"]) {
    const r = await t.rt(["kill", c.id, bad]);
    expectFailure(r);
  }
  expectFailure(await t.rt(["kill", c.id, "SIGFOO"]), /SIGFOO|signal/i);
  expect((await t.state(c.id)).status).toBe("running");
  expect(isAlive(c.pid)).toBe(true);
  expect(readText(c.out)).not.toContain("got-");
});

conform("kill --all: every process in the container gets the signal", async (t) => {
  // Two children trap USR1 themselves; without --all only pid 1 would see it. Every sleep ignores
  // USR1 (an ignored disposition survives exec): a sleep dying first would end its shell's wait
  // before that shell's own USR1 arrived, and pid 1 exiting would take the children with it.
  const hold = `(trap "" USR1; exec sleep 100000)`;
  const script = [
    "trap 'echo init-got-USR1' USR1",
    `child='trap "echo child-got-USR1; exit 0" USR1; echo child-ready; ${hold} & wait'`,
    'sh -c "$child" &',
    'sh -c "$child" &',
    `${hold} & s=$!`,
    "echo ready",
    "while kill -0 $s 2>/dev/null; do wait $s; done",
  ].join("\n");
  const c = await started(t, script);
  await waitForCount(c.out, "child-ready", 2);
  await t.ok(["kill", "--all", c.id, "USR1"]);
  await waitForCount(c.out, "child-got-USR1", 2);
  await waitForText(c.out, "init-got-USR1");
  await t.ok(["kill", "--all", c.id, "KILL"]);
  await t.waitStatus(c.id, "stopped");
});

conform("kill: a stopped container cannot be signalled", async (t) => {
  const b = t.bundle((c) => sh(c, "true"));
  const id = t.id();
  await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  // runtime.md: "Attempting to send a signal to a container that is neither created nor running
  // MUST have no effect on the container and MUST generate an error."
  expectFailure(await t.rt(["kill", id, "KILL"]));
  expect((await t.state(id)).status).toBe("stopped");
});

conform("kill: a created container can be signalled and stops", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const cr = await t.create(b, id);
  const pid = (await t.state(id)).pid ?? 0;
  await t.ok(["kill", id, "KILL"]);
  await t.waitStatus(id, "stopped");
  expect(await waitGone(pid)).toBe(true);
  expect(readText(cr.outPath)).not.toContain("ready");
});

conform("delete: a running container is not deleted without --force", async (t) => {
  const c = await started(t, trapper());
  const r = await t.rt(["delete", c.id]);
  expectFailure(r, /running|not stopped/);
  expect((await t.state(c.id)).status).toBe("running");
  expect(isAlive(c.pid)).toBe(true);
});

conform("delete --force: removes a running container and its processes", async (t) => {
  const c = await started(t, trapper());
  await t.ok(["delete", "--force", c.id]);
  expect(await waitGone(c.pid)).toBe(true);
  expectFailure(await t.rt(["state", c.id]), /does not exist/);
  t.assertNothingLeft(c.id, c.b);
});

conform("delete of a created container without --force fails and leaves it created", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  await t.create(b, id);
  expectFailure(await t.rt(["delete", id]));
  expect((await t.state(id)).status).toBe("created");
});

conform("delete --force: removes a created container", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  await t.create(b, id);
  const pid = (await t.state(id)).pid ?? 0;
  await t.ok(["delete", "--force", id]);
  expect(await waitGone(pid)).toBe(true);
  expectFailure(await t.rt(["state", id]), /does not exist/);
  t.assertNothingLeft(id, b);
});

conform("start: a running container cannot be started again", async (t) => {
  const c = await started(t, trapper());
  // runtime.md: "Attempting to start a container that is not created MUST have no effect on the
  // container and MUST generate an error."
  expectFailure(await t.rt(["start", c.id]));
  expect((await t.state(c.id)).status).toBe("running");
  expect(readText(c.out).match(/ready/g)?.length).toBe(1);
});

conform("start: a stopped container cannot be started", async (t) => {
  const b = t.bundle((c) => sh(c, "echo ran"));
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  expectFailure(await t.rt(["start", id]));
  expect((await t.state(id)).status).toBe("stopped");
  expect(readText(cr.outPath)).toBe("ran\n");
});

conform("--pid-file: holds the pid of the container process", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  const pidFile = path.join(t.tmp, "container.pid");
  await t.create(b, id, ["--pid-file", pidFile]);
  const s = await t.state(id);
  expect(fs.readFileSync(pidFile, "utf8").trim()).toBe(String(s.pid));
  // The same through run --detach.
  const b2 = t.bundle((c) => sh(c, trapper()));
  const id2 = t.id();
  const pidFile2 = path.join(t.tmp, "detached.pid");
  await t.ok(["run", "--detach", "--pid-file", pidFile2, "--bundle", b2.dir, id2]);
  expect(fs.readFileSync(pidFile2, "utf8").trim()).toBe(String((await t.state(id2)).pid));
});

conform("list: table, --format json and -q show the containers under --root", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()));
  const created = t.id();
  await t.create(b, created);
  const running = (await started(t, trapper())).id;

  const q = await t.ok(["list", "-q"]);
  expect(q.stdout.split("\n").filter((l) => l !== "").sort()).toEqual([created, running].sort());

  const j = await t.ok(["list", "--format", "json"]);
  const list = JSON.parse(j.stdout) as { id: string; status: string; pid: number; bundle: string }[];
  expect(list.map((e) => [e.id, e.status]).sort()).toEqual(
    [
      [created, "created"],
      [running, "running"],
    ].sort(),
  );
  for (const e of list) expect(e.pid).toBeGreaterThan(0);
  expect(list.find((e) => e.id === created)?.bundle).toBe(b.dir);

  const table = await t.ok(["list"]);
  const lines = table.stdout.split("\n").filter((l) => l.trim() !== "");
  expect(lines[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
  const row = lines.find((l) => l.startsWith(created + " "));
  expect(row, table.stdout).toBeDefined();
  expect(row).toMatch(/\bcreated\b/);
  expect(row).toContain(b.dir);
});

conform("list: an empty --root lists nothing", async (t) => {
  const q = await t.ok(["list", "-q"]);
  expect(q.stdout.trim()).toBe("");
  const j = await t.ok(["list", "--format", "json"]);
  // runc prints "null" (an empty Go slice); "[]" says the same.
  expect(JSON.parse(j.stdout) ?? []).toEqual([]);
});

conform("spec: writes a config.json that the runtime can run, and will not overwrite it", async (t) => {
  const dir = t.dir("spec-bundle");
  const r = await t.rtBare(["spec"], { cwd: dir });
  expect(r.code, explain(r)).toBe(0);
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")) as Spec;
  expect(config.ociVersion).toMatch(/^1\.\d+\.\d+/);
  expect(config.root.path).toBe("rootfs");
  // Only what a test harness must change: no terminal here, our command, our cgroup.
  const p = config.process;
  if (p === undefined) throw new Error("spec wrote no process");
  p.terminal = false;
  p.args = ["sh", "-c", "echo spec-ok"];
  config.linux.cgroupsPath = `${t.cgParent}/spec`;
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  fs.cpSync((await import("./lib/rootfs.ts")).cachedRootfs(), path.join(dir, "rootfs"), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const run = await t.rt(["run", "--bundle", dir, t.id()]);
  expect(run.code, explain(run)).toBe(0);
  expect(run.stdout).toBe("spec-ok\n");

  const again = await t.rtBare(["spec"], { cwd: dir });
  expectFailure(again, /exists/);
  expect(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).process.args).toEqual([
    "sh",
    "-c",
    "echo spec-ok",
  ]);
});

conform("--log with --log-format json: errors are JSON lines with level, msg and time", async (t) => {
  const log = path.join(t.tmp, "runtime.log");
  const r: Result = await t.rtBare(["--root", t.root, "--log", log, "--log-format", "json", "state", "nothere"]);
  expectFailure(r, /does not exist/);
  const lines = fs
    .readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  expect(lines.length).toBeGreaterThan(0);
  const last = JSON.parse(lines[lines.length - 1] ?? "") as { level: string; msg: string; time: string };
  expect(last.level).toBe("error");
  expect(last.msg).toMatch(/does not exist/);
  expect(Number.isNaN(Date.parse(last.time))).toBe(false);
});
