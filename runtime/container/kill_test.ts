import { expect, test } from "bun:test";
import { parseSignal } from "./kill.ts";

test("signals are accepted by name with or without SIG, any case, by number, and as RTMIN+n", () => {
  expect(parseSignal("KILL")).toBe(9);
  expect(parseSignal("SIGKILL")).toBe(9);
  expect(parseSignal("term")).toBe(15);
  expect(parseSignal("9")).toBe(9);
  expect(parseSignal("USR1")).toBe(10);
  expect(parseSignal("RTMIN+3")).toBe(37);
  expect(parseSignal("SIGRTMAX")).toBe(64);
});

test("unknown signals are refused with the name given", () => {
  expect(() => parseSignal("SIGFOO")).toThrow('unknown signal "SIGFOO"');
  expect(() => parseSignal("0")).toThrow('unknown signal "0"');
  expect(() => parseSignal("65")).toThrow('unknown signal "65"');
  expect(() => parseSignal("RTMIN+40")).toThrow('unknown signal "RTMIN+40"');
});
