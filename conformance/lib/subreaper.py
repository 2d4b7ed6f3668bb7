#!/usr/bin/env python3
"""Runs the commands given as JSON argv lists (argv[1]), one after the other, as a child
subreaper the way conmon and containerd's shim are one: a container whose parent exits is
re-parented to us and reaped as soon as it exits. Prints one JSON line per command:
{"code": exit status or -signal, "stderr": text}."""
import ctypes
import json
import os
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")


def reap_orphans(own):
    """Reap every exited child that is not one of our commands (those have their own waiter)."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == own:
            return
        os.waitpid(info.si_pid, 0)


for argv in json.loads(sys.argv[1]):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.set_blocking(p.stderr.fileno(), False)
    err = b""
    while True:
        reap_orphans(p.pid)
        chunk = p.stderr.read()
        if chunk:
            err += chunk
        if p.poll() is not None:
            break
        time.sleep(0.0005)
    err += p.stderr.read() or b""
    print(json.dumps({"code": p.returncode, "stderr": err.decode(errors="replace")}), flush=True)
# Whatever is still running below us (the container, if it outlived the commands) is left for
# the caller to delete; the ones that exited are reaped.
reap_orphans(0)
