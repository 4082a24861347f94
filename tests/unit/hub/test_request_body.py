"""hub.request_body over gunicorn's own body objects and a real socket pair."""

from __future__ import annotations

import io
import socket
import ssl
import threading

import pytest
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from hub.request_body import SocketBody, body_stream


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.settimeout(10)  # a read past what was sent fails the test instead of hanging it
    yield a, b
    a.close()
    b.close()


def gunicorn_body(sock: socket.socket, length: int, read_ahead: bytes = b"") -> tuple[Body, SocketUnreader]:
    unreader = SocketUnreader(sock)
    if read_ahead:
        unreader.unread(read_ahead)  # what gunicorn read past the headers
    return Body(LengthReader(unreader, length)), unreader


def send_later(sock: socket.socket, data: bytes) -> threading.Thread:
    t = threading.Thread(target=sock.sendall, args=(data,))
    t.start()
    return t


def read_all(stream, size: int = 1 << 16) -> bytes:
    out = bytearray()
    buf = bytearray(size)
    while n := stream.readinto(buf):
        out += buf[:n]
    return bytes(out)


def test_reads_the_read_ahead_then_the_socket_and_leaves_the_next_request(pair):
    server, client = pair
    body_bytes = bytes(range(256)) * 4000  # 1,024,000 bytes
    ahead, rest = body_bytes[:5000], body_bytes[5000:]
    body, unreader = gunicorn_body(server, len(body_bytes), read_ahead=ahead)
    stream = body_stream({"wsgi.input": body, "gunicorn.socket": server}, fallback=io.BytesIO(b"unused"))
    assert isinstance(stream, SocketBody)
    sender = send_later(client, rest + b"GET /next HTTP/1.1\r\n\r\n")
    assert read_all(stream) == body_bytes
    sender.join()
    # gunicorn's account of the body is in step: nothing left to drain, the next request is intact
    assert body.read(8192) == b""
    assert unreader.read(22) == b"GET /next HTTP/1.1\r\n\r\n"


def test_read_ahead_past_the_body_is_given_back(pair):
    server, _ = pair
    body, unreader = gunicorn_body(server, 10, read_ahead=b"0123456789GET /pipelined")
    stream = body_stream({"wsgi.input": body, "gunicorn.socket": server}, fallback=io.BytesIO())
    assert read_all(stream) == b"0123456789"
    assert unreader.read(14) == b"GET /pipelined"


def test_a_client_gone_midway_marks_the_body_failed(pair):
    server, client = pair
    body, _ = gunicorn_body(server, 1000)
    stream = body_stream({"wsgi.input": body, "gunicorn.socket": server}, fallback=io.BytesIO())
    client.sendall(b"x" * 300)
    client.close()
    assert read_all(stream) == b"x" * 300
    assert body.failed  # gunicorn then closes the connection instead of parsing garbage


def test_read_works_too(pair):
    server, client = pair
    body, _ = gunicorn_body(server, 6)
    client.sendall(b"abcdef")
    stream = body_stream({"wsgi.input": body, "gunicorn.socket": server}, fallback=io.BytesIO())
    assert stream.read(4) == b"abcd" and stream.read() == b"ef"


@pytest.mark.parametrize("case", ["not gunicorn", "chunked", "already read from", "no socket", "TLS"])
def test_anything_else_gets_the_fallback(pair, case):
    server, client = pair
    fallback = io.BytesIO(b"fallback")
    body, unreader = gunicorn_body(server, 6, read_ahead=b"abcdef")
    environ = {"wsgi.input": body, "gunicorn.socket": server}
    if case == "not gunicorn":
        environ["wsgi.input"] = io.BytesIO(b"abcdef")
    elif case == "chunked":
        environ["wsgi.input"] = Body(ChunkedReader({}, unreader))
    elif case == "already read from":
        assert body.read(2) == b"ab"
        # what Body keeps when its reader handed it more than was asked for
        body.buf.write(b"x")
    elif case == "TLS":  # SSLSocket.recv_into takes no flags, and the bytes are not the body's
        environ["gunicorn.socket"] = ssl.create_default_context().wrap_socket(
            socket.socket(), server_hostname="x", do_handshake_on_connect=False)
    else:
        del environ["gunicorn.socket"]
    try:
        assert body_stream(environ, fallback) is fallback
    finally:
        if case == "TLS":
            environ["gunicorn.socket"].close()
