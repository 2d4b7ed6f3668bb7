import type { LinuxDeviceCgroup } from "./types.ts";

// A model of the v1 devices controller: a default (allow all / deny all) plus exceptions. We compute
// the state a config asks for, then the writes that get a v1 cgroup there (v1.ts), or the
// BPF program that enforces it on cgroup v2 (devices_bpf.ts).

export type DeviceType = "a" | "b" | "c";

/** One devices.allow / devices.deny line. major/minor -1 is the "*" wildcard. */
export interface DeviceRule {
  allow: boolean;
  type: DeviceType;
  major: number;
  minor: number;
  access: string;
}

interface Exception {
  type: "b" | "c";
  major: number;
  minor: number;
  access: string;
}

export interface DeviceState {
  /** true: everything allowed except the exceptions; false: everything denied except them. */
  defaultAllow: boolean;
  /** Keyed by "c 1:3"; insertion order is kept so writes come out in config order. */
  exceptions: Map<string, Exception>;
}

const ALL_ACCESS = "rwm";

function key(e: { type: string; major: number; minor: number }): string {
  return `${e.type} ${e.major < 0 ? "*" : e.major}:${e.minor < 0 ? "*" : e.minor}`;
}

function union(a: string, b: string): string {
  return [...ALL_ACCESS].filter((p) => a.includes(p) || b.includes(p)).join("");
}

function minus(a: string, b: string): string {
  return [...ALL_ACCESS].filter((p) => a.includes(p) && !b.includes(p)).join("");
}

function intersect(a: string, b: string): string {
  return [...ALL_ACCESS].filter((p) => a.includes(p) && b.includes(p)).join("");
}

/** The text the kernel takes: "a" resets the whole cgroup, anything else is "c 1:3 rwm". */
export function ruleString(rule: DeviceRule): string {
  return rule.type === "a" ? "a" : `${key(rule)} ${rule.access}`;
}

// Unset or negative is the "*" wildcard (runc's reading). Real device numbers are 12 (major) and 20
// (minor) bits; anything past 2^31 - 1 could not be matched by the v2 program's 32-bit compares.
function number(value: number | undefined, field: string): number {
  if (value === undefined || value < 0) return -1;
  if (!Number.isInteger(value) || value > 0x7fffffff) {
    throw new Error(`${field}: must be a device number between 0 and 2147483647 (or -1 for any), found ${value}`);
  }
  return value;
}

/** A config entry as kernel-ready rules, per the runtime-spec defaults (unset type/major/minor = all). */
export function toRules(entry: LinuxDeviceCgroup, field: string): DeviceRule[] {
  const type = entry.type ?? "a";
  if (type !== "a" && type !== "b" && type !== "c") {
    throw new Error(`${field}.type: must be "a", "b" or "c", found "${type}"`);
  }
  // runc refuses an empty access; an unset one would otherwise silently mean "no access at all".
  const access = entry.access ?? "";
  if (access === "" || [...access].some((p) => !ALL_ACCESS.includes(p))) {
    throw new Error(`${field}.access: must be a combination of "r", "w" and "m", found "${access}"`);
  }
  const rule = {
    allow: entry.allow,
    major: number(entry.major, `${field}.major`),
    minor: number(entry.minor, `${field}.minor`),
    access: union(access, ""),
  };
  if (type !== "a") return [{ ...rule, type }];
  // The kernel reads any "a" line as "reset everything". Only the full wildcard means that; narrower
  // "all types" rules become one rule per type so they keep their meaning (as cgroup v2 BPF does).
  if (rule.major < 0 && rule.minor < 0 && rule.access === ALL_ACCESS) return [{ ...rule, type: "a" }];
  return [
    { ...rule, type: "c" },
    { ...rule, type: "b" },
  ];
}

function addException(state: DeviceState, rule: DeviceRule & { type: "b" | "c" }): void {
  const k = key(rule);
  const old = state.exceptions.get(k);
  state.exceptions.set(k, { type: rule.type, major: rule.major, minor: rule.minor, access: union(old?.access ?? "", rule.access) });
}

