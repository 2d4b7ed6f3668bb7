import { expect, test } from "bun:test";
import { type Flag, parseFlags } from "./args.ts";

const flags: Flag[] = [
  { name: "bundle", alias: "b", type: "string", help: "" },
  { name: "force", alias: "f", type: "bool", help: "" },
  { name: "preserve-fds", type: "int", help: "" },
  { name: "env", alias: "e", type: "strings", help: "" },
];

test("long flags take one or two dashes, a separate value or =value", () => {
  for (const argv of [["--bundle", "/b"], ["-bundle", "/b"], ["--bundle=/b"], ["-b", "/b"], ["-b=/b"]])
    expect(parseFlags([...argv, "id"], flags)).toEqual({ values: { bundle: "/b" }, rest: ["id"] });
});

test("bools stand alone or take =true/=false; ints are checked; repeated string lists add up", () => {
  expect(parseFlags(["-f", "--force=false", "x"], flags).values.force).toBe(false);
  expect(parseFlags(["--preserve-fds", "2"], flags).values["preserve-fds"]).toBe(2);
  expect(() => parseFlags(["--preserve-fds", "two"], flags)).toThrow('invalid value "two" for flag -preserve-fds');
  expect(parseFlags(["-e", "A=1", "--env", "B=2"], flags).values.env).toEqual(["A=1", "B=2"]);
});

test("parsing stops at the first argument that is not a flag, and at --", () => {
  expect(parseFlags(["id", "--force"], flags)).toEqual({ values: {}, rest: ["id", "--force"] });
  expect(parseFlags(["--", "-f"], flags)).toEqual({ values: {}, rest: ["-f"] });
});

test("unknown flags and missing values are errors, as urfave/cli words them", () => {
  expect(() => parseFlags(["--nope"], flags)).toThrow("flag provided but not defined: -nope");
  expect(() => parseFlags(["--bundle"], flags)).toThrow("flag needs an argument: -bundle");
});
