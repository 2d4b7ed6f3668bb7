// One problem found in a config, and how it is printed:
//   config.json: linux.resources.memory.limit: must be an integer, found "512M"

export interface Problem {
  /** Where, as path segments: ["mounts", 2, "destination"]. Empty for the document itself. */
  path: readonly (string | number)[];
  /** What is wrong, as a lowercase sentence fragment: `must be an absolute path`. */
  rule: string;
  /** The offending value, quoted as JSON after ", found"; left out when not given. */
  found?: unknown;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ["mounts", 2, "destination"] -> mounts[2].destination; keys that are not identifiers
 *  (sysctl and annotation names) are quoted: linux.sysctl["net.ipv4.ip_forward"]. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

const MAX_VALUE_CHARS = 80;

export function formatValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

export function formatProblem(file: string, p: Problem): string {
  const where = p.path.length > 0 ? `${formatPath(p.path)}: ` : "";
  const found = p.found === undefined ? "" : `, found ${formatValue(p.found)}`;
  return `${file}: ${where}${p.rule}${found}`;
}
