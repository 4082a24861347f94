"""Large request bodies read straight from gunicorn's socket into the caller's buffer.

Why: gunicorn's `wsgi.input` hands a body out as `bytes`, after passing it through two BytesIO
buffers; for a multi-GiB LFS upload those copies cost about as much CPU as the sha256 we must
compute anyway. `readinto()` here receives into the staging buffer itself (one copy, by the
kernel). It serves the bytes gunicorn has already read ahead first, and keeps gunicorn's count of
the body's unread length in step, so that gunicorn knows where the next request on the
connection starts (and marks the body failed, closing the connection, if the client goes away).

Anything that is not gunicorn's plain Content-Length body on a plain socket (chunked uploads,
TLS, another server, the test client) gets the WSGI stream unchanged.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Mapping
from typing import Any, BinaryIO

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader


class SocketBody(io.RawIOBase):
    """The unread part of a gunicorn request body of known length, as a raw binary stream."""

    def __init__(self, body: Any, sock: socket.socket) -> None:
        super().__init__()
        self._body = body
        self._reader = body.reader
        self._sock = sock
        self._ahead = memoryview(self._reader.unreader.take_buffered())
        if len(self._ahead) > self._reader.length:  # a pipelined next request: not ours
            self._reader.unreader.unread(bytes(self._ahead[self._reader.length:]))
            self._ahead = self._ahead[:self._reader.length]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[:self._reader.length]
        if not view:
            return 0
        if self._ahead:
            n = min(len(view), len(self._ahead))
            view[:n] = self._ahead[:n]
            self._ahead = self._ahead[n:]
        else:
            try:
                n = self._sock.recv_into(view, len(view), socket.MSG_WAITALL)
            except OSError:
                self._body.failed = True
                raise
            if n == 0:
                self._body.failed = True  # the client went away mid-body
        self._reader.length -= n
        return n


def body_stream(environ: Mapping[str, Any], fallback: BinaryIO) -> BinaryIO:
    """A stream with `readinto` straight from the socket when gunicorn allows it, else `fallback`."""
    body, sock = environ.get("wsgi.input"), environ.get("gunicorn.socket")
    if (type(body) is not Body or type(body.reader) is not LengthReader
            or type(body.reader.unreader) is not SocketUnreader or type(sock) is not socket.socket  # not TLS
            or body.buf.tell() or not hasattr(body.reader.unreader, "take_buffered")):
        return fallback
    return SocketBody(body, sock)  # type: ignore[return-value]
