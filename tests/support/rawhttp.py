"""HTTP requests byte for byte, over a plain socket: for what `requests` (and http.client) would
normalise or refuse to send, such as control characters in a path, odd methods, header bytes
outside ASCII or a body whose Content-Length lies. One request per connection (Connection: close)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    head: bytes  # status line and headers, as received
    headers: list[tuple[str, str]]  # decoded as Latin-1, names lower-cased
    body: bytes  # de-chunked

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    def json(self):
        return json.loads(self.body)

    def header_bytes_are_visible_ascii(self) -> bool:
        """Every header line is visible ASCII and spaces (what a strict client or proxy accepts)."""
        return all(all(0x20 <= b <= 0x7E for b in line) for line in self.head.split(b"\r\n"))


def build(method: str | bytes, target: str | bytes, headers: list[tuple[str | bytes, str | bytes]] = (),
          body: bytes = b"", host: str = "localhost", content_length: bool = True) -> bytes:
    """A request's bytes; `target` and header values go out exactly as given (str as Latin-1)."""
    def b(x: str | bytes) -> bytes:
        return x if isinstance(x, bytes) else x.encode("latin-1")

    lines = [b(method) + b" " + b(target) + b" HTTP/1.1", b"Host: " + b(host), b"Connection: close"]
    names = {b(k).lower() for k, _v in headers}
    lines += [b(k) + b": " + b(v) for k, v in headers]
    if body and content_length and b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def send(host_port: str, data: bytes, timeout: float = 30) -> RawResponse:
    """Send raw request bytes, read until the server closes, parse the (last non-1xx) response."""
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before reading everything, as it may
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # whatever arrived before the reset is the answer
    return parse(b"".join(chunks))


def parse(raw: bytes) -> RawResponse:
    while True:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError(f"no complete response head in {raw[:200]!r}")
        status = int(head.split(b" ", 2)[1])
        if status >= 200 or status == 101:
            break
        raw = rest  # 100 Continue and friends: the real answer follows
    headers = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip().lower(), value.strip()))
    body = rest
    if any(k == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        body = _dechunk(rest)
    return RawResponse(status, head, headers, body)


def _dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            break
        size = int(data[pos:end].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(data[end + 2:end + 2 + size])
        pos = end + 2 + size + 2
    return b"".join(out)
