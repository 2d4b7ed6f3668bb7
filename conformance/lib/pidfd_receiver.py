#!/usr/bin/env python3
"""The other end of --pidfd-socket: accept one connection on the unix socket at argv[1], receive
one fd (SCM_RIGHTS) and print what /proc/self/fdinfo says of it as JSON: {"pid": N} for a pidfd
(-1 once its process is gone and reaped), {"error": ...} otherwise. "listening" goes to stderr."""
import json
import os
import sys

from fd_socket import receive_fds

_msg, fds = receive_fds(sys.argv[1])
if len(fds) != 1:
    print(json.dumps({"error": f"expected 1 fd, got {len(fds)}"}), flush=True)
    sys.exit(0)
info = open(f"/proc/self/fdinfo/{fds[0]}").read()
pid = [line.split()[1] for line in info.splitlines() if line.startswith("Pid:")]
target = os.readlink(f"/proc/self/fd/{fds[0]}")
print(json.dumps({"pid": int(pid[0])} if pid and target == "anon_inode:[pidfd]" else {"error": f"not a pidfd: {target}"}), flush=True)
