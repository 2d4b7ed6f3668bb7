// A private containerd 1.6 per suite run: its own config.toml, root, state, temp and opt dirs and
// gRPC/ttrpc sockets under one temp dir, started in the background and stopped by its pid.
//
// containerd 1.6 applies the runc options' BinaryName only to CRI clients, so `ctr run` picks
// the runtime with --runc-binary and keeps its state under --runc-root (the shim passes
// `--root <runc-root>/<namespace>`). The CRI plugin is disabled: nothing here speaks CRI.
//
// What containerd can not be told to keep private: the shims' sockets, always
// /run/containerd/s/<sha256(address/namespace/id)>. Each scenario checks its sockets are gone;
// teardown removes /run/containerd again if this suite created it.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  cgroupDirsOf,
  killQuietly,
  listDir,
  mountsUnder,
  removeCgroupTree,
  tag,
  tempDir,
  thaw,
  unmountUnder,
  waitNoProcesses,
} from "./host.ts";
import { ociArchive, rootfsTarball } from "./image.ts";
import { check, expectOk, onPty, run, until, type Result } from "./proc.ts";
import type { Runtime } from "./runtimes.ts";

const CONTAINERD = process.env.CONTAINERD ?? "containerd";
const CTR = process.env.CTR ?? "ctr";
const NAMESPACE = "default";
const SHIM_SOCKETS = "/run/containerd/s";

export interface CtrOptions {
  input?: string;
  /** Run ctr on a 40x100 pty (for -t). */
  tty?: boolean;
  timeoutMs?: number;
}

export class ContainerdEnv {
  readonly image = "localhost/tsrun-drv-busybox:latest";
  /** The cgroup parent of every container: ctr run --cgroup <parent>/<id>. */
  readonly cgroupParent = `/tsrun-drv-${tag()}`;
  readonly address: string;
  private daemon: ReturnType<typeof Bun.spawn> | undefined;
  private readonly hadRunContainerd = fs.existsSync("/run/containerd");

  private constructor(readonly dir: string) {
    this.address = path.join(dir, "containerd.sock");
    for (const d of ["io", "tmp", "fifo", "runtime-root"]) fs.mkdirSync(path.join(dir, d));
  }

  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  get ioDir(): string {
    return path.join(this.dir, "io");
  }

  /** Start containerd and import the busybox image. */
  static async create(): Promise<ContainerdEnv> {
    const env = new ContainerdEnv(tempDir("containerd"));
    try {
      await env.start();
      const archive = ociArchive(rootfsTarball(env.dir), env.dir, env.image);
      expectOk(await env.ctr(["images", "import", archive]));
      fs.rmSync(archive);
      fs.rmSync(path.join(env.dir, "rootfs.tar"));
    } catch (e) {
      await env.teardown().catch(() => {});
      throw e;
    }
    return env;
  }

  private async start(): Promise<void> {
    const d = this.dir;
    const config = path.join(d, "config.toml");
    fs.writeFileSync(
      config,
      `version = 2
root = "${d}/root"
state = "${d}/state"
temp = "${d}/tmp"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${this.address}"

[ttrpc]
  address = "${this.address}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"
`,
    );
    const log = fs.openSync(path.join(d, "containerd.log"), "w");
    try {
      this.daemon = Bun.spawn([CONTAINERD, "--config", config], { stdio: ["ignore", log, log], cwd: d });
    } finally {
      fs.closeSync(log);
    }
    const daemon = this.daemon;
    await until(
      "containerd to serve",
      async () => {
        if (daemon.exitCode !== null || daemon.signalCode !== null) {
          throw new Error(`containerd exited: ${fs.readFileSync(path.join(d, "containerd.log"), "utf8").slice(-2000)}`);
        }
        return fs.existsSync(this.address) && (await this.ctr(["version"])).code === 0;
      },
      20_000,
    );
  }

