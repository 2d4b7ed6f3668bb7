// linux.namespaces (new, inherited, joined by path), user namespace mappings, hostname and
// domainname, sysctl. The container's /proc/self/ns/* is compared with the host's, or with a
// namespace the test makes itself (unshare + bind mount below its temp dir, removed after).
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { setNamespace } from "./lib/config.ts";
import { conform, explain, waitFor, type Ctx } from "./lib/harness.ts";
import { killQuietly, nsId, nsInode } from "./lib/host.ts";

/** Spec namespace type → name under /proc/<pid>/ns. */
const NS_FILE: Record<string, string> = {
  pid: "pid",
  network: "net",
  ipc: "ipc",
  uts: "uts",
  mount: "mnt",
  cgroup: "cgroup",
  user: "user",
  time: "time",
};

function nsFile(type: string): string {
  const f = NS_FILE[type];
  if (f === undefined) throw new Error(`unknown namespace type ${type}`);
  return f;
}

/** The inode of the container's namespace of `type` (read with readlink inside it). */
async function containerNs(t: Ctx, type: string, edit: Parameters<Ctx["run"]>[1]): Promise<string> {
  const out = await t.runOk(`readlink /proc/self/ns/${nsFile(type)}`, edit);
  return nsInode(out.trim());
}

function hostNs(type: string): string {
  return nsInode(nsId(`/proc/self/ns/${nsFile(type)}`));
}

/**
 * A persistent namespace of `type` made with util-linux unshare, bind-mounted on a file below the
 * case's temp dir (cleanup unmounts it). The mount namespace's file must sit on a private mount,
 * so everything goes on a private tmpfs of our own.
 */
function persistentNs(t: Ctx, type: "network" | "ipc" | "uts" | "mount" | "cgroup"): string {
  const dir = t.dir("ns");
  if (!fs.existsSync(path.join(dir, ".mounted"))) {
    run(["mount", "-t", "tmpfs", "-o", "size=1m", "conformance-ns", dir]);
    run(["mount", "--make-private", dir]);
    fs.writeFileSync(path.join(dir, ".mounted"), "");
  }
  const file = path.join(dir, type);
  fs.writeFileSync(file, "");
  const flag = { network: "--net", ipc: "--ipc", uts: "--uts", mount: "--mount", cgroup: "--cgroup" }[type];
  run(["unshare", `${flag}=${file}`, "true"]);
  return file;
}

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

for (const type of ["pid", "network", "ipc", "uts", "mount", "cgroup"]) {
  conform(`${type} namespace: new namespace differs from the host's`, async (t) => {
    const inside = await containerNs(t, type, (c) => setNamespace(c, type));
    expect(inside).not.toBe(hostNs(type));
  });
}

for (const type of ["pid", "network", "ipc", "uts", "cgroup"]) {
  conform(`${type} namespace: omitted means the host's`, async (t) => {
    // config-linux.md: "If a namespace type is not specified in the namespaces array, the
    // container MUST inherit the runtime namespace of that type."
    const inside = await containerNs(t, type, (c) => {
      setNamespace(c, type, null);
      if (type === "uts") delete c.hostname;
    });
    expect(inside).toBe(hostNs(type));
  });
}

for (const type of ["network", "ipc", "uts", "mount", "cgroup"] as const) {
  conform(`${type} namespace: joined by path`, async (t) => {
    const file = persistentNs(t, type);
    const want = nsInode(nsId(file));
    expect(want).not.toBe(hostNs(type));
    const inside = await containerNs(t, type, (c) => setNamespace(c, type, file));
    expect(inside).toBe(want);
  });
}

conform("pid namespace: joined by path (the container is not its init)", async (t) => {
  // A pid namespace needs a live init: keep one in a helper process for the length of the case.
  const holder = Bun.spawn(["unshare", "--pid", "--fork", "--kill-child", "sleep", "100000"], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  t.defer(() => killQuietly(holder.pid, "SIGKILL"));
  let child = 0;
  await waitFor(
    () => {
      const kids = fs.readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, "utf8").trim();
      child = Number(kids.split(" ")[0] ?? 0);
      return child > 0;
    },
    10_000,
    "the namespace holder's child",
  );
  const nsPath = `/proc/${child}/ns/pid`;
  const want = nsInode(nsId(nsPath));
  const out = await t.runOk("readlink /proc/self/ns/pid; echo $$", (c) => setNamespace(c, "pid", nsPath));
  const [link, pid] = out.trim().split("\n");
  expect(nsInode(link ?? "")).toBe(want);
  expect(pid).not.toBe("1");
});

conform("time namespace: new namespace differs from the host's", async (t) => {
  const inside = await containerNs(t, "time", (c) => setNamespace(c, "time"));
  expect(inside).not.toBe(hostNs("time"));
});

conform("user namespace: uid/gid mappings as given, root inside is the mapped id outside", async (t) => {
  const shared = t.dir("shared");
  fs.chmodSync(shared, 0o777);
  const r = await t.run("cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; id -u; id -g; touch /shared/by-container", (c, b) => {
    // The rootfs belongs to the host's root, unmapped inside: the mount point must exist already.
    fs.mkdirSync(path.join(b.rootfs, "shared"));
    setNamespace(c, "user");
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 1000 }];
    c.mounts?.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] });
  });
  expect(r.code, explain(r)).toBe(0);
  const lines = r.stdout.trim().split("\n");
  expect(lines[0]?.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
  expect(lines[1]?.trim().split(/\s+/)).toEqual(["0", "200000", "1000"]);
  expect(nsInode(lines[2] ?? "")).not.toBe(hostNs("user"));
  expect(lines.slice(3)).toEqual(["0", "0"]);
  const st = fs.statSync(path.join(shared, "by-container"));
  expect([st.uid, st.gid]).toEqual([100000, 200000]);
});

conform("uts: hostname is set", async (t) => {
  const out = await t.runOk("hostname; cat /proc/sys/kernel/hostname", (c) => (c.hostname = "box-1.example"));
  expect(out).toBe("box-1.example\nbox-1.example\n");
});

conform("uts: domainname is set", async (t) => {
  const out = await t.runOk("cat /proc/sys/kernel/domainname", (c) => (c.domainname = "example.org"));
  expect(out).toBe("example.org\n");
});

conform("sysctl: net.ipv4.ip_forward in a new network namespace, host untouched", async (t) => {
  const host = fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const want = host.trim() === "1" ? "0" : "1";
  const out = await t.runOk("cat /proc/sys/net/ipv4/ip_forward", (c) => (c.linux.sysctl = { "net.ipv4.ip_forward": want }));
  expect(out.trim()).toBe(want);
  expect(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(host);
});

conform("sysctl: kernel.shmmax in a new ipc namespace, host untouched", async (t) => {
  const host = fs.readFileSync("/proc/sys/kernel/shmmax", "utf8");
  const out = await t.runOk("cat /proc/sys/kernel/shmmax", (c) => (c.linux.sysctl = { "kernel.shmmax": "123456789" }));
  expect(out.trim()).toBe("123456789");
  expect(fs.readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(host);
});

conform("sysctl: keys written with slashes are accepted (net/ipv4/ip_forward)", async (t) => {
  const out = await t.runOk("cat /proc/sys/net/ipv4/ip_forward", (c) => (c.linux.sysctl = { "net/ipv4/ip_forward": "1" }));
  expect(out.trim()).toBe("1");
});
