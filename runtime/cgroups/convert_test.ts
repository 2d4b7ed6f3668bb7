import { describe, expect, test } from "bun:test";
import { blkioWeightToIOWeight, cpuSharesToWeight, memorySwapToV2 } from "./convert.ts";
import { given, pidsMax } from "./values.ts";

describe("cpuSharesToWeight", () => {
  test("maps the v1 minimum, default and maximum onto v2's (opencontainers/cgroups' table)", () => {
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(3)).toBe(2);
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(cpuSharesToWeight(262143)).toBe(10000);
    expect(cpuSharesToWeight(262144)).toBe(10000);
  });

  test("clamps out-of-range shares like the kernel does", () => {
    expect(cpuSharesToWeight(1)).toBe(1);
    expect(cpuSharesToWeight(1_000_000)).toBe(10000);
  });

  test("is monotonic across the range", () => {
    let last = 0;
    for (let s = 2; s <= 262144; s += 97) {
      const w = cpuSharesToWeight(s);
      expect(w).toBeGreaterThanOrEqual(last);
      last = w;
    }
  });
});

describe("memorySwapToV2", () => {
  test("swap.max is memory+swap minus memory", () => {
    expect(memorySwapToV2(3 << 20, 1 << 20)).toBe(2 << 20);
  });

  test("swap equal to the limit means no swap", () => {
    expect(memorySwapToV2(1 << 20, 1 << 20)).toBe(0);
  });

  test("unlimited memory with swap unset means unlimited swap; unset swap otherwise leaves it alone", () => {
    expect(memorySwapToV2(undefined, -1)).toBe(-1);
    expect(memorySwapToV2(undefined, 1 << 20)).toBeUndefined();
    expect(memorySwapToV2(-1, 1 << 20)).toBe(-1);
  });

  test("a swap limit without a memory limit, or below it, is refused", () => {
    expect(() => memorySwapToV2(1 << 20, undefined)).toThrow("linux.resources.memory.swap: cannot limit swap");
    expect(() => memorySwapToV2(1 << 20, -1)).toThrow("without a memory limit");
    expect(() => memorySwapToV2(1 << 20, 2 << 20)).toThrow(
      "linux.resources.memory.swap: must be at least linux.resources.memory.limit (2097152), found 1048576",
    );
  });
});

describe("values", () => {
  test("pids.limit: -1 (or below) is max, 0 is a real limit, unset writes nothing", () => {
    expect(pidsMax(-1)).toBe("max");
    expect(pidsMax(-5)).toBe("max");
    expect(pidsMax(0)).toBe("0");
    expect(pidsMax(64)).toBe("64");
    expect(pidsMax(undefined)).toBeUndefined();
  });

  test("0 counts as unset for numeric limits, as in runc", () => {
    expect(given(0)).toBeUndefined();
    expect(given(undefined)).toBeUndefined();
    expect(given(-1)).toBe(-1);
  });
});

describe("blkioWeightToIOWeight", () => {
  test("maps [10, 1000] linearly onto [1, 10000] as runc does; BFQ's lower weights clamp to 1", () => {
    expect([blkioWeightToIOWeight(10), blkioWeightToIOWeight(500), blkioWeightToIOWeight(1000)]).toEqual([1, 4950, 10000]);
    expect(blkioWeightToIOWeight(1)).toBe(1);
  });
});
