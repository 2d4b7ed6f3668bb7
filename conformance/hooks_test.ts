// config.md's POSIX-platform hooks and runtime.md's lifecycle (runtime-spec 1.3): when each hook
// type runs, in which namespace, with which state on stdin, env and args; timeouts; and what a
// failing hook does to the operation. Hooks here are busybox sh scripts that leave files behind:
// the host side ones below the case's temp dir, startContainer's inside the container's rootfs.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { sh, type Spec } from "./lib/config.ts";
import { IDLE } from "./lib/container.ts";
import { conform, expectFailure, explain, readText, waitForText, type Bundle, type Ctx, type State } from "./lib/harness.ts";
import { nsId, waitGone } from "./lib/host.ts";
import { BUSYBOX } from "./lib/rootfs.ts";

interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}
type HookType = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

/** A path that exists in the container's rootfs only (a link to its busybox), for startContainer. */
const IN_CONTAINER_SH = "/hookbin/sh";
/** Where startContainer hooks write, inside the container. */
const IN_CONTAINER_LOG = "/hooklog";

/**
 * A hook that records what it got into `<dir>/<name>.*` and appends `name` to `<dir>/sequence`:
 * state (stdin), the mount, network and pid namespaces, the working directory, `/` listing, and
 * mountinfo. /proc/self only: before pivot_root, /proc is still the host's.
 */
function recorder(dir: string, name: string, bin = BUSYBOX, extra = ""): Hook {
  const f = `${dir}/${name}`;
  const script = [
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    `cat > ${f}.state`,
    `for n in mnt net pid; do echo $n=$(readlink /proc/self/ns/$n); done > ${f}.ns`,
    `pwd > ${f}.cwd`,
    `cat /proc/self/mountinfo > ${f}.mountinfo`,
    `ls -a / > ${f}.root`,
    extra,
    `echo ${name} >> ${dir}/sequence`,
  ].join("\n");
  return { path: bin, args: ["sh", "-c", script], env: ["HOOK=1"] };
}

/** A hook running `script` (busybox sh) with a usable PATH. */
function shHook(script: string, extra: Partial<Hook> = {}): Hook {
  return { path: BUSYBOX, args: ["sh", "-c", `PATH=/usr/sbin:/usr/bin:/sbin:/bin\n${script}`], ...extra };
}

/** A hook that fails with exit status 7. */
const failing = (): Hook => shHook("echo hook-failing-on-purpose >&2; exit 7");

function setHooks(c: Spec, hooks: Partial<Record<HookType, Hook[]>>): void {
  c.hooks = hooks;
}

/** Give the rootfs a shell at IN_CONTAINER_SH (absent on the host) and a log directory. */
function prepareContainerHooks(b: Bundle): void {
  fs.mkdirSync(path.join(b.rootfs, "hookbin"));
  fs.symlinkSync("/bin/busybox", path.join(b.rootfs, "hookbin", "sh"));
  fs.mkdirSync(path.join(b.rootfs, IN_CONTAINER_LOG.slice(1)));
  if (fs.existsSync(IN_CONTAINER_SH)) throw new Error(`${IN_CONTAINER_SH} exists on the host: pick another path`);
}

function lines(file: string): string[] {
  return readText(file)
    .split("\n")
    .filter((l) => l !== "");
}

function nsOf(file: string): Record<string, string> {
  return Object.fromEntries(lines(file).map((l) => l.split("=") as [string, string]));
}

function stateOf(file: string): State {
  const text = readText(file);
  try {
    return JSON.parse(text) as State;
  } catch {
    throw new Error(`${file}: not the state as JSON: ${JSON.stringify(text)}`);
  }
}

/** The log directory of the case's host-side hooks. */
function hookDir(t: Ctx): string {
  return t.dir("hooks");
}

