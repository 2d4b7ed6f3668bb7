import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, parseProcess, schemaProblems, validateConfig } from "./validate.ts";
import { formatPath, formatProblem } from "./problem.ts";
import { defaultSpec } from "./defaults.ts";

const testdata = (name: string) => readFileSync(join(import.meta.dir, "testdata", name), "utf8");
// A fresh, mutable copy of a fixture each time.
const fixture = (name: string): any => JSON.parse(testdata(name));

function minimal(): any {
  return { ociVersion: "1.3.0", root: { path: "rootfs" }, process: { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/" } };
}

function errorsOf(config: unknown): string[] {
  const result = parseConfig(JSON.stringify(config));
  if (result.ok) throw new Error("expected the config to be refused");
  return result.errors;
}

describe("accepted configs", () => {
  test("a minimal config is accepted with no warnings", () => {
    expect(parseConfig(JSON.stringify(minimal()))).toEqual({ ok: true, config: minimal(), warnings: [] });
  });

  test("a config using every field of the spec is accepted", () => {
    const result = parseConfig(testdata("full.json"));
    expect(result.ok ? result.warnings : result.errors).toEqual([
      "config.json: linux.resources.memory.kernel: is ignored: kernel memory limits are obsolete, found -1",
      "config.json: linux.resources.memory.kernelTCP: is ignored: kernel memory limits are obsolete, found -1",
    ]);
    expect(result.ok).toBe(true);
  });

  // Written by runc 1.1.5's `runc spec` and `runc spec --rootless`.
  test.each(["runc_spec.json", "runc_spec_rootless.json"])("runc's own %s is accepted", (name) => {
    expect(parseConfig(testdata(name))).toMatchObject({ ok: true, warnings: [] });
  });

  // Captured from podman 4.3 bundles (a default container; one with --uidmap, --memory, --sysctl,
  // --device, --ulimit, -u, --group-add), seccomp profile included.
  test.each(["podman_default.json", "podman_userns_limits.json"])("podman's %s is accepted", (name) => {
    expect(parseConfig(testdata(name))).toMatchObject({ ok: true, warnings: [] });
  });

  test("the default spec and the rootless default spec are accepted", () => {
    for (const spec of [defaultSpec(), defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 }), defaultSpec({ cgroupNamespace: true })]) {
      expect(validateConfig(spec)).toEqual({ ok: true, config: spec, warnings: [] });
    }
  });

  test("unknown properties are ignored at every level and kept in the result", () => {
    const config = fixture("full.json");
    config.futureTopLevel = { anything: [1, 2] };
    config.process.futureField = "x";
    config.process.user.username = "windows-only";
    config.linux.resources.memory.futureKnob = -5;
    config.linux.seccomp.syscalls[0].futureFlag = true;
    config.windows = { layerFolders: ["C:\\layers"] };
    config.vm = { kernel: { path: 42 } };
    const result = parseConfig(JSON.stringify(config));
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.config as any).futureTopLevel).toEqual({ anything: [1, 2] });
  });

  test("a device fileMode with file type bits, as podman writes it, is accepted", () => {
    const config = minimal();
    config.linux = { devices: [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o20666 }] };
    expect(parseConfig(JSON.stringify(config)).ok).toBe(true);
  });

  test("runc's recursive rootfsPropagation spellings are accepted", () => {
    const config = minimal();
    config.linux = { rootfsPropagation: "rprivate" };
    expect(parseConfig(JSON.stringify(config)).ok).toBe(true);
  });

  test("a custom file name appears in every message", () => {
    expect(parseConfig("{", "/b/config.json").ok).toBe(false);
    const result = parseConfig(JSON.stringify({ ...minimal(), ociVersion: 1 }), "/bundle/config.json");
    expect(result).toEqual({ ok: false, errors: ["/bundle/config.json: ociVersion: must be a string, found 1"] });
  });
});

