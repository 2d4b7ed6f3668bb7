// Loading a bundle: config.json read, validated against the schema and checks, and refused when it
// asks for something tsrun does not do yet (never silently ignored).
import { readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Spec } from "../../spec/schema.ts";
import { parseConfig } from "../../spec/validate.ts";
import { ContainerError } from "./state.ts";

export class ConfigError extends ContainerError {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

export interface Bundle {
  /** The bundle path as given, made absolute (what `state` reports, as runc does). */
  given: string;
  /** The same, with symlinks resolved. */
  dir: string;
  config: Spec;
  rootfs: string;
}

export function loadBundle(path: string): Bundle {
  let dir: string;
  try {
    dir = realpathSync(path);
  } catch {
    throw new ContainerError(`bundle "${path}" does not exist`);
  }
  let text: string;
  try {
    text = readFileSync(`${dir}/config.json`, "utf8");
  } catch (e) {
    throw new ContainerError(`read "${dir}/config.json": ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new ConfigError(parsed.errors);
  const config = parsed.config;
  const unsupported = unsupportedFields(config);
  if (unsupported.length) throw new ConfigError(unsupported.map((f) => `config.json: ${f}: not supported by tsrun yet`));
  const rootfs = resolve(dir, config.root?.path ?? "");
  let isDir = false;
  try {
    isDir = statSync(rootfs).isDirectory();
  } catch {
    throw new ContainerError(`rootfs "${rootfs}" does not exist`);
  }
  if (!isDir) throw new ContainerError(`rootfs "${rootfs}" is not a directory`);
  return { given: resolve(path), dir, config, rootfs };
}

/** Fields with a meaning tsrun does not implement yet; an empty value is no request. */
export function unsupportedFields(c: Spec): string[] {
  const out: string[] = [];
  const has = (v: unknown) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);
  const l = c.linux;
  if (l) {
    for (const f of ["netDevices"] as const)
      if (has(l[f])) out.push(`linux.${f}`);
  }
  return out;
}
