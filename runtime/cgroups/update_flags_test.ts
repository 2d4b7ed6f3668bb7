import { describe, expect, test } from "bun:test";
import { parseMemorySize, updatableResources, updateFromFlags } from "./update_flags.ts";

describe("updateFromFlags", () => {
  test("sizes in go-units' binary units, -1 for unlimited", () => {
    expect(parseMemorySize("memory", "512m")).toBe(512 * 1024 ** 2);
    expect(parseMemorySize("memory", "1.5g")).toBe(1.5 * 1024 ** 3);
    expect(parseMemorySize("memory", "64MiB")).toBe(64 * 1024 ** 2);
    expect(parseMemorySize("memory", "100")).toBe(100);
    expect(parseMemorySize("memory", "-1")).toBe(-1);
    expect(() => parseMemorySize("memory", "12x")).toThrow("invalid value for memory: invalid size: '12x'");
  });

  test("only the flags given become resources; 0 means unchanged, as in runc", () => {
    expect(
      updateFromFlags({ memory: "256m", "memory-swap": "-1", "cpu-quota": "-1", "cpu-period": "100000", "cpuset-cpus": "0-1", "pids-limit": "50", "blkio-weight": "300" }),
    ).toEqual({
      memory: { limit: 256 << 20, swap: -1 },
      cpu: { quota: -1, period: 100000, cpus: "0-1" },
      blockIO: { weight: 300 },
      pids: { limit: 50 },
    });
    expect(updateFromFlags({ "pids-limit": "0", "cpu-share": "0" })).toEqual({});
    expect(() => updateFromFlags({ "cpu-share": "-5" })).toThrow('invalid value for cpu-share: strconv.ParseUint: parsing "-5": invalid syntax');
  });

  test("a --resources file contributes only what runc's update applies", () => {
    expect(
      updatableResources({
        memory: { limit: 1, swappiness: 5 },
        cpu: { shares: 2, idle: 1 },
        blockIO: { weight: 10, leafWeight: 20 },
        pids: { limit: 0 },
        devices: [{ allow: true, access: "rwm" }],
        hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
        unified: { "memory.high": "10" },
      }),
    ).toEqual({ memory: { limit: 1 }, cpu: { shares: 2 }, blockIO: { weight: 10 }, unified: { "memory.high": "10" } });
  });
});