conform("hooks: create runs prestart, createRuntime, createContainer in order; start runs startContainer before the process; delete runs poststop", async (t) => {
  const dir = hookDir(t);
  const seq = path.join(dir, "sequence");
  const b = t.bundle((c, bb) => {
    prepareContainerHooks(bb);
    // The process records whether startContainer had already run when it started.
    sh(c, `[ -e ${IN_CONTAINER_LOG}/startContainer.state ] && echo saw-startContainer; ${IDLE}`);
    setHooks(c, {
      prestart: [recorder(dir, "prestart")],
      createRuntime: [recorder(dir, "createRuntime")],
      createContainer: [recorder(dir, "createContainer")],
      startContainer: [recorder(IN_CONTAINER_LOG, "startContainer", IN_CONTAINER_SH)],
      poststop: [recorder(dir, "poststop")],
    });
  });
  const id = t.id();
  const cr = await t.create(b, id);
  expect(lines(seq)).toEqual(["prestart", "createRuntime", "createContainer"]);
  expect(fs.existsSync(path.join(b.rootfs, IN_CONTAINER_LOG.slice(1), "sequence"))).toBe(false);

  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  expect(readText(cr.outPath)).toContain("saw-startContainer");
  expect(lines(path.join(b.rootfs, IN_CONTAINER_LOG.slice(1), "sequence"))).toEqual(["startContainer"]);
  expect(lines(seq)).toEqual(["prestart", "createRuntime", "createContainer"]);

  await t.ok(["kill", id, "KILL"]);
  await t.waitStatus(id, "stopped");
  expect(lines(seq)).toEqual(["prestart", "createRuntime", "createContainer"]);
  await t.ok(["delete", id]);
  // Before delete returns.
  expect(lines(seq)).toEqual(["prestart", "createRuntime", "createContainer", "poststop"]);
});

conform("hooks: prestart, createRuntime, poststart and poststop run in the runtime namespace; createContainer and startContainer in the container's", async (t) => {
  const dir = hookDir(t);
  const b = t.bundle((c, bb) => {
    prepareContainerHooks(bb);
    sh(c, IDLE);
    setHooks(c, {
      prestart: [recorder(dir, "prestart")],
      createRuntime: [recorder(dir, "createRuntime")],
      createContainer: [recorder(dir, "createContainer")],
      startContainer: [recorder(IN_CONTAINER_LOG, "startContainer", IN_CONTAINER_SH)],
      poststart: [recorder(dir, "poststart")],
      poststop: [recorder(dir, "poststop")],
    });
  });
  const id = t.id();
  const cr = await t.create(b, id);
  const pid = (await t.state(id)).pid ?? 0;
  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  const container = { mnt: nsId(`/proc/${pid}/ns/mnt`), net: nsId(`/proc/${pid}/ns/net`) };
  const host = { mnt: nsId("/proc/self/ns/mnt"), net: nsId("/proc/self/ns/net") };
  expect(container.mnt).not.toBe(host.mnt);
  await t.ok(["delete", "--force", id]);

  for (const name of ["prestart", "createRuntime", "poststart", "poststop"]) {
    const ns = nsOf(path.join(dir, `${name}.ns`));
    expect(ns.mnt, name).toBe(host.mnt);
    expect(ns.net, name).toBe(host.net);
  }
  const cc = nsOf(path.join(dir, "createContainer.ns"));
  expect(cc.mnt).toBe(container.mnt);
  expect(cc.net).toBe(container.net);
  const scDir = path.join(b.rootfs, IN_CONTAINER_LOG.slice(1));
  const sc = nsOf(path.join(scDir, "startContainer.ns"));
  expect(sc.mnt).toBe(container.mnt);
  expect(sc.net).toBe(container.net);
  // startContainer's path resolved in the container (it does not exist on the host), and it
  // saw the container's root: the log directory is at its top.
  expect(lines(path.join(scDir, "startContainer.root"))).toContain(IN_CONTAINER_LOG.slice(1));
});

conform("hooks: createContainer runs in the container's mount namespace before pivot_root", async (t) => {
  const dir = hookDir(t);
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, { createContainer: [recorder(dir, "createContainer")] });
  });
  const id = t.id();
  await t.create(b, id);
  // The old root is still /: the host's directories are there, and so is this case's temp dir
  // (the hook wrote its files into it).
  const root = lines(path.join(dir, "createContainer.root")).filter((e) => e !== "." && e !== "..");
  expect(root.sort()).toEqual(fs.readdirSync("/").sort());
  expect(fs.existsSync(path.join(dir, "createContainer.state"))).toBe(true);
  // The container's mounts are set up below the rootfs: its /proc is a proc mount there.
  const mounts = readText(path.join(dir, "createContainer.mountinfo"))
    .split("\n")
    .map((l) => l.split(" "));
  const procMount = mounts.find((f) => f[4] === path.join(b.rootfs, "proc"));
  expect(procMount, `no ${b.rootfs}/proc in the hook's mountinfo`).toBeDefined();
  expect(procMount?.[procMount.indexOf("-") + 1]).toBe("proc");
  // That mount exists in the container's namespace only.
  expect(readText("/proc/self/mountinfo")).not.toContain(` ${path.join(b.rootfs, "proc")} `);
});