describe("error format", () => {
  test("text that is not JSON gives one error with the parser's reason", () => {
    const result = parseConfig('{"ociVersion": ');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(/^config\.json: not valid JSON: [A-Z]\w+/);
      expect(result.errors[0]).not.toContain("JSON Parse error");
    }
  });

  test("a wrong type names the path, the rule and the value found", () => {
    const config = minimal();
    config.linux = { resources: { memory: { limit: "512M" } } };
    expect(errorsOf(config)).toEqual(['config.json: linux.resources.memory.limit: must be an integer, found "512M"']);
  });

  test("an empty args list is refused with the value shown", () => {
    const config = minimal();
    config.process.args = [];
    expect(errorsOf(config)).toEqual(["config.json: process.args: must have at least 1 item, found []"]);
  });

  test("a missing required field is named with its full path and no value", () => {
    const config = minimal();
    delete config.ociVersion;
    config.mounts = [{ destination: "/a" }, { source: "tmpfs" }];
    expect(errorsOf(config)).toEqual(["config.json: ociVersion: is required", "config.json: mounts[1].destination: is required"]);
  });

  test("array indexes are bracketed and nested fields dotted", () => {
    const config = minimal();
    config.mounts = [{ destination: "/a" }, { destination: "/b" }, { destination: 7 }];
    expect(errorsOf(config)).toEqual(["config.json: mounts[2].destination: must be a string, found 7"]);
  });

  test("map keys that are not identifiers are quoted", () => {
    const config = minimal();
    config.linux = { namespaces: [{ type: "network" }], sysctl: { "net.ipv4.ip_forward": 1 } };
    config.annotations = { "io.example/weird key": false };
    expect(errorsOf(config)).toEqual([
      'config.json: annotations["io.example/weird key"]: must be a string, found false',
      'config.json: linux.sysctl["net.ipv4.ip_forward"]: must be a string, found 1',
    ]);
  });

  test("an enum error lists the allowed values", () => {
    const config = minimal();
    config.linux = { namespaces: [{ type: "net" }] };
    expect(errorsOf(config)).toEqual([
      'config.json: linux.namespaces[0].type: must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", found "net"',
    ]);
  });

  test("a pattern error shows the pattern", () => {
    const config = minimal();
    config.linux = { resources: { hugepageLimits: [{ pageSize: "64kB", limit: 1 }] } };
    expect(errorsOf(config)).toEqual([
      'config.json: linux.resources.hugepageLimits[0].pageSize: must match /^[1-9][0-9]*[KMG]B$/, found "64kB"',
    ]);
  });

  test("integer ranges follow the spec's widths", () => {
    const config = minimal();
    config.process.user = { uid: -1, gid: 2 ** 32, additionalGids: [1.5] };
    config.linux = {
      resources: { blockIO: { weight: 65536 }, network: { classID: 2 ** 32 } },
      seccomp: { defaultAction: "SCMP_ACT_ALLOW", defaultErrnoRet: -1 },
    };
    config.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] };
    expect(errorsOf(config)).toEqual([
      "config.json: process.user.uid: must be at least 0, found -1",
      "config.json: process.user.gid: must be at most 4294967295, found 4294967296",
      "config.json: process.user.additionalGids[0]: must be an integer, found 1.5",
      "config.json: hooks.poststop[0].timeout: must be at least 1, found 0",
      "config.json: linux.resources.blockIO.weight: must be at most 65535, found 65536",
      "config.json: linux.resources.network.classID: must be at most 4294967295, found 4294967296",
      "config.json: linux.seccomp.defaultErrnoRet: must be at least 0, found -1",
    ]);
  });

  test("64-bit bounds are printed exactly, not as rounded doubles", () => {
    const config = minimal();
    config.process.rlimits = [{ type: "RLIMIT_CORE", soft: -1, hard: 0 }];
    config.linux = { resources: { memory: { limit: -1e19 } } };
    expect(errorsOf(config)).toEqual([
      "config.json: process.rlimits[0].soft: must be at least 0, found -1",
      "config.json: linux.resources.memory.limit: must be at least -9223372036854775808, found -10000000000000000000",
    ]);
    config.process.rlimits = [];
    config.linux = { resources: { memory: { limit: 1e19 } } };
    expect(errorsOf(config)).toEqual([
      "config.json: linux.resources.memory.limit: must be at most 9223372036854775807, found 10000000000000000000",
    ]);
  });

  test("a config that is not an object gets one error and no check noise", () => {
    expect(errorsOf([])).toEqual(["config.json: must be an object, found []"]);
    expect(errorsOf("config")).toEqual(['config.json: must be an object, found "config"']);
  });

  test("long values are shortened", () => {
    const config = minimal();
    config.hostname = { text: "x".repeat(500) };
    const [line] = errorsOf(config);
    expect(line).toStartWith('config.json: hostname: must be a string, found {"text":"xxx');
    expect(line).toEndWith("...");
    expect(line!.length).toBeLessThan(140);
  });

  test("every problem is reported at once: schema errors, then check failures", () => {
    const config = minimal();
    config.process.cwd = "relative";
    config.process.user.uid = "root";
    config.root.path = "";
    config.mounts = [{ destination: 1 }];
    config.linux = {
      namespaces: [{ type: "pid" }, { type: "pid" }],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      resources: { memory: { limit: "1G", swap: -2 }, pids: { limit: "many" } },
    };
    expect(errorsOf(config)).toEqual([
      'config.json: process.user.uid: must be an integer, found "root"',
      "config.json: mounts[0].destination: must be a string, found 1",
      'config.json: linux.resources.memory.limit: must be an integer, found "1G"',
      'config.json: linux.resources.pids.limit: must be an integer, found "many"',
      'config.json: process.cwd: must be an absolute path, found "relative"',
      "config.json: root.path: must not be empty",
      'config.json: linux.namespaces[1].type: repeats the type at index 0, found "pid"',
      'config.json: linux.uidMappings: needs a "user" entry in linux.namespaces',
    ]);
  });

  test("a check does not repeat a problem at a place the schema already flagged", () => {
    const config = minimal();
    // The second entry is both a bad enum value and a "duplicate" of nothing valid.
    config.linux = { namespaces: [{ type: "pid" }, { type: 5 }, { type: 5 }] };
    expect(errorsOf(config)).toEqual([
      'config.json: linux.namespaces[1].type: must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", found 5',
      'config.json: linux.namespaces[2].type: must be one of "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", found 5',
    ]);
  });

  test("a malformed section that trips a check does not hide the other errors", () => {
    const config = minimal();
    config.process.rlimits = "lots";
    config.linux = { namespaces: "all", sysctl: { "vm.overcommit_memory": "1" } };
    expect(errorsOf(config)).toEqual([
      'config.json: process.rlimits: must be an array, found "lots"',
      'config.json: linux.namespaces: must be an array, found "all"',
      'config.json: linux.sysctl["vm.overcommit_memory"]: is not namespaced: setting it would change the host',
    ]);
  });

  test("anyOf/oneOf summaries give way to the errors beneath them, and repeats are dropped", () => {
    const data = { a: { b: "x" } };
    const problems = schemaProblems(data, [
      { instancePath: "/a", schemaPath: "#/anyOf", keyword: "anyOf", params: {} },
      { instancePath: "/a/b", schemaPath: "#/anyOf/0/type", keyword: "type", params: { type: "integer" } },
      { instancePath: "/a/b", schemaPath: "#/anyOf/1/type", keyword: "type", params: { type: "integer" } },
      { instancePath: "/c", schemaPath: "#/oneOf", keyword: "oneOf", params: { passingSchemas: null } },
    ]);
    expect(problems.map((p) => formatProblem("config.json", p))).toEqual([
      'config.json: a.b: must be an integer, found "x"',
      "config.json: c: does not match any of the allowed forms",
    ]);
  });

  test("JSON Pointer escapes in paths are decoded", () => {
    const problems = schemaProblems({ m: { "a/b~c": 1 } }, [
      { instancePath: "/m/a~1b~0c", schemaPath: "#", keyword: "type", params: { type: "string" } },
    ]);
    expect(problems.map((p) => formatProblem("config.json", p))).toEqual(['config.json: m["a/b~c"]: must be a string, found 1']);
  });
});

