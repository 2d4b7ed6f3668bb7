"""What the --console-socket and --pidfd-socket receivers share: listen on a unix socket, say
"listening" on stderr, accept one connection and take what it sends with SCM_RIGHTS."""
import socket
import sys


def receive_fds(path):
    """(message, fds) of the first message on the first connection to a new socket at path."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    print("listening", file=sys.stderr, flush=True)
    conn, _ = srv.accept()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
    conn.close()
    return msg, fds
