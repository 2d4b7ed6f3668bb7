// podman with private state: storage (graphroot/runroot), libpod tmp dir, volumes, events log and
// network config all live under one temp dir, given through CONTAINERS_CONF and
// CONTAINERS_STORAGE_CONF (environment, so the `podman container cleanup` that conmon runs on
// exit sees them too). The host's podman state is never touched.
//
// What podman can not be told to keep private: the runtime's state root. podman passes no
// --root, and a --runtime-flag root=… is left out of conmon's exit command, so cleanup's
// `delete --force` would look in the default root and leak the container. So the runtimes use
// their default roots (/run/<name>) and each scenario checks it left no entry there.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  cgroupChildren,
  cgroupDirsOf,
  cgroupPids,
  defaultStateRoot,
  killQuietly,
  listDir,
  mountsUnder,
  removeCgroupTree,
  tag,
  tempDir,
  unmountUnder,
  waitNoProcesses,
} from "./host.ts";
import { rootfsTarball } from "./image.ts";
import { check, expectOk, onPty, run, type Result } from "./proc.ts";
import type { Runtime } from "./runtimes.ts";

const PODMAN = process.env.PODMAN ?? "podman";
const STORAGE_DRIVER = process.env.DRIVER_PODMAN_STORAGE ?? "overlay";

export interface PodmanOptions {
  input?: string;
  /** Run podman on a 40x100 pty (for -t). */
  tty?: boolean;
  timeoutMs?: number;
}

export class PodmanEnv {
  readonly image = "localhost/tsrun-drv-busybox:latest";
  /** The cgroup parent of every container (and of conmon, as <parent>/conmon). */
  readonly cgroupParent: string;
  private readonly env: Record<string, string>;

  private constructor(readonly dir: string) {
    this.cgroupParent = `/tsrun-drv-${tag()}`;
    const conf = path.join(dir, "containers.conf");
    const storage = path.join(dir, "storage.conf");
    fs.mkdirSync(path.join(dir, "tmp"));
    fs.mkdirSync(path.join(dir, "io"));
    fs.writeFileSync(
      conf,
      `# root here lacks CAP_SYS_RESOURCE: podman's default nofile/nproc (1048576) fail under every runtime
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

# no systemd here
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
tmp_dir = "${dir}/libpod-tmp"
volume_path = "${dir}/volumes"
image_copy_tmp_dir = "${dir}/tmp"

[network]
network_config_dir = "${dir}/networks"
`,
    );
    fs.writeFileSync(storage, `[storage]\ndriver = "${STORAGE_DRIVER}"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`);
    this.env = { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage, TMPDIR: path.join(dir, "tmp") };
  }

  /** A private podman with the busybox image imported. */
  static async create(): Promise<PodmanEnv> {
    const env = new PodmanEnv(tempDir("podman"));
    const tar = rootfsTarball(env.dir);
    expectOk(await env.podman(null, ["import", tar, env.image]));
    fs.rmSync(tar);
    return env;
  }

  get ioDir(): string {
    return path.join(this.dir, "io");
  }

  /** `podman [--runtime R] args…`. */
  podman(rt: Runtime | null, args: string[], o: PodmanOptions = {}): Promise<Result> {
    const argv = [PODMAN, ...(rt === null ? [] : ["--runtime", rt.path]), ...args];
    return run(onPty(argv, o.tty), {
      ioDir: this.ioDir,
      env: this.env,
      ...(o.input === undefined ? {} : { input: o.input }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    });
  }

  session(rt: Runtime): PodmanSession {
    return new PodmanSession(this, rt);
  }

  /** Remove everything: containers, image, processes, mounts, cgroups, the temp dir. */
  async teardown(): Promise<void> {
    const problems: string[] = [];
    await this.podman(null, ["rm", "--all", "--force", "--time", "0"]);
    await this.podman(null, ["rmi", "--all", "--force"]);
    for (const p of await waitNoProcesses(this.dir)) {
      problems.push(`process left: ${p.pid} ${p.cmd}`);
      killQuietly(p.pid, "SIGKILL");
    }
    const mounts = mountsUnder(this.dir).filter((m) => m !== path.join(this.dir, "graph", "overlay"));
    if (mounts.length > 0) problems.push(`mounts left: ${mounts.join(", ")}`);
    unmountUnder(this.dir);
    await removeCgroupTree(this.cgroupParent);
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`podman teardown: ${problems.join("; ")}`);
  }
}

/** One scenario's containers on one runtime; cleanup() removes them and checks for leftovers. */
export class PodmanSession {
  private readonly names: string[] = [];
  private readonly stateRoot: string;

  constructor(
    readonly env: PodmanEnv,
    readonly rt: Runtime,
  ) {
    this.stateRoot = defaultStateRoot(rt.path);
  }

