"""The least a server can do with an upload: the bound for bench/transfer.py's upload row.

    python bench/bare_receiver.py

Answers each HTTP/1.1 PUT (Content-Length bodies only) by receiving the body with `recv_into`
straight into one 2 MiB buffer and feeding it to sha256, then answering 200 with the hex digest
as the body. It stores nothing, parses nothing but the headers, and has no framework: a server
that must also verify the sha256 of what it receives cannot take less CPU per byte (the hub's
LFS PUT does the same two steps, then writes each block with O_DIRECT from another thread).
Prints the chosen port on the first line of stdout, then serves until killed; a thread per
connection.
"""

from __future__ import annotations

import hashlib
import socket
import sys
import threading

BLOCK = 2 * 1024 * 1024  # the hub's DirectWriter block: hashed while still in the core's cache


def handle(conn: socket.socket) -> None:
    with conn:
        buf = bytearray(BLOCK)
        view = memoryview(buf)
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            h = hashlib.sha256(pending[:length])
            left = length - len(pending[:length])
            pending = pending[length:]
            while left:
                n = conn.recv_into(view[:min(BLOCK, left)], 0, socket.MSG_WAITALL)
                if not n:
                    return
                h.update(view[:n])
                left -= n
            body = h.hexdigest().encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
