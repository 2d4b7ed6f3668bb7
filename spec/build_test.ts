import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { VALIDATOR_DTS, VALIDATOR_JS, VALIDATOR_TYPES, validatorSource } from "./build.ts";

test("the generated validator is up to date with schema.ts (run `bun spec/build.ts` if not)", () => {
  expect(readFileSync(VALIDATOR_JS, "utf8") === validatorSource()).toBe(true);
  expect(readFileSync(VALIDATOR_DTS, "utf8")).toBe(VALIDATOR_TYPES);
});

test("the generated validator imports nothing, so ajv stays out of the runtime", () => {
  const source = readFileSync(VALIDATOR_JS, "utf8");
  expect(source).not.toMatch(/\brequire\s*\(|^\s*import\b|\bimport\s*\(/m);
  expect(source).not.toContain("new Function");
});

test("validate.ts bundles only spec/ code: no ajv, no TypeBox, no schema.ts", async () => {
  const result = await Bun.build({ entrypoints: [`${import.meta.dir}/validate.ts`], target: "bun", metafile: true });
  expect(result.success).toBe(true);
  // Metafile paths are relative to the working directory.
  const inputs = Object.keys(result.metafile?.inputs ?? {}).map((p) => relative(import.meta.dir, resolve(p)));
  expect(inputs.sort()).toEqual(["checks.ts", "enums.ts", "generated/config_validator.js", "problem.ts", "validate.ts"]);
});