  /** A fresh container name, remembered for cleanup. */
  name(): string {
    const n = `tsrun-drv-${tag()}`;
    this.names.push(n);
    return n;
  }

  /** Where `run` has podman write the id of container `name` (--cidfile): --rm ones included. */
  private cidFile(name: string): string {
    return path.join(this.env.ioDir, `${name}.cid`);
  }

  /** Full ids of the containers this session created. */
  private ids(): string[] {
    return this.names.flatMap((n) => {
      try {
        return [fs.readFileSync(this.cidFile(n), "utf8").trim()];
      } catch {
        return [];
      }
    });
  }

  podman(args: string[], o: PodmanOptions = {}): Promise<Result> {
    return this.env.podman(this.rt, args, o);
  }

  /** `podman run --network none --cgroup-parent P --name N flags… IMAGE cmd…`; returns the result and the name. */
  async run(flags: string[], cmd: string[], o: PodmanOptions = {}): Promise<Result & { name: string }> {
    const name = this.name();
    const r = await this.podman(
      [
        "run",
        "--network",
        "none",
        "--cgroup-parent",
        this.env.cgroupParent,
        "--name",
        name,
        "--cidfile",
        this.cidFile(name),
        ...flags,
        this.env.image,
        ...cmd,
      ],
      o,
    );
    return { ...r, name };
  }

  /** `podman run -d …` that must succeed; returns the container's full id. */
  async runDetached(flags: string[], cmd: string[]): Promise<{ id: string; name: string }> {
    const r = await this.run(["-d", ...flags], cmd);
    expectOk(r);
    return { id: r.stdout.trim(), name: r.name };
  }

  async inspect(name: string, format: string): Promise<string> {
    return expectOk(await this.podman(["inspect", "--format", format, name])).stdout.trim();
  }

  /** The container's cgroup, relative to a hierarchy root. */
  cgroupOf(id: string): string {
    return `${this.env.cgroupParent}/libpod-${id}`;
  }

  async cleanup(): Promise<void> {
    const problems: string[] = [];
    // Everything in this private podman is ours; what the scenario did not track is reported
    // and removed through podman (killing conmon instead would orphan its container).
    const all = (await this.podman(["ps", "--all", "--format", "{{.Names}}"])).stdout.split("\n").filter((l) => l !== "");
    const strays = all.filter((n) => !this.names.includes(n));
    if (strays.length > 0) problems.push(`containers the scenario did not track: ${strays.join(" ")}`);
    if (this.names.length + strays.length > 0) {
      const r = await this.podman(["rm", "--force", "--ignore", "--time", "0", ...this.names, ...strays]);
      if (r.code !== 0) problems.push(`podman rm failed: ${r.stderr.trim()}`);
    }
    const left = (await this.podman(["ps", "--all", "--format", "{{.Names}}"])).stdout.trim();
    if (left !== "") problems.push(`containers left in podman: ${left.replaceAll("\n", " ")}`);
    // conmon and `podman container cleanup` name the temp dir on their command lines.
    for (const p of await waitNoProcesses(this.env.dir)) {
      problems.push(`process left: ${p.pid} ${p.cmd.slice(0, 200)}`);
      killQuietly(p.pid, "SIGKILL");
    }
    const ids = this.ids();
    const state = listDir(this.stateRoot).filter((e) => ids.includes(e));
    if (state.length > 0) problems.push(`runtime state left in ${this.stateRoot}: ${state.join(" ")}`);
    // containers/storage's overlay driver may leave its home (graph/overlay) bind-mounted on itself
    // between podman processes: storage's business, not a container's; teardown unmounts it.
    const mounts = mountsUnder(this.env.dir).filter((m) => m !== path.join(this.env.dir, "graph", "overlay"));
    if (mounts.length > 0) {
      problems.push(`mounts left: ${mounts.join(" ")}`);
      for (const m of mounts.sort((a, b) => b.length - a.length)) Bun.spawnSync(["umount", "-l", m]);
    }
    // podman keeps <parent>/conmon for every conmon; container cgroups must be gone.
    const cgroups = cgroupChildren(this.env.cgroupParent).filter((c) => c !== "conmon");
    if (cgroups.length > 0) {
      problems.push(`cgroups left under ${this.env.cgroupParent}: ${cgroups.join(" ")}`);
      for (const c of cgroups) await removeCgroupTree(`${this.env.cgroupParent}/${c}`);
    }
    for (const d of cgroupDirsOf(`${this.env.cgroupParent}/conmon`)) {
      if (cgroupPids(d).length > 0) problems.push(`processes left in ${d}: ${cgroupPids(d).join(" ")}`);
    }
    check(problems.length === 0, `cleanup after ${this.rt.name}: ${problems.join("; ")}`);
  }
}
