import { type CgroupFs, readFile, writeFile } from "./files.ts";
import { ruleString, stateFromList, targetState, transition } from "./devices.ts";
import type { LinuxDeviceCgroup } from "./types.ts";

const FIELD = "linux.resources.devices";

/**
 * Bring a v1 devices cgroup to the config's allow-list. A fresh cgroup inherits allow-all, so the
 * first write is "a" to devices.deny (clear everything, default deny: runc and crun both start
 * there), then each allowed device to devices.allow. The list must be computed before writing
 * anything, so a bad entry leaves the cgroup untouched.
 */
export function setDevicesV1(fsys: CgroupFs, dir: string, entries: readonly LinuxDeviceCgroup[]): void {
  const target = targetState(entries, FIELD);
  const current = stateFromList(readFile(fsys, dir, "devices.list", FIELD));
  for (const rule of transition(current, target)) {
    writeFile(fsys, dir, rule.allow ? "devices.allow" : "devices.deny", ruleString(rule), FIELD);
  }
}
