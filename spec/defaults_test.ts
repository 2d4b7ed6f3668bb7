import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "./defaults.ts";
import { SPEC_VERSION } from "./version.ts";

// What runc 1.1.5 writes, with our three intended differences applied.
function runcSpec(name: string) {
  const spec = JSON.parse(readFileSync(join(import.meta.dir, "testdata", name), "utf8"));
  spec.ociVersion = "1.3.0";
  spec.hostname = "tsrun";
  delete spec.process.capabilities.ambient;
  return spec;
}

describe("defaultSpec", () => {
  test("is runc's spec apart from version, hostname and ambient capabilities", () => {
    expect(defaultSpec()).toEqual(runcSpec("runc_spec.json"));
  });

  test("rootless is runc's rootless spec apart from the same three things", () => {
    expect(defaultSpec({ rootless: true, hostUid: 0, hostGid: 0 })).toEqual(runcSpec("runc_spec_rootless.json"));
  });

  test("grants no inheritable or ambient capabilities (CVE-2022-29162)", () => {
    for (const spec of [defaultSpec(), defaultSpec({ rootless: true })]) {
      expect(spec.process?.capabilities?.inheritable).toBeUndefined();
      expect(spec.process?.capabilities?.ambient).toBeUndefined();
      expect(spec.process?.noNewPrivileges).toBe(true);
    }
  });

  test("writes the spec version we implement", () => {
    expect(SPEC_VERSION).toBe("1.3.0");
    expect(defaultSpec().ociVersion).toBe(SPEC_VERSION);
  });

  test("rootless maps the given host ids to root, in a last user namespace, without network or cgroup limits", () => {
    const spec = defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1001 });
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(spec.linux?.namespaces?.map((ns) => ns.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
    expect(spec.linux?.resources).toBeUndefined();
    expect(spec.mounts?.find((m) => m.destination === "/sys")).toEqual({
      destination: "/sys",
      type: "none",
      source: "/sys",
      options: ["rbind", "nosuid", "noexec", "nodev", "ro"],
    });
    expect(spec.mounts?.flatMap((m) => m.options ?? []).filter((o) => /^[ug]id=/.test(o))).toEqual([]);
  });

  test("adds a cgroup namespace when asked, rootless or not", () => {
    expect(defaultSpec({ cgroupNamespace: true }).linux?.namespaces?.at(-1)).toEqual({ type: "cgroup" });
    expect(defaultSpec({ cgroupNamespace: true, rootless: true }).linux?.namespaces?.map((ns) => ns.type)).toContain("cgroup");
    expect(defaultSpec().linux?.namespaces?.map((ns) => ns.type)).not.toContain("cgroup");
  });

  test("returns a fresh object each call", () => {
    const first = defaultSpec();
    first.mounts![0]!.options = ["changed"];
    first.linux!.maskedPaths!.push("/changed");
    first.process!.capabilities!.bounding!.push("CAP_SYS_ADMIN");
    expect(defaultSpec()).toEqual(runcSpec("runc_spec.json"));
  });
});