describe("process files (exec --process)", () => {
  test("the process of a real config is accepted on its own", () => {
    const { process } = fixture("podman_userns_limits.json");
    expect(parseProcess(JSON.stringify(process))).toEqual({ ok: true, process, warnings: [] });
  });

  test("schema and check errors name paths inside the process file", () => {
    const process = {
      user: { uid: "root", gid: 0 },
      args: [],
      cwd: "tmp",
      rlimits: [
        { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
        { type: "RLIMIT_NOFILE", soft: 1, hard: 1 },
      ],
    };
    expect(parseProcess(JSON.stringify(process), "/tmp/p.json")).toEqual({
      ok: false,
      errors: [
        '/tmp/p.json: user.uid: must be an integer, found "root"',
        "/tmp/p.json: args: must have at least 1 item, found []",
        '/tmp/p.json: cwd: must be an absolute path, found "tmp"',
        '/tmp/p.json: rlimits[1].type: repeats the type at index 0, found "RLIMIT_NOFILE"',
      ],
    });
  });

  test("a process file missing cwd, or not JSON, is refused", () => {
    expect(parseProcess('{"user": {"uid": 0, "gid": 0}, "args": ["sh"]}')).toEqual({
      ok: false,
      errors: ["process.json: cwd: is required"],
    });
    expect(parseProcess("{").ok).toBe(false);
  });

  test("unknown capabilities in a process file are warnings", () => {
    const process = { user: { uid: 0, gid: 0 }, args: ["sh"], cwd: "/", capabilities: { bounding: ["CAP_NOPE"] } };
    expect(parseProcess(JSON.stringify(process))).toMatchObject({
      ok: true,
      warnings: ['process.json: capabilities.bounding[0]: is not a known capability and is skipped, found "CAP_NOPE"'],
    });
  });
});

describe("schema coverage", () => {
  // Every field of full.json, written from the spec text, must be known to the schema: replacing
  // its value with one of the wrong type must be refused at exactly that path. A misspelt field
  // in schema.ts would otherwise pass silently as an unknown property.
  test("a wrongly typed value is refused at every field of the spec", () => {
    const full = fixture("full.json");
    const places: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]) => {
      if (path.length > 0) places.push(path);
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]));
      else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    };
    walk(full, []);
    expect(places.length).toBeGreaterThan(250);
    const missed: string[] = [];
    for (const path of places) {
      const config = fixture("full.json");
      let parent = config;
      for (const seg of path.slice(0, -1)) parent = parent[seg];
      const last = path[path.length - 1]!;
      const wrong = typeof parent[last] === "string" ? 12345 : "wrong type";
      parent[last] = wrong;
      const expected = formatPath(path);
      const result = parseConfig(JSON.stringify(config));
      const hit = !result.ok && result.errors.some((e) => e.startsWith(`config.json: ${expected}: must be`));
      if (!hit) missed.push(expected);
    }
    expect(missed).toEqual([]);
  });
});
