// Flag parsing as runc's urfave/cli (v1, Go's flag package) does it: `--flag value`,
// `--flag=value`, one or two dashes for long names, short aliases, bools with an optional
// `=true|false`, and parsing stops at the first argument that is not a flag (or at `--`).

export type FlagType = "bool" | "string" | "int" | "strings";

export interface Flag {
  name: string;
  alias?: string;
  type: FlagType;
  help: string;
  /** Accepted for compatibility with runc and its callers, but without effect in tsrun. */
  ignored?: boolean;
  /** Shown in --help as the value's placeholder. */
  value?: string;
}

export type Values = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], flags: readonly Flag[]): { values: Values; rest: string[] } {
  const byName = new Map<string, Flag>();
  for (const f of flags) {
    byName.set(f.name, f);
    if (f.alias) byName.set(f.alias, f);
  }
  const values: Values = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const flag = byName.get(name);
    if (!flag) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (flag.type === "bool") {
      if (value === undefined) values[flag.name] = true;
      else if (/^(1|t|true)$/i.test(value)) values[flag.name] = true;
      else if (/^(0|f|false)$/i.test(value)) values[flag.name] = false;
      else throw new UsageError(`invalid boolean value "${value}" for flag -${name}`);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    if (flag.type === "int") {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for flag -${name}: parse error`);
      values[flag.name] = Number(value);
    } else if (flag.type === "strings") {
      values[flag.name] = [...((values[flag.name] as string[] | undefined) ?? []), value];
    } else {
      values[flag.name] = value;
    }
  }
  return { values, rest: argv.slice(i) };
}

export function flagHelp(flags: readonly Flag[]): string {
  return flags
    .map((f) => {
      const names = [`--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])].join(", ");
      const value = f.type === "bool" ? "" : ` ${f.value ?? "value"}`;
      return `   ${(names + value).padEnd(32)} ${f.help}${f.ignored ? " (accepted for compatibility; no effect in tsrun)" : ""}`;
    })
    .join("\n");
}
