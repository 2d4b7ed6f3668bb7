// Reads config.json: JSON, then the schema (a validator compiled ahead of time by build.ts, so no
// code generation and no ajv or TypeBox at run time), then the named checks. Every problem is
// reported at once, one line each:
//   config.json: linux.resources.memory.limit: must be an integer, found "512M"

import {
  validateConfig as configSchema,
  validateProcess as processSchema,
  type SchemaError,
  type SchemaValidator,
} from "./generated/config_validator.js";
import type { Process, Spec } from "./schema.ts";
import { checks, processChecks, processWarnings, warnings, type Check, type CheckOptions } from "./checks.ts";
import { formatPath, formatProblem, type Problem } from "./problem.ts";

export type { CheckOptions } from "./checks.ts";

export type ParseResult =
  | { ok: true; config: Spec; /** Accepted but questionable, in the same format as errors. */ warnings: string[] }
  | { ok: false; errors: string[] };

export type ParseProcessResult = { ok: true; process: Process; warnings: string[] } | { ok: false; errors: string[] };

export function parseConfig(text: string, file = "config.json", options: CheckOptions = {}): ParseResult {
  const data = parseJson(text, file);
  return "error" in data ? { ok: false, errors: [data.error] } : validateConfig(data.value, file, options);
}

/** The same as parseConfig, for a config that is already parsed. */
export function validateConfig(data: unknown, file = "config.json", options: CheckOptions = {}): ParseResult {
  const result = examine(CONFIG, data, file, options);
  return "errors" in result ? { ok: false, errors: result.errors } : { ok: true, config: data as Spec, warnings: result.warnings };
}

/** A process object on its own, as `exec --process process.json` gives it: the config's rules for
 *  process, with paths relative to the file (`cwd`, not `process.cwd`). */
export function parseProcess(text: string, file = "process.json", options: CheckOptions = {}): ParseProcessResult {
  const data = parseJson(text, file);
  if ("error" in data) return { ok: false, errors: [data.error] };
  const result = examine(PROCESS, data.value, file, options);
  return "errors" in result ? { ok: false, errors: result.errors } : { ok: true, process: data.value as Process, warnings: result.warnings };
}

function parseJson(text: string, file: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    // Bun prefixes its reasons with "JSON Parse error: "; our own prefix already says as much.
    const reason = (err as Error).message.replace(/^JSON Parse error: /, "");
    return { error: `${file}: not valid JSON: ${reason}` };
  }
}

interface Document {
  schema: SchemaValidator;
  checks: readonly Check[];
  warnings: readonly Check[];
  /** The checks take a whole config; a process file is checked as the process of one. */
  asSpec(data: unknown): Spec;
  /** Path segments the checks put in front of this document's own paths. */
  prefix: number;
}

const CONFIG: Document = { schema: configSchema, checks, warnings, asSpec: (data) => data as Spec, prefix: 0 };
const PROCESS: Document = {
  schema: processSchema,
  checks: processChecks,
  warnings: processWarnings,
  asSpec: (data) => ({ process: data }) as Spec,
  prefix: 1,
};

function examine(doc: Document, data: unknown, file: string, options: CheckOptions): { errors: string[] } | { warnings: string[] } {
  const schemaOk = doc.schema(data);
  const problems = schemaOk ? [] : schemaProblems(data, doc.schema.errors ?? []);
  const spec = doc.asSpec(data);
  const own = (p: Problem): Problem => ({ ...p, path: p.path.slice(doc.prefix) });
  // The checks are written for a config of the right shape. On one that failed the schema they
  // still run, so the user sees everything at once, but a check that trips over a malformed part
  // is skipped, and nothing is said twice about a place the schema already flagged.
  const flagged = problems.map((p) => formatPath(p.path));
  const underFlagged = (p: Problem) => {
    const at = formatPath(p.path);
    return flagged.some((f) => f === "" || at === f || at.startsWith(`${f}.`) || at.startsWith(`${f}[`));
  };
  for (const found of run(doc.checks, spec, options, !schemaOk)) {
    const p = own(found);
    if (!underFlagged(p)) problems.push(p);
  }
  if (problems.length > 0) return { errors: unique(problems.map((p) => formatProblem(file, p))) };
  return { warnings: unique([...run(doc.warnings, spec, options, false)].map((p) => formatProblem(file, own(p)))) };
}

function* run(list: readonly Check[], spec: Spec, options: CheckOptions, tolerant: boolean): Iterable<Problem> {
  for (const check of list) {
    if (!tolerant) {
      yield* check(spec, options);
      continue;
    }
    try {
      yield* [...check(spec, options)];
    } catch {
      // Malformed input the schema has already reported.
    }
  }
}

/** Schema errors as problems: paths and values located in the data, summaries folded away. */
export function schemaProblems(data: unknown, errors: readonly SchemaError[]): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    // anyOf/oneOf failures are summaries of the errors beneath them: keep those instead.
    if (COMBINATORS.has(err.keyword) && errors.some((e) => e !== err && isWithin(e.instancePath, err.instancePath))) {
      continue;
    }
    const { path, value } = locate(data, err.instancePath);
    const problem: Problem =
      err.keyword === "required"
        ? { path: [...path, String(err.params.missingProperty)], rule: "is required" }
        : { path, rule: describe(err), found: value };
    const key = `${formatPath(problem.path)} ${problem.rule}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return problems;
}

const COMBINATORS = new Set(["anyOf", "oneOf", "allOf", "not", "if"]);

const isWithin = (pointer: string, base: string) => pointer === base || pointer.startsWith(`${base}/`);

/** JSON Pointer -> path segments (array indexes as numbers) and the value found there. */
function locate(data: unknown, pointer: string): { path: (string | number)[]; value: unknown } {
  const path: (string | number)[] = [];
  let value = data;
  if (pointer === "") return { path, value };
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(value)) {
      path.push(Number(key));
      value = value[Number(key)];
    } else {
      path.push(key);
      value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
    }
  }
  return { path, value };
}

function describe(err: SchemaError): string {
  const p = err.params;
  switch (err.keyword) {
    case "type":
      return `must be ${String(p.type).split(",").map(withArticle).join(" or ")}`;
    case "minimum":
      return `must be at least ${exact(p.limit)}`;
    case "maximum":
      return `must be at most ${exact(p.limit)}`;
    case "exclusiveMinimum":
      return `must be greater than ${exact(p.limit)}`;
    case "exclusiveMaximum":
      return `must be less than ${exact(p.limit)}`;
    case "minItems":
      return `must have at least ${plural(p.limit, "item")}`;
    case "maxItems":
      return `must have at most ${plural(p.limit, "item")}`;
    case "minLength":
      return `must be at least ${plural(p.limit, "character")} long`;
    case "maxLength":
      return `must be at most ${plural(p.limit, "character")} long`;
    case "enum":
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case "pattern":
      return `must match /${String(p.pattern)}/`;
    case "anyOf":
    case "oneOf":
      return "does not match any of the allowed forms";
    default:
      return `fails the schema's "${err.keyword}" rule`;
  }
}

const withArticle = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

const plural = (n: unknown, word: string) => `${String(n)} ${word}${n === 1 ? "" : "s"}`;

// int64/uint64 bounds are not exact doubles; print the numbers the spec means.
const EXACT = new Map<unknown, string>([
  [2 ** 64, "18446744073709551615"],
  [2 ** 63, "9223372036854775807"],
  [-(2 ** 63), "-9223372036854775808"],
]);
const exact = (n: unknown) => EXACT.get(n) ?? String(n);

const unique = (lines: string[]) => [...new Set(lines)];