conform("hooks: the state on stdin has the id, bundle, status and the host pid of the container", async (t) => {
  const dir = hookDir(t);
  const annotations = { "org.example.hooks": "yes" };
  const b = t.bundle((c) => {
    sh(c, IDLE);
    c.annotations = annotations;
    setHooks(c, {
      prestart: [recorder(dir, "prestart")],
      createRuntime: [recorder(dir, "createRuntime")],
      poststop: [recorder(dir, "poststop")],
    });
  });
  const id = t.id();
  await t.create(b, id);
  const pid = (await t.state(id)).pid;
  await t.ok(["kill", id, "KILL"]);
  await t.waitStatus(id, "stopped");
  await t.ok(["delete", id]);
  for (const name of ["prestart", "createRuntime"]) {
    const s = stateOf(path.join(dir, `${name}.state`));
    expect(s.id, name).toBe(id);
    expect(s.bundle, name).toBe(b.dir);
    expect(typeof s.ociVersion, name).toBe("string");
    // For hooks in the runtime namespace "it is the pid as seen by the runtime".
    expect(s.pid, name).toBe(pid);
    // runtime.md: "created: the runtime has finished the create operation (after step 2 in the
    // lifecycle), and the container process has neither exited nor executed the user-specified
    // program"; these hooks are steps 3 and 4. tsrun and crun say "created", runc "creating"
    // (the create command has not returned yet): both readings are accepted.
    expect(["creating", "created"], `${name}: ${s.status}`).toContain(s.status);
    expect(s.annotations, name).toEqual(annotations);
  }
  const post = stateOf(path.join(dir, "poststop.state"));
  expect(post.id).toBe(id);
  expect(post.bundle).toBe(b.dir);
  expect(post.status).toBe("stopped");
});

conform("hooks: createContainer and startContainer get the pid as seen in the container", async (t) => {
  // runtime.md, State: "For hooks executed in the container namespace, it is the pid as seen by
  // the container." The container has its own pid namespace: its process is pid 1 there.
  const dir = hookDir(t);
  const b = t.bundle((c, bb) => {
    prepareContainerHooks(bb);
    sh(c, IDLE);
    setHooks(c, {
      createContainer: [recorder(dir, "createContainer")],
      startContainer: [recorder(IN_CONTAINER_LOG, "startContainer", IN_CONTAINER_SH)],
    });
  });
  const id = t.id();
  const cr = await t.create(b, id);
  await t.ok(["start", id]);
  await waitForText(cr.outPath, "ready");
  const cc = stateOf(path.join(dir, "createContainer.state"));
  expect(cc.id).toBe(id);
  expect(cc.pid).toBe(1);
  const sc = stateOf(path.join(b.rootfs, IN_CONTAINER_LOG.slice(1), "startContainer.state"));
  expect(sc.id).toBe(id);
  expect(sc.pid).toBe(1);
  // "created: ... the container process has neither exited nor executed the user-specified program"
  expect(sc.status).toBe("created");
});

conform("hooks: a hook gets exactly its env and args (args[0] need not be the path)", async (t) => {
  const dir = hookDir(t);
  // busybox picks its applet by argv[0]: were the path passed as argv[0], it would not run sh.
  // ("; true": busybox sh would exec a last simple command in its own place.)
  const script = `tr '\\0' '\\n' < /proc/$$/environ > ${dir}/environ; tr '\\0' '\\n' < /proc/$$/cmdline > ${dir}/cmdline; true`;
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, {
      prestart: [{ path: BUSYBOX, args: ["sh", "-c", script, "arg0", "two words", ""], env: ["ONE=1", "SPACES=a b  c", "EMPTY="] }],
      createRuntime: [{ path: BUSYBOX, args: ["sh", "-c", `echo "[$#]" > ${dir}/noenv; tr '\\0' '\\n' < /proc/$$/environ >> ${dir}/noenv`] }],
    });
  });
  await t.create(b, t.id());
  expect(lines(path.join(dir, "environ"))).toEqual(["ONE=1", "SPACES=a b  c", "EMPTY="]);
  expect(readText(path.join(dir, "cmdline"))).toBe(`sh\n-c\n${script}\narg0\ntwo words\n\n`);
  // No env given: an empty environment, nothing of the runtime's.
  expect(readText(path.join(dir, "noenv"))).toBe("[0]\n");
});

