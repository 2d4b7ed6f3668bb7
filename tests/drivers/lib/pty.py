#!/usr/bin/env python3
"""pty.py ROWS COLS -- CMD...: run CMD with a new pty (of that size) as its controlling
terminal and stdio, copy what it writes to our stdout, exit with its status. This is how the
tests give `podman run -t` and `ctr run -t` a real terminal, so they ask the runtime for one
(--console-socket) and relay it."""
import fcntl
import os
import struct
import subprocess
import sys
import termios

rows, cols = int(sys.argv[1]), int(sys.argv[2])
if sys.argv[3] != "--":
    sys.exit("usage: pty.py ROWS COLS -- CMD...")
cmd = sys.argv[4:]

master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def controlling_tty():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


child = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=controlling_tty)
os.close(slave)
out = sys.stdout.buffer
while True:
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: every holder of the slave side has closed it
        break
    if not data:
        break
    out.write(data)
    out.flush()
status = child.wait()
sys.exit(status if status >= 0 else 128 - status)
