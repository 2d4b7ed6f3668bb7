#!/usr/bin/env python3
"""Run a command (the runtime) with a fresh pseudo-terminal as its stdio and controlling terminal,
drive it through a list of steps, and report how it ended.

  pty_driver.py STEPS.json TRANSCRIPT ROWS COLS -- ARGV...

The pty's window size is ROWS x COLS before the command starts. Everything the command writes
is appended to TRANSCRIPT as it arrives. STEPS is a JSON list; each step is one of
  {"expect": RE}                     wait until the output after the previous match matches RE
  {"send": TEXT}                     type TEXT into the terminal
  {"resize": [ROWS, COLS]}           TIOCSWINSZ on the pty (the kernel signals SIGWINCH to the
                                     foreground process group, the command's) and SIGWINCH to it
  {"send": TEXT, "expect": RE, "until": RE2, "tries": N}
                                     send and expect, again and again, until what RE matched also
                                     matches RE2 (at most N rounds): a poll through the terminal
Every wait is for data and bounded (STEP_TIMEOUT seconds), never a sleep. After the steps the
output is read to EOF and the command reaped. Prints {"code": N or -SIGNAL, "error": null or a
message} on stdout.
"""
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

STEP_TIMEOUT = 15.0


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    steps = json.load(open(sys.argv[1]))
    transcript = open(sys.argv[2], "ab", buffering=0)
    rows, cols = int(sys.argv[3]), int(sys.argv[4])
    if sys.argv[5] != "--":
        raise SystemExit("usage: pty_driver.py STEPS TRANSCRIPT ROWS COLS -- ARGV...")
    argv = sys.argv[6:]

    master, slave = os.openpty()
    set_size(slave, rows, cols)

    def make_controlling_tty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=make_controlling_tty,
        close_fds=True,
    )
    os.close(slave)

    state = {"buf": b"", "pos": 0, "eof": False}

    def pump(timeout):
        if state["eof"]:
            return
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last slave fd closed
            data = b""
        if not data:
            state["eof"] = True
            return
        state["buf"] += data
        transcript.write(data)

    def expect(pattern):
        rx = re.compile(pattern.encode(), re.S)
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            m = rx.search(state["buf"], state["pos"])
            if m:
                state["pos"] = m.end()
                return m
            if state["eof"]:
                raise RuntimeError(f"EOF while waiting for {pattern!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"timed out after {STEP_TIMEOUT}s waiting for {pattern!r}")
            pump(min(left, 1.0))

    def send(text):
        os.write(master, text.encode())

    error = None
    try:
        for step in steps:
            if "resize" in step:
                r, c = step["resize"]
                set_size(master, r, c)
                os.kill(proc.pid, signal.SIGWINCH)
            elif "until" in step:
                until = re.compile(step["until"].encode(), re.S)
                for _ in range(int(step.get("tries", 50))):
                    send(step["send"])
                    if until.search(expect(step["expect"]).group(0)):
                        break
                else:
                    raise RuntimeError(f"{step['until']!r} not seen after {step.get('tries', 50)} tries")
            else:
                if "send" in step:
                    send(step["send"])
                if "expect" in step:
                    expect(step["expect"])
        deadline = time.monotonic() + STEP_TIMEOUT
        while not state["eof"] and time.monotonic() < deadline:
            pump(min(deadline - time.monotonic(), 1.0))
        if not state["eof"]:
            raise RuntimeError("no EOF on the terminal after the last step")
        code = proc.wait(timeout=STEP_TIMEOUT)
    except Exception as e:  # report, never hang: the whole session goes
        error = str(e)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        code = proc.wait()
    print(json.dumps({"code": code, "error": error}), flush=True)


main()