conform("hooks: the hooks of one type run in the listed order, each after the previous one ended", async (t) => {
  const dir = hookDir(t);
  const log = path.join(dir, "order");
  // Each hook checks that the previous one finished (wrote its end marker) before it began.
  const step = (n: number): Hook =>
    shHook(`echo begin-${n} >> ${log}; ${n > 1 ? `grep -q end-${n - 1} ${log} || echo overlap-${n} >> ${log}; ` : ""}echo end-${n} >> ${log}`);
  const b = t.bundle((c) => {
    sh(c, "true");
    setHooks(c, { createRuntime: [step(1), step(2), step(3)], poststop: [step(4), step(5)] });
  });
  const id = t.id();
  await t.create(b, id);
  expect(lines(log)).toEqual(["begin-1", "end-1", "begin-2", "end-2", "begin-3", "end-3"]);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  await t.ok(["delete", id]);
  expect(lines(log).slice(6)).toEqual(["begin-4", "end-4", "begin-5", "end-5"]);
});

conform("hooks: poststart runs during start, after the user process was executed, before start returns", async (t) => {
  const dir = hookDir(t);
  // The hook records the state and what the container process is executing by then.
  const post = shHook(
    `cat > ${dir}/poststart.state; pid=$(sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p' ${dir}/poststart.state); ` +
      `tr '\\0' ' ' < /proc/$pid/cmdline > ${dir}/poststart.cmdline; echo poststart >> ${dir}/sequence`,
  );
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, { poststart: [post] });
  });
  const id = t.id();
  await t.create(b, id);
  // config.md: "The poststart hooks MUST be called after the user-specified process is executed
  // but before the start operation returns."
  expect(fs.existsSync(path.join(dir, "sequence")), "poststart ran during create").toBe(false);
  const pid = (await t.state(id)).pid;
  await t.ok(["start", id]);
  expect(lines(path.join(dir, "sequence"))).toEqual(["poststart"]);
  const s = stateOf(path.join(dir, "poststart.state"));
  expect(s.id).toBe(id);
  expect(s.pid).toBe(pid);
  // runtime.md: "running: the container process has executed the user-specified program".
  expect(s.status).toBe("running");
  expect(readText(path.join(dir, "poststart.cmdline"))).toBe(`sh -c ${IDLE} `);
});

/** A container whose createRuntime hooks are [failing, recorder]; create is expected to fail. */
async function failingCreateRuntime(t: Ctx, dir: string) {
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, {
      prestart: [recorder(dir, "prestart")],
      createRuntime: [failing(), recorder(dir, "createRuntime-after")],
      createContainer: [recorder(dir, "createContainer")],
      poststop: [recorder(dir, "poststop")],
    });
  });
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id]);
  return { b, id, r, left };
}

conform("hooks: a failing createRuntime hook fails create, runs no later hook, and leaves nothing behind", async (t) => {
  const dir = hookDir(t);
  const { b, id, r, left } = await failingCreateRuntime(t, dir);
  expectFailure(r, /hook/i);
  expect(left).toEqual([]);
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
  t.assertNothingLeft(id, b);
  const ran = lines(path.join(dir, "sequence"));
  expect(ran).not.toContain("createRuntime-after");
  expect(ran).not.toContain("createContainer");
  expect(ran[0]).toBe("prestart");
});

conform("hooks: after a failing createRuntime hook the poststop hooks still run", async (t) => {
  // runtime.md, Lifecycle 4: "If any createRuntime hook fails, the runtime MUST generate an
  // error, stop the container, and continue the lifecycle at step 12" (destroy), and 13: "The
  // poststop hooks MUST be invoked by the runtime."
  const dir = hookDir(t);
  const { r } = await failingCreateRuntime(t, dir);
  expectFailure(r, /hook/i);
  expect(lines(path.join(dir, "sequence"))).toEqual(["prestart", "poststop"]);
  expect(stateOf(path.join(dir, "poststop.state")).bundle).toContain(t.tmp);
});

conform("hooks: a hook running past its timeout is stopped and fails create", async (t) => {
  const dir = hookDir(t);
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, {
      // exec: the hook is the sleep itself, so killing the hook leaves nothing holding its pipes.
      prestart: [shHook(`echo started > ${dir}/slow; exec sleep 60`, { timeout: 1 })],
      createRuntime: [recorder(dir, "createRuntime")],
    });
  });
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id], { timeoutMs: 40_000 });
  expectFailure(r, /time/i);
  expect(readText(path.join(dir, "slow"))).toBe("started\n");
  // Stopped at the timeout (1 s), not left to finish (60 s), and not cut short either.
  expect(r.ms).toBeGreaterThanOrEqual(900);
  expect(r.ms).toBeLessThan(30_000);
  expect(left).toEqual([]);
  expect(fs.existsSync(path.join(dir, "sequence"))).toBe(false);
  t.assertNothingLeft(id, b);
});

