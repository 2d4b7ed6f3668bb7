// process.terminal with the runtime in the foreground on a real terminal (a pty the test
// allocates): the container gets a pty of its own, sized like the outer one, input and output
// pass through, resizes follow, and the exit code comes back. Plus runc's rules about which
// combinations of terminal, --detach and --console-socket are allowed.
import { expect } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { proc, sh } from "./lib/config.ts";
import { conform, expectFailure, type Bundle, type Ctx } from "./lib/harness.ts";
import { runOnPty, type PtyResult } from "./lib/pty.ts";

function terminalBundle(t: Ctx, script: string): Bundle {
  return t.bundle((c) => {
    proc(c).terminal = true;
    sh(c, script);
  });
}

function ok(r: PtyResult): string {
  return `code ${r.code}, error ${r.error}, transcript ${JSON.stringify(r.transcript)}`;
}

conform("terminal: run in the foreground gives the container a pty of its own, and its exit code", async (t) => {
  const b = terminalBundle(t, "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; exit 3");
  const r = await runOnPty(t, ["run", "--bundle", b.dir, t.id()], []);
  expect(r.error, ok(r)).toBeNull();
  expect(r.code, ok(r)).toBe(3);
  expect(r.transcript).toMatch(/^\/dev\/pts\/\d+\nstdio-is-tty\n/);
});

conform("terminal: what is typed reaches the container and its output comes back; ^D is EOF", async (t) => {
  const b = terminalBundle(t, 'echo ready; read line; echo "got:[$line]"; read more || echo "eof:[$more]"; exit 0');
  const r = await runOnPty(t, ["run", "--bundle", b.dir, t.id()], [
    { expect: "ready" },
    { send: "hello terminal\n", expect: "got:\\[hello terminal\\]" },
    // The container's pty is in canonical mode: ^D at the start of a line is end of file.
    { send: "\u0004", expect: "eof:\\[\\]" },
  ]);
  expect(r.error, ok(r)).toBeNull();
  expect(r.code, ok(r)).toBe(0);
  // The container's pty echoes what was typed (it is the one in canonical mode, not ours).
  expect(r.transcript).toContain("hello terminal\ngot:[hello terminal]\n");
});

conform("terminal: the caller's terminal size, and a later resize, reach the container", async (t) => {
  const b = terminalBundle(t, 'echo ready; while read l; do echo "size:$(stty size)."; done');
  // Each line typed makes the container report its size: a poll through the terminal until the
  // runtime has passed the size on (runc sizes the container's pty only after starting it).
  const poll = (rows: number, cols: number) => ({
    send: "\n",
    expect: "size:\\d+ \\d+\\.",
    until: `size:${rows} ${cols}\\.`,
    tries: 5000,
  });
  const r = await runOnPty(
    t,
    ["run", "--bundle", b.dir, t.id()],
    [{ expect: "ready" }, poll(20, 60), { resize: [41, 123] }, poll(41, 123), { send: "\u0004" }],
    [20, 60],
  );
  expect(r.error, ok(r)).toBeNull();
  expect(r.code, ok(r)).toBe(0);
  expect(r.transcript).toContain("size:20 60.");
  expect(r.transcript).toContain("size:41 123.");
});

conform("terminal: run --detach with process.terminal and no --console-socket is refused [runc compat]", async (t) => {
  const b = terminalBundle(t, "echo ran > /ran");
  const id = t.id();
  const { r, left } = await t.rtLeftovers(["run", "--detach", "--bundle", b.dir, id]);
  expectFailure(r, /console|tty|terminal/i);
  expect(left).toEqual([]);
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
  t.assertNothingLeft(id, b);
  expect(fs.existsSync(path.join(b.rootfs, "ran"))).toBe(false);
});

conform("terminal: --console-socket without process.terminal is refused [runc compat]", async (t) => {
  const b = t.bundle((c) => sh(c, "echo ran > /ran"));
  const id = t.id();
  const sock = path.join(t.tmp, "console.sock");
  const { r, left } = await t.rtLeftovers(["create", "--console-socket", sock, "--bundle", b.dir, id]);
  expectFailure(r, /console|tty|terminal/i);
  expect(left).toEqual([]);
  expect(fs.existsSync(t.root) ? fs.readdirSync(t.root) : []).toEqual([]);
  t.assertNothingLeft(id, b);
  expect(fs.existsSync(path.join(b.rootfs, "ran"))).toBe(false);
});
