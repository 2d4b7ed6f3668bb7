// make bench: tsrun against runc and crun, side by side in one run, interleaved round by round
// so that machine noise hits all three alike. Reports medians and ratios, never asserts.
//
//   run             `run` of a busybox `true`, in the foreground, until it has exited and is gone
//   lifecycle       create + start + delete of a `true` container
//   pid 1 RSS       VmRSS of the process that waits between create and start
//   exec, state     `exec ID true` and `state ID` against a running container (Kubernetes
//                   probes are execs; podman and conmon ask for state all the time)
//
// crun 1.8 refuses this host's hybrid cgroup layout; it runs inside a private mount namespace
// (a sleeper made with unshare) where /sys/fs/cgroup/unified is covered by an empty tmpfs, via
// nsenter. nsenter's own cost is measured alongside and subtracted.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROUNDS = Number(process.env.ROUNDS ?? 30);
const root = mkdtempSync("/tmp/tsrun-bench.");
const tsrun = join(import.meta.dir, "..", "bin", "tsrun");

function sh(cmd: string[], opts: { allowFail?: boolean } = {}): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0 && !opts.allowFail) throw new Error(`${cmd.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function bundle(name: string, args: string[]): string {
  const dir = join(root, name);
  sh([join(import.meta.dir, "..", "scripts", "busybox-rootfs.sh"), join(dir, "rootfs")]);
  sh([tsrun, "spec", "--bundle", dir]);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  config.process.args = args;
  config.process.terminal = false;
  // crun 1.8 knows runtime-spec versions up to 1.0.x only; nothing here needs more.
  config.ociVersion = "1.0.2";
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

interface Runtime {
  name: string;
  argv: (args: string[]) => string[];
  /** Subtracted from every sample (nsenter for crun). */
  overheadMs: number;
}

/** Wall time of one command. Its stdio are files: a container keeps create's stdio open, so a
 * pipe would never see EOF. */
function timeIt(argv: string[]): number {
  const errFile = join(root, "stderr");
  const t = performance.now();
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "ignore", stderr: Bun.file(errFile) });
  const ms = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${readFileSync(errFile, "utf8")}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

const dir = bundle("bundle", ["true"]);
const sleeping = bundle("bundle-sleep", ["sleep", "100000"]);
let sleeper: ReturnType<typeof Bun.spawn> | undefined;
try {
  const runtimes: Runtime[] = [{ name: "tsrun", argv: (a) => [tsrun, "--root", join(root, "tsrun"), ...a], overheadMs: 0 }];
  if (Bun.which("runc")) runtimes.push({ name: "runc", argv: (a) => ["runc", "--root", join(root, "runc"), ...a], overheadMs: 0 });
  if (Bun.which("crun")) {
    // A private mount namespace with the cgroup2 mount hidden, kept alive by a sleeper.
    sleeper = Bun.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /sys/fs/cgroup/unified && echo ready && exec sleep 3600"], {
      stdout: "pipe",
    });
    const reader = (sleeper.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const ns = `--mount=/proc/${sleeper.pid}/ns/mnt`;
    const nsenter = (a: string[]) => ["nsenter", ns, ...a];
    const overhead = median(Array.from({ length: 15 }, () => timeIt(nsenter(["true"]))) ) - median(Array.from({ length: 15 }, () => timeIt(["true"])));
    runtimes.push({ name: "crun", argv: (a) => nsenter(["crun", "--root", join(root, "crun"), ...a]), overheadMs: overhead });
  }

  const samples = new Map<string, { run: number[]; cycle: number[]; rss: number[]; create: number[]; start: number[]; delete: number[]; exec: number[]; state: number[] }>();
  for (const r of runtimes) samples.set(r.name, { run: [], cycle: [], rss: [], create: [], start: [], delete: [], exec: [], state: [] });
  for (let i = 0; i < ROUNDS; i++) {
    for (const r of runtimes) {
      const s = samples.get(r.name)!;
      s.run.push(timeIt(r.argv(["run", "--bundle", dir, `b${i}`])) - r.overheadMs);
      const id = `c${i}`;
      // The container's process keeps create's stdout open, so nothing may wait for its EOF.
      const created = timeIt(r.argv(["create", "--bundle", dir, "--pid-file", join(root, `${r.name}.pid`), id]));
      if (i < 5) s.rss.push(rssKb(Number(readFileSync(join(root, `${r.name}.pid`), "utf8"))));
      const started = timeIt(r.argv(["start", id]));
      waitStopped(r, id);
      const deleted = timeIt(r.argv(["delete", id]));
      s.create.push(created - r.overheadMs);
      s.start.push(started - r.overheadMs);
      s.delete.push(deleted - r.overheadMs);
      s.cycle.push(created + started + deleted - 3 * r.overheadMs);
    }
  }
  // A second phase, so that a running container cannot change what the first one measured.
  for (const r of runtimes) timeIt(r.argv(["run", "--detach", "--bundle", sleeping, "sleeper"]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const r of runtimes) {
      const s = samples.get(r.name)!;
      s.exec.push(timeIt(r.argv(["exec", "sleeper", "true"])) - r.overheadMs);
      s.state.push(timeIt(r.argv(["state", "sleeper"])) - r.overheadMs);
    }
  }

  const base = samples.get("tsrun")!;
  const rows = [["runtime", "run (ms)", "create+start+delete (ms)", "create", "start", "delete", "exec", "state", "waiting pid 1 RSS (kB)", "tsrun/this run", "tsrun/this cycle", "tsrun/this exec"]];
  for (const r of runtimes) {
    const s = samples.get(r.name)!;
    rows.push([
      r.name,
      median(s.run).toFixed(1),
      median(s.cycle).toFixed(1),
      median(s.create).toFixed(1),
      median(s.start).toFixed(1),
      median(s.delete).toFixed(1),
      median(s.exec).toFixed(1),
      median(s.state).toFixed(1),
      median(s.rss).toFixed(0),
      (median(base.run) / median(s.run)).toFixed(2),
      (median(base.cycle) / median(s.cycle)).toFixed(2),
      (median(base.exec) / median(s.exec)).toFixed(2),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(`${ROUNDS} interleaved rounds; medians${runtimes.some((r) => r.overheadMs) ? `; nsenter overhead ${runtimes.find((r) => r.overheadMs)!.overheadMs.toFixed(1)} ms subtracted for crun` : ""}`);
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i]! + 2)).join(""));
} finally {
  sleeper?.kill();
  for (const name of ["tsrun", "runc", "crun"]) {
    const r = Bun.spawnSync(["sh", "-c", `ls ${join(root, name)} 2>/dev/null`], { stdout: "pipe" });
    for (const id of r.stdout.toString().split("\n").filter(Boolean)) {
      const cmd = name === "tsrun" ? [tsrun] : [name];
      Bun.spawnSync([...cmd, "--root", join(root, name), "delete", "--force", id]);
    }
  }
  rmSync(root, { recursive: true, force: true });
}

/** start returns before `true` has exited and delete needs it stopped: wait (untimed) for that. */
function waitStopped(r: Runtime, id: string): void {
  for (let i = 0; i < 2000; i++) {
    if (/"status":\s*"stopped"/.test(sh(r.argv(["state", id]), { allowFail: true }))) return;
  }
  throw new Error(`${r.name}: container ${id} did not stop`);
}
