import { describe, expect, test } from "bun:test";
import { type DeviceState, isAllowAll, ruleString, stateFromList, targetState, transition, toRules } from "./devices.ts";
import type { LinuxDeviceCgroup } from "./types.ts";

const DENY_ALL: LinuxDeviceCgroup = { allow: false, access: "rwm" };
const NULL: LinuxDeviceCgroup = { allow: true, type: "c", major: 1, minor: 3, access: "rwm" };

function exceptions(state: DeviceState): string[] {
  return [...state.exceptions].map(([k, e]) => `${k} ${e.access}`);
}

describe("targetState", () => {
  test("a leading deny-all followed by allows is an allow-list of those devices", () => {
    const state = targetState([DENY_ALL, NULL, { allow: true, type: "b", major: 8, minor: 0, access: "r" }]);
    expect(state.defaultAllow).toBe(false);
    expect(exceptions(state)).toEqual(["c 1:3 rwm", "b 8:0 r"]);
  });

  test("without a leading deny-all the list is still an allow-list (runc and crun start from deny all)", () => {
    const state = targetState([NULL]);
    expect(state.defaultAllow).toBe(false);
    expect(exceptions(state)).toEqual(["c 1:3 rwm"]);
  });

  test("an empty list denies every device", () => {
    expect(targetState([])).toEqual({ defaultAllow: false, exceptions: new Map() });
  });

  test("an allow-all entry resets to allow everything, dropping earlier exceptions", () => {
    const state = targetState([NULL, { allow: true, access: "rwm" }]);
    expect(isAllowAll(state)).toBe(true);
  });

  test("entries apply in order: a later deny takes access away from an earlier allow", () => {
    const state = targetState([DENY_ALL, NULL, { allow: false, type: "c", major: 1, minor: 3, access: "w" }]);
    expect(exceptions(state)).toEqual(["c 1:3 rm"]);
  });

  test("in allow-all mode a deny adds an exception and a later allow removes it", () => {
    const allowAll = { allow: true, access: "rwm" };
    const deny: LinuxDeviceCgroup = { allow: false, type: "c", major: 10, minor: 200, access: "rwm" };
    expect(exceptions(targetState([allowAll, deny]))).toEqual(["c 10:200 rwm"]);
    expect(isAllowAll(targetState([allowAll, deny, { ...deny, allow: true }]))).toBe(true);
  });

  test("taking access out of a wider wildcard rule is refused, since the kernel would ignore it", () => {
    const entries: LinuxDeviceCgroup[] = [DENY_ALL, { allow: true, type: "c", access: "m" }, { allow: false, type: "c", major: 1, minor: 3, access: "m" }];
    expect(() => targetState(entries)).toThrow(
      'linux.resources.devices[2]: cannot take "m" away from "c 1:3" while "c *:* m" is in effect',
    );
  });

  test("an all-types rule with partial access becomes a char and a block rule, not a reset", () => {
    expect(toRules({ allow: true, access: "r" }, "f")).toEqual([
      { allow: true, type: "c", major: -1, minor: -1, access: "r" },
      { allow: true, type: "b", major: -1, minor: -1, access: "r" },
    ]);
    expect(toRules({ allow: false, type: "a", access: "mwr" }, "f")).toEqual([
      { allow: false, type: "a", major: -1, minor: -1, access: "rwm" },
    ]);
  });

  test("a bad type or an empty or unknown access is refused, naming the entry", () => {
    // Update input skips the schema, so the type is checked here too.
    expect(() => targetState([{ allow: true, type: "p" as "a", access: "r" }])).toThrow(
      'linux.resources.devices[0].type: must be "a", "b" or "c", found "p"',
    );
    expect(() => targetState([DENY_ALL, { allow: true, type: "c", major: 1, minor: 3 }])).toThrow(
      'linux.resources.devices[1].access: must be a combination of "r", "w" and "m", found ""',
    );
    expect(() => targetState([{ allow: true, type: "c", access: "rx" }])).toThrow("found \"rx\"");
  });
});

describe("transition and devices.list", () => {
  test("from a fresh (allow-all) cgroup: reset to deny, then one allow per device", () => {
    const from = stateFromList("a *:* rwm\n");
    const rules = transition(from, targetState([DENY_ALL, NULL, { allow: true, type: "c", major: 136, access: "rwm" }]));
    expect(rules.map((r) => `${r.allow ? "allow" : "deny"} ${ruleString(r)}`)).toEqual([
      "deny a",
      "allow c 1:3 rwm",
      "allow c 136:* rwm",
    ]);
  });

  test("between two allow-lists only the differences are written, with no reset", () => {
    const from = stateFromList("c 1:3 rwm\nc 1:5 rwm\n");
    const to = targetState([DENY_ALL, NULL, { allow: true, type: "c", major: 1, minor: 5, access: "r" }, { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }]);
    expect(transition(from, to).map((r) => `${r.allow ? "allow" : "deny"} ${ruleString(r)}`)).toEqual([
      "deny c 1:5 wm",
      "allow c 1:9 rwm",
    ]);
  });

  test("to allow-all: a single allow reset", () => {
    const rules = transition(stateFromList("c 1:3 rwm\n"), targetState([{ allow: true, access: "rwm" }]));
    expect(rules.map(ruleString)).toEqual(["a"]);
    expect(rules[0]?.allow).toBe(true);
  });
});