  /** `ctr -a <address> args…`; fails at once when containerd is gone instead of waiting to connect. */
  async ctr(args: string[], o: CtrOptions = {}): Promise<Result> {
    const d = this.daemon;
    if (d !== undefined && (d.exitCode !== null || d.signalCode !== null)) {
      const log = fs.readFileSync(path.join(this.dir, "containerd.log"), "utf8").slice(-1500);
      throw new Error(`containerd (pid ${d.pid}) exited with ${d.exitCode ?? d.signalCode}; log tail: ${log}`);
    }
    const argv = [CTR, "--address", this.address, "--namespace", NAMESPACE, "--connect-timeout", "5s", ...args];
    return run(onPty(argv, o.tty), {
      ioDir: this.ioDir,
      ...(o.input === undefined ? {} : { input: o.input }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    });
  }

  /** The runtime's --root as the shim passes it, for containers run with `session(rt)`. */
  runtimeRoot(rt: Runtime): string {
    return path.join(this.dir, "runtime-root", rt.name);
  }

  session(rt: Runtime): ContainerdSession {
    return new ContainerdSession(this, rt);
  }

  /** The shim's socket for container `id` (containerd 1.6 runtime/v2/shim.SocketAddress). */
  shimSocket(id: string): string {
    const hex = new Bun.CryptoHasher("sha256").update(path.join(this.address, NAMESPACE, id)).digest("hex");
    return path.join(SHIM_SOCKETS, hex);
  }

  /**
   * Remove container `id` through containerd: delete --force kills a live task first, and both
   * fail harmlessly when there is nothing. A paused task is thawed first (killing a frozen one is
   * a scenario of its own). Failures to talk to containerd go to `problems`.
   */
  async remove(id: string, problems: string[]): Promise<void> {
    try {
      if (/\bPAUSED\b/.test((await this.ctr(["tasks", "list"])).stdout.split("\n").find((l) => l.startsWith(`${id} `)) ?? "")) {
        thaw(`${this.cgroupParent}/${id}`);
      }
      await this.ctr(["tasks", "delete", "--force", id]);
      await this.ctr(["containers", "delete", id]);
    } catch (e) {
      problems.push(`removing ${id}: ${(e as Error).message}`);
    }
  }

  /** Stop containerd (by pid) and remove everything it and its shims made. */
  async teardown(): Promise<void> {
    const problems: string[] = [];
    const seen = new Set<string>();
    if (this.daemon !== undefined) {
      try {
        for (const what of ["tasks", "containers"]) {
          for (const id of (await this.ctr([what, "list", "--quiet"])).stdout.split("\n").filter((l) => l !== "")) seen.add(id);
        }
      } catch (e) {
        problems.push(`listing what is left: ${(e as Error).message}`);
      }
      for (const id of seen) await this.remove(id, problems);
      this.daemon.kill("SIGTERM");
      const timer = setTimeout(() => this.daemon?.kill("SIGKILL"), 10_000);
      await this.daemon.exited;
      clearTimeout(timer);
    }
    // Shims and runtime processes name the temp dir (-address, --root, --bundle).
    for (const p of await waitNoProcesses(this.dir)) {
      problems.push(`process left: ${p.pid} ${p.cmd.slice(0, 200)}`);
      killQuietly(p.pid, "SIGKILL");
    }
    if (mountsUnder(this.dir).length > 0) {
      problems.push(`mounts left: ${mountsUnder(this.dir).join(" ")}`);
      unmountUnder(this.dir);
    }
    await removeCgroupTree(this.cgroupParent);
    for (const id of seen) fs.rmSync(this.shimSocket(id), { force: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (!this.hadRunContainerd) {
      for (const d of [SHIM_SOCKETS, "/run/containerd"]) {
        try {
          fs.rmdirSync(d);
        } catch {
          // not empty (someone else's) or gone
        }
      }
    }
    if (problems.length > 0) throw new Error(`containerd teardown: ${problems.join("; ")}`);
  }
}

/** One scenario's containers on one runtime; cleanup() removes them and checks for leftovers. */
export class ContainerdSession {
  private readonly ids: string[] = [];

  constructor(
    readonly env: ContainerdEnv,
    readonly rt: Runtime,
  ) {}

  /** A fresh container id, remembered for cleanup. */
  id(): string {
    const id = `tsrun-drv-${tag()}`;
    this.ids.push(id);
    return id;
  }

  ctr(args: string[], o: CtrOptions = {}): Promise<Result> {
    return this.env.ctr(args, o);
  }

  cgroupOf(id: string): string {
    return `${this.env.cgroupParent}/${id}`;
  }

  /** `ctr run <runtime flags> flags… IMAGE ID cmd…`; returns the result and the id. */
  async run(flags: string[], cmd: string[], o: CtrOptions = {}): Promise<Result & { id: string }> {
    const id = this.id();
    const r = await this.ctr(
      [
        "run",
        "--runc-binary",
        this.rt.path,
        "--runc-root",
        this.env.runtimeRoot(this.rt),
        "--fifo-dir",
        path.join(this.env.dir, "fifo"),
        "--cgroup",
        this.cgroupOf(id),
        ...flags,
        this.env.image,
        id,
        ...cmd,
      ],
      o,
    );
    return { ...r, id };
  }

  /** `ctr run -d …` that must succeed; returns the id and the task's pid. */
  async runDetached(flags: string[], cmd: string[]): Promise<{ id: string; pid: number }> {
    const r = await this.run(["--detach", ...flags], cmd);
    expectOk(r);
    const t = await this.task(r.id);
    check(t !== undefined, `task ${r.id} listed after ctr run -d`, r);
    return { id: r.id, pid: t?.pid ?? 0 };
  }

  /** The task's line in `ctr tasks list`: pid and status (RUNNING, PAUSED, STOPPED, ...). */
  async task(id: string): Promise<{ pid: number; status: string } | undefined> {
    const r = expectOk(await this.ctr(["tasks", "list"]));
    for (const line of r.stdout.split("\n").slice(1)) {
      const [tid, pid, status] = line.trim().split(/\s+/);
      if (tid === id) return { pid: Number(pid), status: status ?? "" };
    }
    return undefined;
  }

  async cleanup(): Promise<void> {
    const problems: string[] = [];
    // Everything in this private containerd is ours; what the scenario did not track is reported
    // and removed through containerd (killing a shim instead would orphan its container).
    const listed = async (what: string): Promise<string[]> =>
      (await this.ctr([what, "list", "--quiet"]).catch(() => undefined))?.stdout.split("\n").filter((l) => l !== "") ?? [];
    const strays = [...new Set([...(await listed("tasks")), ...(await listed("containers"))])].filter((id) => !this.ids.includes(id));
    if (strays.length > 0) problems.push(`containers the scenario did not track: ${strays.join(" ")}`);
    for (const id of [...this.ids, ...strays]) await this.env.remove(id, problems);
    const tasks = await listed("tasks");
    if (tasks.length > 0) problems.push(`tasks left: ${tasks.join(" ")}`);
    const containers = await listed("containers");
    if (containers.length > 0) problems.push(`containers left: ${containers.join(" ")}`);
    // Shims and runtime processes name the temp dir (-address, --root, --bundle).
    const except = this.env.pid === undefined ? [] : [this.env.pid];
    for (const p of await waitNoProcesses(this.env.dir, except)) {
      problems.push(`process left: ${p.pid} ${p.cmd.slice(0, 200)}`);
      killQuietly(p.pid, "SIGKILL");
    }
    const root = path.join(this.env.runtimeRoot(this.rt), NAMESPACE);
    const state = listDir(root).filter((e) => this.ids.includes(e));
    if (state.length > 0) problems.push(`runtime state left in ${root}: ${state.join(" ")}`);
    const mounts = mountsUnder(this.env.dir);
    if (mounts.length > 0) {
      problems.push(`mounts left: ${mounts.join(" ")}`);
      unmountUnder(this.env.dir);
    }
    for (const id of [...this.ids, ...strays]) {
      const cg = this.cgroupOf(id);
      if (cgroupDirsOf(cg).length > 0) {
        problems.push(`cgroup left: ${cgroupDirsOf(cg).join(" ")}`);
        await removeCgroupTree(cg);
      }
      const sock = this.env.shimSocket(id);
      if (fs.existsSync(sock)) {
        problems.push(`shim socket left: ${sock}`);
        fs.rmSync(sock, { force: true });
      }
    }
    check(problems.length === 0, `cleanup after ${this.rt.name}: ${problems.join("; ")}`);
  }
}
