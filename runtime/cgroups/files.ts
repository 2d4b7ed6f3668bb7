import * as fs from "node:fs";
import { join } from "../sys/path.ts";

/**
 * The file operations cgroup code needs. `hostFs` is node:fs; tests pass a tmpdir-backed fake that
 * behaves like cgroupfs (mkdir populates control files, writes are recorded).
 */
export interface CgroupFs {
  read(path: string): string;
  /** One write(2) of the whole value; never creates the file. */
  write(path: string, value: string): void;
  /** One level, like mkdir(2): throws EEXIST if it exists. */
  mkdir(path: string): void;
  rmdir(path: string): void;
  exists(path: string): boolean;
  /** Names of the subdirectories (child cgroups). */
  subdirs(path: string): string[];
  /** Names of every entry (control files and child cgroups). */
  list(path: string): string[];
}

export const hostFs: CgroupFs = {
  read: (path) => fs.readFileSync(path, "utf8"),
  write(path, value) {
    // No O_CREAT: a missing control file means a missing controller, and must fail, not be created.
    const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir: (path) => fs.mkdirSync(path, { mode: 0o755 }),
  rmdir: (path) => fs.rmdirSync(path),
  exists: (path) => fs.existsSync(path),
  subdirs: (path) =>
    fs
      .readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name),
  list: (path) => fs.readdirSync(path),
};

/** The errno name of a Node error ("EINVAL"), if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** `what: CODE`, with the original error as cause and its code kept on the wrapper. */
export function wrapError(what: string, err: unknown): Error {
  const code = errorCode(err);
  const wrapped = new Error(`${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`, {
    cause: err,
  });
  if (code !== undefined) Object.assign(wrapped, { code });
  return wrapped;
}

/** Write one control file; errors name the config field that asked for it and the file. */
export function writeFile(fsys: CgroupFs, dir: string, file: string, value: string, field: string): void {
  try {
    fsys.write(join(dir, file), value);
  } catch (err) {
    throw wrapError(`${field}: write "${file}"`, err);
  }
}

/**
 * A multi-line value one line per write: files such as io.max and rdma.max take one device per
 * write(2), and reject or ignore what follows (runc ≥ 1.2 splits the same way).
 */
export function writeLines(fsys: CgroupFs, dir: string, file: string, value: string, field: string): void {
  for (const line of value.split("\n")) if (line.trim() !== "") writeFile(fsys, dir, file, line, field);
}

export function readFile(fsys: CgroupFs, dir: string, file: string, field: string): string {
  try {
    return fsys.read(join(dir, file)).trim();
  } catch (err) {
    throw wrapError(`${field}: read "${file}"`, err);
  }
}
