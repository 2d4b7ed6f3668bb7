// Loading a bundle: config.json read and validated against the schema and the checks.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "../sys/path.ts";
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
