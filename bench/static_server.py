"""A minimal static file server used as the download baseline of bench/transfer.py.

    python bench/static_server.py DIRECTORY

Serves the files of DIRECTORY (flat, no sub-folders) over HTTP/1.1 on 127.0.0.1 with a
kernel sendfile(2) body, from a thread per connection, i.e. what a plain static server such
as nginx would do. Prints the chosen port on the first line of stdout, then serves until killed.
"""

from __future__ import annotations

import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."

    def setup(self) -> None:
        super().setup()
        # As nginx's tcp_nodelay: the headers and a small body go out in two writes, and without
        # it the second waits for the client's delayed ACK (~40 ms a response on Linux).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _open(self):
        name = os.path.basename(self.path.split("?", 1)[0])
        path = os.path.join(self.root, name)
        if not name or not os.path.isfile(path):
            self.send_error(404)
            return None
        return open(path, "rb")

    def _headers(self, f) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
        self.end_headers()

    def do_HEAD(self) -> None:  # noqa: N802
        f = self._open()
        if f is not None:
            with f:
                self._headers(f)

    def do_GET(self) -> None:  # noqa: N802
        f = self._open()
        if f is not None:
            with f:
                self._headers(f)
                self.wfile.flush()
                self.connection.sendfile(f)

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


def main() -> None:
    Handler.root = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
