// Bad input. Every case: non-zero exit, a short message on stderr naming the problem, and nothing
// left behind: no state under --root, no cgroup, no mount, no process.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { proc, setNamespace, sh, type Spec } from "./lib/config.ts";
import { conform, expectFailure, trapper, type Bundle, type Ctx } from "./lib/harness.ts";
import { isAlive } from "./lib/host.ts";

/** Assert the runtime left nothing at all: --root empty (or absent), no cgroup, no mount. */
function nothingLeft(t: Ctx, id: string, b?: Bundle): void {
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
  t.assertNothingLeft(id, b);
}

/** `create` from a bundle edited by `edit` must fail with `re` and leave nothing behind. */
async function rejected(
  t: Ctx,
  edit: (c: Spec, b: Bundle) => void,
  re: RegExp | undefined,
  extra: string[] = [],
): Promise<void> {
  const b = t.bundle((c, bb) => {
    sh(c, trapper());
    edit(c, bb);
  });
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, ...extra, id]);
  expectFailure(r, re);
  expect(left).toEqual([]);
  nothingLeft(t, id, b);
}

for (const cmd of [["state"], ["start"], ["kill"], ["kill", "--all"], ["delete"]]) {
  conform(`${cmd.join(" ")}: a container that does not exist → error "does not exist"`, async (t) => {
    const id = t.id();
    const args = cmd[0] === "kill" ? [...cmd, id, "KILL"] : [...cmd, id];
    // podman matches this text for a missing container.
    expectFailure(await t.rt(args), /does not exist/);
    nothingLeft(t, id);
  });
}

conform("delete --force: a container that does not exist is not an error [runc compat]", async (t) => {
  const id = t.id();
  const r = await t.rt(["delete", "--force", id]);
  expect(r.code).toBe(0);
  nothingLeft(t, id);
});

for (const [label, id] of [
  ["a path escape", "../x"],
  ["a slash", "a/b"],
  ["a space", "a b"],
  ["the empty string", ""],
  ["1100 characters", "a".repeat(1100)],
] as const) {
  conform(`create: an invalid id (${label}) is rejected`, async (t) => {
    const b = t.bundle((c) => sh(c, trapper()));
    t.track(id);
    const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id]);
    expectFailure(r);
    expect(left).toEqual([]);
    expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
    t.assertNothingLeft(null, b);
    // Nothing was created next to --root either.
    expect(fs.existsSync(path.join(t.tmp, "x"))).toBe(false);
  });
}

conform("create: a duplicate id is rejected and the first container is untouched", async (t) => {
  const b1 = t.bundle((c) => sh(c, trapper()));
  const id = t.id();
  await t.create(b1, id);
  const before = await t.state(id);
  const b2 = t.bundle((c) => sh(c, trapper()));
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b2.dir, id]);
  expectFailure(r, /exists/);
  expect(left).toEqual([]);
  const after = await t.state(id);
  expect(after.status).toBe("created");
  expect(after.pid).toBe(before.pid);
  expect(after.bundle).toBe(b1.dir);
  expect(isAlive(after.pid ?? 0)).toBe(true);
  t.assertNothingLeft(null, b2);
});

conform("create: config.json that is not JSON is rejected", async (t) => {
  const b = t.bundle();
  fs.writeFileSync(path.join(b.dir, "config.json"), '{"ociVersion": "1.0.2", not json');
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id]);
  expectFailure(r);
  expect(left).toEqual([]);
  nothingLeft(t, id, b);
});

conform("create: a schema violation (process.args is a string) is rejected", async (t) => {
  await rejected(t, (c) => (proc(c).args = "sh -c true"), /args/);
});

conform("create: a schema violation (linux.resources.memory.limit is a string) is rejected", async (t) => {
  await rejected(t, (c) => ((c.linux.resources ??= {}).memory = { limit: "512M" as unknown as number }), /limit/);
});

conform("create: a bundle directory that does not exist is rejected", async (t) => {
  const id = t.id();
  const missing = path.join(t.tmp, "no-such-bundle");
  const { r, left } = await t.rtLeftovers(["create", "--bundle", missing, id]);
  expectFailure(r, /no such file or directory|does not exist|not found/i);
  expect(left).toEqual([]);
  nothingLeft(t, id);
});

conform("create: a bundle without config.json is rejected", async (t) => {
  const b = t.bundle();
  fs.rmSync(path.join(b.dir, "config.json"));
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id]);
  expectFailure(r, /config\.json/);
  expect(left).toEqual([]);
  nothingLeft(t, id, b);
});

conform("create: a root.path that does not exist is rejected", async (t) => {
  const b = t.bundle((c) => sh(c, trapper()), { rootfs: false });
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["create", "--bundle", b.dir, id]);
  expectFailure(r, /rootfs/);
  expect(left).toEqual([]);
  nothingLeft(t, id, b);
});

conform('create: args[0] not found in PATH → "executable file not found in"', async (t) => {
  // podman maps this text to exit code 127.
  await rejected(t, (c) => (proc(c).args = ["no-such-command"]), /executable file not found in/);
});

conform('create: args[0] as a missing absolute path → "no such file or directory"', async (t) => {
  await rejected(t, (c) => (proc(c).args = ["/bin/no-such-command"]), /no such file or directory/);
});

