#!/usr/bin/env python3
"""The other end of --console-socket: accept one connection on the unix socket at argv[1],
receive the pty master sent with SCM_RIGHTS, then copy everything the container writes to the
terminal to stdout until the last slave fd closes (read gives EIO). Progress goes to stderr."""
import os
import socket
import sys

path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("listening", file=sys.stderr, flush=True)
conn, _ = srv.accept()
msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
conn.close()
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
