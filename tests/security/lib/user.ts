// A real unprivileged user for the rootless cases: made with useradd (which gives it /etc/subuid
// and /etc/subgid ranges from login.defs — those files are never edited by hand), commands run
// as it with setpriv, and removed with userdel -r. Every process it owns was started by the test
// (the name is unique), so those are the ones cleanup kills, by pid.
import * as fs from "node:fs";
import { rand, run, type Result, type RunOptions } from "./harness.ts";

export interface Range {
  start: number;
  count: number;
}

export class TestUser {
  private constructor(
    readonly name: string,
    readonly uid: number,
    readonly gid: number,
    readonly home: string,
    readonly subuid: Range | null,
    readonly subgid: Range | null,
  ) {}

  static create(): TestUser {
    const name = `tsrsec${rand()}`;
    const r = Bun.spawnSync(["useradd", "--create-home", "--shell", "/bin/sh", name], { stdio: ["ignore", "pipe", "pipe"] });
    if (r.exitCode !== 0) throw new Error(`useradd ${name}: ${r.stderr.toString()}`);
    const line = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${name}:`));
    if (!line) throw new Error(`useradd ${name}: not in /etc/passwd`);
    const f = line.split(":");
    const range = (file: string): Range | null => {
      const l = fs.readFileSync(file, "utf8").split("\n").find((x) => x.startsWith(`${name}:`));
      return l ? { start: Number(l.split(":")[1]), count: Number(l.split(":")[2]) } : null;
    };
    return new TestUser(name, Number(f[2]), Number(f[3]), f[5] ?? `/home/${name}`, range("/etc/subuid"), range("/etc/subgid"));
  }

  /** `argv` as this user (setpriv: real and effective ids, its groups, no capabilities). */
  run(argv: string[], ioDir: string, o: RunOptions = {}): Promise<Result> {
    return run(["setpriv", `--reuid=${this.uid}`, `--regid=${this.gid}`, "--init-groups", "--", ...argv], ioDir, {
      ...o,
      env: { HOME: this.home, USER: this.name, LOGNAME: this.name, ...o.env },
    });
  }

  /** Live processes this user owns (all of them started by the test); zombies have exited. */
  pids(): number[] {
    const out: number[] = [];
    for (const e of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (fs.statSync(`/proc/${e}`).uid !== this.uid) continue;
        const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
        if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") out.push(Number(e));
      } catch {
        // gone
      }
    }
    return out;
  }

  /** Kill what is left of the user's processes (by pid), then userdel -r. */
  async remove(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const left = this.pids();
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await Bun.sleep(10);
    }
    const r = Bun.spawnSync(["userdel", "--remove", this.name], { stdio: ["ignore", "pipe", "pipe"] });
    // 12: the home directory could not be removed (it is gone already).
    if (r.exitCode !== 0 && r.exitCode !== 12) throw new Error(`userdel ${this.name}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  }
}
