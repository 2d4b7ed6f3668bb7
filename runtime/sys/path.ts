// POSIX path arithmetic, with node:path's results (path_test.ts compares them case by case).
// Our own because importing node:path costs ~0.5 ms of user time at every start under Bun
// (measured), and `create`, `exec` and init only ever need these few functions.

function segments(path: string, aboveRoot: boolean): string[] {
  const out: string[] = [];
  for (const s of path.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (aboveRoot) out.push("..");
      continue;
    }
    out.push(s);
  }
  return out;
}

export const sep = "/";

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

export function normalize(path: string): string {
  if (path === "") return ".";
  const abs = isAbsolute(path);
  let s = segments(path, !abs).join("/");
  if (s === "" && !abs) s = ".";
  if (s !== "" && path.endsWith("/")) s += "/";
  return abs ? `/${s}` : s;
}

export function join(...parts: string[]): string {
  const given = parts.filter((p) => p !== "");
  return given.length === 0 ? "." : normalize(given.join("/"));
}

export function resolve(...parts: string[]): string {
  let joined = "";
  let abs = false;
  for (let i = parts.length - 1; i >= -1 && !abs; i--) {
    const p = i >= 0 ? parts[i]! : process.cwd();
    if (p === "") continue;
    joined = joined === "" ? p : `${p}/${joined}`;
    abs = isAbsolute(p);
  }
  const s = segments(joined, !abs).join("/");
  return abs ? `/${s}` : s === "" ? "." : s;
}

export function relative(from: string, to: string): string {
  const a = segments(resolve(from), false);
  const b = segments(resolve(to), false);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array<string>(a.length - common).fill(".."), ...b.slice(common)].join("/");
}

/** Trailing slashes off, but "/" stays "/". */
function trimTrailing(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

export function dirname(path: string): string {
  if (path === "") return ".";
  // The last slash that follows a name (trailing slashes do not count); a lone leading "//" is
  // kept as node:path keeps it.
  let end = -1;
  let sawName = false;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") sawName = true;
    else if (sawName) {
      end = i;
      break;
    }
  }
  if (end < 0) return isAbsolute(path) ? "/" : ".";
  if (end === 1 && isAbsolute(path)) return "//";
  return path.slice(0, end);
}

export function basename(path: string): string {
  const p = trimTrailing(path);
  return p === "/" ? "" : p.slice(p.lastIndexOf("/") + 1);
}

export const posix = { sep, isAbsolute, normalize, join, resolve, relative, dirname, basename };
