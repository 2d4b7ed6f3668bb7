import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asSeenInside, runHooks, runPoststop } from "./hooks.ts";

const state = { ociVersion: "1.3.0", id: "c", status: "creating" as const, pid: 4242, bundle: "/b" };

test("hooks in the container's namespaces see the pid as the container sees it", () => {
  expect(JSON.parse(asSeenInside(JSON.stringify(state), 1))).toEqual({ ...state, pid: 1 });
  // A stopped state has no pid, and gets none.
  const stopped = { ...state, status: "stopped", pid: undefined };
  expect(JSON.parse(asSeenInside(JSON.stringify(stopped), 1)).pid).toBeUndefined();
});

test("a hook gets the state on stdin, exactly its env, and runs in the directory asked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsrun-hooks-"));
  try {
    const out = join(dir, "out");
    await runHooks("prestart", [{ path: "/bin/sh", args: ["sh", "-c", `{ cat; echo; pwd; env | grep -v '^PWD=' | sort; } > ${out}`], env: ["X=1"] }], state, dir);
    const [stdin, cwd, ...env] = readFileSync(out, "utf8").trim().split("\n");
    expect(JSON.parse(stdin!)).toEqual(state);
    expect(cwd).toBe(dir);
    expect(env.filter((e) => !e.startsWith("SHLVL=") && !e.startsWith("_="))).toEqual(["X=1"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failing poststop hook is a warning naming it, and the later ones still run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsrun-hooks-"));
  try {
    const mark = join(dir, "ran");
    writeFileSync(mark, "");
    const warnings: string[] = [];
    await runPoststop(
      [
        { path: "/bin/false" },
        { path: "/bin/sh", args: ["sh", "-c", `echo second >> ${mark}`] },
      ],
      { ...state, status: "stopped", pid: undefined },
      (m) => warnings.push(m),
    );
    expect(warnings).toEqual(['hooks.poststop[0] "/bin/false": exited with status 1']);
    expect(readFileSync(mark, "utf8")).toBe("second\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