function removeException(state: DeviceState, rule: DeviceRule & { type: "b" | "c" }, field: string): void {
  // The kernel only subtracts from an exception with exactly this type and numbers; it silently
  // ignores a request to punch a hole in a wider wildcard one. Refuse rather than mislead (runc does).
  const wider = [
    { type: rule.type, major: -1, minor: rule.minor },
    { type: rule.type, major: rule.major, minor: -1 },
    { type: rule.type, major: -1, minor: -1 },
  ];
  for (const w of wider) {
    const k = key(w);
    if (k === key(rule)) continue;
    const held = state.exceptions.get(k)?.access ?? "";
    const overlap = intersect(rule.access, held);
    if (overlap !== "") {
      throw new Error(
        `${field}: cannot take "${overlap}" away from "${key(rule)}" while "${k} ${held}" is in effect (the devices cgroup cannot split a wildcard rule)`,
      );
    }
  }
  const k = key(rule);
  const old = state.exceptions.get(k);
  if (old === undefined) return;
  const left = minus(old.access, rule.access);
  if (left === "") state.exceptions.delete(k);
  else state.exceptions.set(k, { ...old, access: left });
}

/** Apply one rule to a state, with the kernel's meaning. */
export function applyRule(state: DeviceState, rule: DeviceRule, field: string): void {
  if (rule.type === "a") {
    state.defaultAllow = rule.allow;
    state.exceptions.clear();
    return;
  }
  const typed = rule as DeviceRule & { type: "b" | "c" };
  // An exception always goes against the default: an allow in a deny-all cgroup adds one, an allow
  // in an allow-all cgroup removes a deny exception.
  if (rule.allow === state.defaultAllow) removeException(state, typed, field);
  else addException(state, typed);
}

/**
 * The state a config's device list asks for. Like runc and crun we start from "deny all": the list
 * is an allow-list even without a leading `{"allow": false, "access": "rwm"}`, and later entries
 * override earlier ones (the spec's "apply entries in the listed order").
 */
export function targetState(entries: readonly LinuxDeviceCgroup[], field = "linux.resources.devices"): DeviceState {
  const state: DeviceState = { defaultAllow: false, exceptions: new Map() };
  entries.forEach((entry, i) => {
    for (const rule of toRules(entry, `${field}[${i}]`)) applyRule(state, rule, `${field}[${i}]`);
  });
  return state;
}

/**
 * The state of a v1 cgroup from its devices.list. An allow-all cgroup lists only "a *:* rwm", so its
 * deny exceptions cannot be seen: such a state has to be reset before anything else is written.
 */
export function stateFromList(list: string): DeviceState {
  const state: DeviceState = { defaultAllow: false, exceptions: new Map() };
  for (const line of list.split("\n")) {
    const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
    if (m === null) continue;
    const [, type, major, minor, access] = m as unknown as [string, DeviceType, string, string, string];
    if (type === "a") return { defaultAllow: true, exceptions: new Map() };
    addException(state, {
      allow: true,
      type,
      major: major === "*" ? -1 : Number(major),
      minor: minor === "*" ? -1 : Number(minor),
      access,
    });
  }
  return state;
}

export function isAllowAll(state: DeviceState): boolean {
  return state.defaultAllow && state.exceptions.size === 0;
}

/**
 * The fewest writes that take a cgroup from `from` to `to`. A reset ("a") comes first only when the
 * default changes or `from`'s exceptions are unknowable, so updating a running container does not
 * briefly cut it off from devices it keeps.
 */
export function transition(from: DeviceState, to: DeviceState): DeviceRule[] {
  const rules: DeviceRule[] = [];
  let old = from.exceptions;
  if (from.defaultAllow || from.defaultAllow !== to.defaultAllow) {
    rules.push({ allow: to.defaultAllow, type: "a", major: -1, minor: -1, access: ALL_ACCESS });
    old = new Map();
  }
  // An exception is written to the file opposite the default; taking one back goes to the other.
  for (const [k, e] of old) {
    const dropped = minus(e.access, to.exceptions.get(k)?.access ?? "");
    if (dropped !== "") rules.push({ ...e, allow: to.defaultAllow, access: dropped });
  }
  for (const [k, e] of to.exceptions) {
    const gained = minus(e.access, old.get(k)?.access ?? "");
    if (gained !== "") rules.push({ ...e, allow: !to.defaultAllow, access: gained });
  }
  return rules;
}