conform("create: failure half-way (bind mount from a missing source) leaves nothing behind", async (t) => {
  const src = path.join(t.tmp, "missing-source");
  await rejected(
    t,
    (c) => c.mounts?.push({ destination: "/data", type: "bind", source: src, options: ["bind"] }),
    /missing-source|\/data/,
  );
});

conform("create: failure half-way (unknown filesystem type) leaves nothing behind", async (t) => {
  await rejected(
    t,
    (c) => c.mounts?.push({ destination: "/data", type: "no-such-fs", source: "none", options: [] }),
    /\/data|no-such-fs|no such device/i,
  );
});

conform("create: failure half-way (rlimit above the hard limit) leaves nothing behind", async (t) => {
  // Root here lacks CAP_SYS_RESOURCE, so raising RLIMIT_NOFILE past the hard limit is EPERM.
  const hard = Number(
    /Max open files\s+\d+\s+(\d+)/.exec(fs.readFileSync("/proc/self/limits", "utf8"))?.[1] ?? "1048576",
  );
  await rejected(
    t,
    (c) => (proc(c).rlimits = [{ type: "RLIMIT_NOFILE", soft: hard + 1, hard: hard + 1 }]),
    /rlimit|nofile|operation not permitted/i,
  );
});

conform("create: an unknown rlimit type is rejected", async (t) => {
  await rejected(t, (c) => (proc(c).rlimits = [{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]), /RLIMIT_FOO/);
});

conform("create: duplicated rlimits are rejected", async (t) => {
  // config.md: "If rlimits contains duplicated entries with same type, the runtime MUST generate an error."
  await rejected(
    t,
    (c) =>
      // Decreasing, so that applying both in turn would succeed (raising a hard limit is EPERM).
      (proc(c).rlimits = [
        { type: "RLIMIT_NOFILE", soft: 200, hard: 200 },
        { type: "RLIMIT_NOFILE", soft: 100, hard: 100 },
      ]),
    /RLIMIT_NOFILE|rlimit/i,
  );
});

conform("create: duplicated namespaces are rejected", async (t) => {
  // config-linux.md: "If a namespaces field contains duplicated namespaces with same type, the
  // runtime MUST generate an error."
  await rejected(t, (c) => c.linux.namespaces?.push({ type: "pid" }), /pid|duplicate/i);
});

conform("create: a namespace path of the wrong type is rejected", async (t) => {
  // config-linux.md: "The runtime MUST generate an error if path is not associated with a
  // namespace of type type."
  await rejected(t, (c) => setNamespace(c, "network", "/proc/self/ns/ipc"), /net|ipc|namespace|setns/i);
});

conform("create: a namespace path that does not exist is rejected", async (t) => {
  const missing = path.join(t.tmp, "no-such-ns");
  await rejected(t, (c) => setNamespace(c, "network", missing), /no-such-ns|no such file/i);
});

conform("create: a relative process.cwd is rejected", async (t) => {
  await rejected(t, (c) => (proc(c).cwd = "tmp"), /cwd|absolute/i);
});

conform("create: hostname without a new uts namespace is rejected", async (t) => {
  await rejected(t, (c) => setNamespace(c, "uts", null), /hostname|uts/i);
});

conform("create: a sysctl outside any namespace of the container is rejected", async (t) => {
  await rejected(t, (c) => (c.linux.sysctl = { "kernel.panic": "1" }), /kernel\.panic/);
});

conform("create: a net.* sysctl without a new network namespace is rejected", async (t) => {
  await rejected(
    t,
    (c) => {
      setNamespace(c, "network", null);
      c.linux.sysctl = { "net.ipv4.ip_forward": "1" };
    },
    /net\.ipv4\.ip_forward/,
  );
});

conform("create: --preserve-fds naming descriptors that are not open is rejected", async (t) => {
  await rejected(t, () => {}, /fd|descriptor/i, ["--preserve-fds", "5"]);
});

conform("create: terminal without --console-socket is rejected [runc compat]", async (t) => {
  await rejected(t, (c) => (proc(c).terminal = true), /console|tty|terminal/i);
});

conform("create: --console-socket without terminal is rejected [runc compat]", async (t) => {
  const sock = path.join(t.tmp, "console.sock");
  await rejected(t, () => {}, /console|tty|terminal/i, ["--console-socket", sock]);
});

conform("create: oomScoreAdj below the caller's needs CAP_SYS_RESOURCE, else fails and leaves nothing", async (t) => {
  const own = Number(fs.readFileSync("/proc/self/oom_score_adj", "utf8"));
  const want = Math.max(-1000, own - 100);
  const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  const CAP_SYS_RESOURCE = 24n;
  if ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) {
    const out = await t.runOk("cat /proc/self/oom_score_adj", (c) => (proc(c).oomScoreAdj = want));
    expect(out).toBe(`${want}\n`);
  } else {
    // Root on this host lacks CAP_SYS_RESOURCE: the kernel refuses (EACCES).
    await rejected(t, (c) => (proc(c).oomScoreAdj = want), /oom_score_adj|oomScoreAdj|permission denied/i);
  }
});
