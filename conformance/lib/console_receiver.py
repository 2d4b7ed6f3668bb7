#!/usr/bin/env python3
"""The other end of --console-socket: accept one connection on the unix socket at argv[1],
receive the pty master sent with SCM_RIGHTS, then copy everything the container writes to the
terminal to stdout until the last slave fd closes (read gives EIO). Progress goes to stderr."""
import os
import sys

from fd_socket import receive_fds

msg, fds = receive_fds(sys.argv[1])
if len(fds) != 1:
    print(f"expected 1 fd, got {len(fds)}", file=sys.stderr, flush=True)
    sys.exit(2)
master = fds[0]
print(f"received {msg!r}", file=sys.stderr, flush=True)
out = sys.stdout.buffer
while True:
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: every slave fd is closed
        break
    if not data:
        break
    out.write(data)
    out.flush()
print("eof", file=sys.stderr, flush=True)
