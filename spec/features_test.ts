import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { FEATURES_VALIDATOR_DTS, FEATURES_VALIDATOR_JS, FEATURES_VALIDATOR_TYPES, featuresValidatorSource } from "./build.ts";
import { validateFeatures } from "./generated/features_validator.js";
import { formatProblem } from "./problem.ts";
import { schemaProblems } from "./validate.ts";

/** The validator's verdict as validate.ts words config errors: one line per problem, or []. */
function problems(doc: unknown): string[] {
  if (validateFeatures(doc)) return [];
  return schemaProblems(doc, validateFeatures.errors ?? []).map((p) => formatProblem("features.json", p));
}

// The full example of features.md (runtime-spec 1.3), trimmed where lists repeat themselves.
const SPEC_EXAMPLE = {
  ociVersionMin: "1.0.0",
  ociVersionMax: "1.1.0-rc.2",
  hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
  mountOptions: ["async", "atime", "bind", "remount", "rro", "tmpcopyup", "unbindable"],
  linux: {
    namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
    capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_CHECKPOINT_RESTORE"],
    cgroup: { v1: true, v2: true, systemd: true, systemdUser: true, rdma: true },
    seccomp: {
      enabled: true,
      actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_NOTIFY"],
      operators: ["SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ"],
      archs: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"],
      knownFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
      supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"],
    },
    apparmor: { enabled: true },
    selinux: { enabled: true },
    memoryPolicy: { modes: ["MPOL_DEFAULT", "MPOL_BIND"], flags: ["MPOL_F_STATIC_NODES"] },
    intelRdt: { enabled: true, schemata: true, monitoring: true },
    mountExtensions: { idmap: { enabled: true } },
    netDevices: { enabled: true },
  },
  annotations: {
    "io.github.seccomp.libseccomp.version": "2.5.4",
    "org.opencontainers.runc.checkpoint.enabled": "true",
  },
  potentiallyUnsafeConfigAnnotations: ["com.example.foo.bar", "org.systemd.property."],
};

test("the generated features validator is up to date with features.ts (run `bun spec/build.ts` if not)", () => {
  expect(readFileSync(FEATURES_VALIDATOR_JS, "utf8") === featuresValidatorSource()).toBe(true);
  expect(readFileSync(FEATURES_VALIDATOR_DTS, "utf8")).toBe(FEATURES_VALIDATOR_TYPES);
});

test("the generated features validator imports nothing", () => {
  const source = readFileSync(FEATURES_VALIDATOR_JS, "utf8");
  expect(source).not.toMatch(/\brequire\s*\(|^\s*import\b|\bimport\s*\(/m);
  expect(source).not.toContain("new Function");
});

test("the spec's own example and the smallest document are valid", () => {
  expect(problems(SPEC_EXAMPLE)).toEqual([]);
  expect(problems({ ociVersionMin: "1.0.0", ociVersionMax: "1.3.0" })).toEqual([]);
});

test("a broken document is refused, each problem at its JSON path", () => {
  const broken = structuredClone(SPEC_EXAMPLE) as Record<string, unknown> & typeof SPEC_EXAMPLE;
  delete (broken as Record<string, unknown>).ociVersionMax;
  (broken.linux.cgroup as Record<string, unknown>).v1 = "yes";
  (broken.linux.seccomp.actions as string[])[1] = "SCMP_ACT_MAYBE";
  (broken.linux.capabilities as string[])[2] = "cap_chown";
  (broken.annotations as Record<string, unknown>)["org.example.n"] = 1;
  expect(problems(broken).sort()).toEqual([
    'features.json: annotations["org.example.n"]: must be a string, found 1',
    'features.json: linux.capabilities[2]: must match /^CAP_[A-Z_]+$/, found "cap_chown"',
    'features.json: linux.cgroup.v1: must be a boolean, found "yes"',
    expect.stringMatching(/^features\.json: linux\.seccomp\.actions\[1\]: must be one of "SCMP_ACT_KILL", .*, found "SCMP_ACT_MAYBE"$/),
    "features.json: ociVersionMax: is required",
  ]);
});

test("properties the spec does not define are refused (features.md: the document MUST NOT contain them)", () => {
  const doc = { ociVersionMin: "1.0.0", ociVersionMax: "1.3.0", linux: { seccomp: { enabled: true, notify: true } } };
  expect(validateFeatures(doc)).toBe(false);
  expect(validateFeatures.errors?.map((e) => [e.instancePath, e.keyword, e.params.additionalProperty])).toEqual([
    ["/linux/seccomp", "additionalProperties", "notify"],
  ]);
});