conform("hooks: a failing startContainer hook stops the container before the user process runs", async (t) => {
  const b = t.bundle((c, bb) => {
    prepareContainerHooks(bb);
    sh(c, "echo user-process-ran > /ran; echo user-process-ran");
    setHooks(c, { startContainer: [{ path: IN_CONTAINER_SH, args: ["sh", "-c", "exit 7"] }] });
  });
  const id = t.id();
  const cr = await t.create(b, id);
  const pid = (await t.state(id)).pid ?? 0;
  // runtime.md, Lifecycle 7: "If any startContainer hook fails, the runtime MUST generate an
  // error, stop the container, and continue the lifecycle at step 12." How the error reaches the
  // caller is not mandated (runc 1.1.5 and crun 1.8.1 exit 0 from start and report it on the
  // container's stderr), so only the outcome is checked.
  const r = await t.rt(["start", id]);
  expect(await waitGone(pid)).toBe(true);
  if (r.code === 0) expect(readText(cr.errPath), explain(r)).toMatch(/hook/i);
  else expect(r.stderr).toMatch(/hook/i);
  const st = await t.rt(["state", id]);
  if (st.code === 0) expect((JSON.parse(st.stdout) as State).status).toBe("stopped");
  expect(fs.existsSync(path.join(b.rootfs, "ran"))).toBe(false);
  expect(readText(cr.outPath)).not.toContain("user-process-ran");
});

conform("hooks: a failing poststart hook fails start and stops the container", async (t) => {
  const dir = hookDir(t);
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, { poststart: [failing(), recorder(dir, "poststart-after")], poststop: [recorder(dir, "poststop")] });
  });
  const id = t.id();
  await t.create(b, id);
  const pid = (await t.state(id)).pid ?? 0;
  // runtime.md, Lifecycle 9: "If any poststart hook fails, the runtime MUST generate an error,
  // stop the container, and continue the lifecycle at step 12."
  expectFailure(await t.rt(["start", id]), /hook/i);
  expect(await waitGone(pid)).toBe(true);
  const st = await t.rt(["state", id]);
  if (st.code === 0) expect((JSON.parse(st.stdout) as State).status).toBe("stopped");
  expect(lines(path.join(dir, "sequence"))[0]).not.toBe("poststart-after");
});

conform("hooks: a failing poststop hook is a warning: delete succeeds and the later poststop hooks run", async (t) => {
  const dir = hookDir(t);
  const b = t.bundle((c) => {
    sh(c, "true");
    setHooks(c, { poststop: [recorder(dir, "poststop-1"), failing(), recorder(dir, "poststop-3")] });
  });
  const id = t.id();
  await t.create(b, id);
  await t.ok(["start", id]);
  await t.waitStatus(id, "stopped");
  // runtime.md, Lifecycle 13: "If any poststop hook fails, the runtime MUST log a warning, but
  // the remaining hooks and lifecycle continue as if the hook had succeeded."
  const r = await t.rt(["delete", id]);
  expect(r.code, explain(r)).toBe(0);
  expect(lines(path.join(dir, "sequence"))).toEqual(["poststop-1", "poststop-3"]);
  expectFailure(await t.rt(["state", id]), /does not exist/);
  t.assertNothingLeft(id, b);
  // The warning: with no --log, runc logs to stderr.
  expect(r.stderr, "no warning on stderr").toMatch(/hook/i);
});

conform("hooks: prestart and createRuntime run in the bundle directory [runc compat]", async (t) => {
  // Not in the spec; runc (which chdirs to the bundle) and crun both do it, and hooks written for
  // them may open config.json relative to their working directory.
  const dir = hookDir(t);
  const b = t.bundle((c) => {
    sh(c, IDLE);
    setHooks(c, { prestart: [recorder(dir, "prestart")], createRuntime: [recorder(dir, "createRuntime")] });
  });
  await t.rt(["create", "--bundle", b.dir, t.id()], { cwd: t.dir("elsewhere") }).then((r) => {
    if (r.code !== 0) throw new Error(`create failed: ${explain(r)}`);
  });
  expect(readText(path.join(dir, "prestart.cwd"))).toBe(`${b.dir}\n`);
  expect(readText(path.join(dir, "createRuntime.cwd"))).toBe(`${b.dir}\n`);
});
