// The real kernel seam, on the calls that need neither root nor a container.
import { expect, test } from "bun:test";
import { POLLIN } from "./constants.ts";
import { LinuxSys, strerror } from "./linux.ts";

test("strerror: glibc's text for common and rarer errnos, in Node's lower-case style", () => {
  expect(strerror(2)).toBe("no such file or directory");
  expect(strerror(16)).toBe("device or resource busy");
  // Not in the built-in table: looked up in libc.
  expect(strerror(95)).toBe("operation not supported");
  expect(strerror(28)).toBe("no space left on device");
});

test("poll (through ppoll): times out with null, reports readiness, waits without a timeout", () => {
  const sys = new LinuxSys();
  const [a, b] = sys.socketpair();
  try {
    expect(sys.poll([{ fd: a, events: POLLIN }], 0)).toBeNull();
    expect(sys.poll([{ fd: a, events: POLLIN }], 20)).toBeNull();
    sys.write(b, new Uint8Array([1]));
    expect(sys.poll([{ fd: a, events: POLLIN }], -1)).toEqual([POLLIN]);
    expect(sys.poll([{ fd: b, events: POLLIN }, { fd: a, events: POLLIN }], 1500)).toEqual([0, POLLIN]);
  } finally {
    sys.close(a);
    sys.close(b);
  }
});
