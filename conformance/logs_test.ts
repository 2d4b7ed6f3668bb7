// The global --log, --log-format and --debug flags, as containerd's shim and podman's conmon use
// them: the shim passes `--log FILE --log-format json` to every command of a container and reports
// the last error line of that file when a command fails; podman passes `--log-format=json
// --log=FILE` (runc and crun only). Whatever is logged, stdout stays clean.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { proc, sh } from "./lib/config.ts";
import { IDLE } from "./lib/container.ts";
import { conform, expectFailure, explain, type Ctx } from "./lib/harness.ts";

interface LogLine {
  level: string;
  msg: string;
  time: string;
}

/** Every line of a JSON log; fails on a line that is not a JSON object with level, msg, time. */
function jsonLines(file: string): LogLine[] {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      let v: LogLine;
      try {
        v = JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`${file}: not a JSON line: ${JSON.stringify(l)}`);
      }
      expect(typeof v.level, l).toBe("string");
      expect(typeof v.msg, l).toBe("string");
      expect(Number.isNaN(Date.parse(v.time)), l).toBe(false);
      return v;
    });
}

/** A bundle whose process cannot be found: create fails (runc looks the executable up then). */
function missingExecutable(t: Ctx) {
  return t.bundle((c) => (proc(c).args = ["no-such-executable"]));
}

conform("--log=FILE --log-format=json: a failing create ends the log with an error line naming the problem", async (t) => {
  const log = path.join(t.tmp, "runtime.log");
  const b = missingExecutable(t);
  const id = t.id();
  const r = await t.rtBare(["--root", t.root, `--log=${log}`, "--log-format=json", "create", "--bundle", b.dir, id]);
  expectFailure(r, /executable file not found in \$PATH/);
  const lines = jsonLines(log);
  const errors = lines.filter((l) => l.level === "error");
  expect(errors.length, fs.readFileSync(log, "utf8")).toBeGreaterThan(0);
  // containerd's shim reports the last error line: it must be the one that names the problem.
  expect(errors[errors.length - 1]?.msg).toMatch(/executable file not found in \$PATH/);
  expect(errors[errors.length - 1]?.msg).toContain("no-such-executable");
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
});

conform("--log FILE: the log is appended to, across commands", async (t) => {
  const log = path.join(t.tmp, "runtime.log");
  const earlier = JSON.stringify({ level: "info", msg: "written before", time: new Date().toISOString() });
  fs.writeFileSync(log, `${earlier}\n`);
  const b = t.bundle((c) => sh(c, IDLE));
  const id = t.id();
  const flags = ["--root", t.root, "--log", log, "--log-format", "json"];
  const cr = await t.rtBare([...flags, "create", "--bundle", b.dir, id]);
  expect(cr.code, explain(cr)).toBe(0);
  expectFailure(await t.rtBare([...flags, "start", "no-such-container"]), /does not exist/);
  expectFailure(await t.rtBare([...flags, "kill", id, "SIGNOSUCH"]), /SIGNOSUCH|signal/i);
  const lines = fs.readFileSync(log, "utf8").split("\n");
  expect(lines[0]).toBe(earlier);
  const errors = jsonLines(log).filter((l) => l.level === "error");
  expect(errors.length).toBeGreaterThanOrEqual(2);
  expect(errors.some((l) => /does not exist/.test(l.msg))).toBe(true);
});

conform("--log FILE in the text format: the error names the problem", async (t) => {
  const log = path.join(t.tmp, "runtime.log");
  const b = missingExecutable(t);
  const r = await t.rtBare(["--root", t.root, "--log", log, "create", "--bundle", b.dir, t.id()]);
  expectFailure(r, /executable file not found in \$PATH/);
  const text = fs.readFileSync(log, "utf8");
  const errorLine = text.split("\n").find((l) => /executable file not found in \$PATH/.test(l));
  expect(errorLine, text).toBeDefined();
  expect(errorLine).toMatch(/error/i);
  // Text, not JSON.
  expect(() => JSON.parse(errorLine ?? "")).toThrow();
});

conform("--debug: stdout of state and list stays machine-readable", async (t) => {
  const b = t.bundle((c) => sh(c, IDLE));
  const id = t.id();
  await t.create(b, id);
  const plain = await t.ok(["state", id]);
  const debug = await t.ok(["--debug", "state", id]);
  expect(JSON.parse(debug.stdout)).toEqual(JSON.parse(plain.stdout));
  const list = await t.ok(["--debug", "list", "--format", "json"]);
  expect((JSON.parse(list.stdout) as { id: string }[]).map((e) => e.id)).toEqual([id]);
  // With a JSON log, the debug lines go there, each one JSON too.
  const log = path.join(t.tmp, "debug.log");
  const logged = await t.ok(["--debug", "--log", log, "--log-format", "json", "state", id]);
  expect(JSON.parse(logged.stdout)).toEqual(JSON.parse(plain.stdout));
  jsonLines(log);
});

conform("--log FILE --log-format json: a failing exec (containerd's form) ends the log with the error", async (t) => {
  const b = t.bundle((c) => sh(c, IDLE));
  const id = t.id();
  await t.create(b, id);
  await t.ok(["start", id]);
  const log = path.join(t.tmp, "exec.log");
  const file = path.join(t.tmp, "process.json");
  fs.writeFileSync(file, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ["no-such-executable"], env: ["PATH=/bin"], cwd: "/" }));
  const r = await t.rtBare([
    "--root",
    t.root,
    "--log",
    log,
    "--log-format",
    "json",
    "exec",
    "--process",
    file,
    "--detach",
    "--pid-file",
    path.join(t.tmp, "exec.pid"),
    id,
  ]);
  expectFailure(r, /executable file not found in \$PATH/);
  const errors = jsonLines(log).filter((l) => l.level === "error");
  expect(errors[errors.length - 1]?.msg).toMatch(/executable file not found in \$PATH/);
  expect(fs.existsSync(path.join(t.tmp, "exec.pid"))).toBe(false);
  expect((await t.state(id)).status).toBe("running");
});
