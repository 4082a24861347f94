"""community/webhook_sender.py against a real HTTP server on loopback: which addresses are refused
(the resolved one, not the name), the allow-list, no redirects, a bounded read; and the signature."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from community.webhook_sender import READ_LIMIT, AllowList, TargetRefused, check_url, public_address, resolve, send
from community.webhooks import sign, watches


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, list[bytes]]]:
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.end_headers()
            elif self.path == "/huge":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"x" * (READ_LIMIT * 4))
            else:
                self.send_response(204 if self.path == "/empty" else 200)
                self.end_headers()
                if self.path != "/empty":
                    self.wfile.write("好".encode() * 2000)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1], got
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("addr, public", [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("127.0.0.1", False), ("127.8.9.10", False), ("::1", False),
    ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False),
    ("fe80::1", False), ("fc00::1", False), ("224.0.0.1", False), ("0.0.0.0", False), ("240.0.0.1", False),
    ("100.64.0.1", False), ("::ffff:127.0.0.1", False), ("::ffff:8.8.8.8", True),
])
def test_public_addresses(addr, public):
    assert public_address(ipaddress.ip_address(addr)) is public


def test_allow_list_parses_names_and_networks():
    allow = AllowList.parse(" localhost , 10.0.0.0/8; ci.internal, 127.0.0.1 ")
    assert allow.hosts == {"localhost", "ci.internal"}
    assert allow.allows("anything", ipaddress.ip_address("10.9.9.9"))
    assert allow.allows("x", ipaddress.ip_address("127.0.0.1")) and not allow.allows("x", ipaddress.ip_address("127.0.0.2"))
    assert allow.allows("LOCALHOST", ipaddress.ip_address("127.0.0.5"))
    with pytest.raises(ValueError):
        AllowList.parse("10.0.0.0/33")


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///x", "http://127.0.0.1/",
                                 "http://[::1]:80/", "http://0x7f000001/", "https://10.0.0.1/"])
def test_check_url_refuses(url):
    with pytest.raises(TargetRefused):
        check_url(url, AllowList())
        resolve(check_url(url, AllowList())[1], 80, AllowList())


def test_a_loopback_receiver_is_refused_without_the_allow_list(server):
    port, got = server
    before = len(got)
    for host in ("127.0.0.1", "localhost"):  # a name is refused for what it resolves to
        out = send(f"http://{host}:{port}/ok", b"{}", {}, AllowList())
        assert out.status is None and out.error.startswith("refused:") and "non-public address" in out.error
    assert len(got) == before


def test_allowed_by_name_or_network_it_is_delivered(server):
    port, got = server
    for allow in (AllowList.parse("localhost"), AllowList.parse("127.0.0.0/8")):
        out = send(f"http://localhost:{port}/ok?x=1", b'{"a":1}', {"X-Test": "1"}, allow)
        assert out.ok and out.status == 200 and out.error is None
        assert got[-1] == b'{"a":1}'
        assert out.excerpt == "好" * 1000  # the first characters only
    # an allowed name says nothing about another name of the same address
    assert send(f"http://127.0.0.1:{port}/ok", b"{}", {}, AllowList.parse("localhost")).error.startswith("refused:")


def test_redirects_are_not_followed_and_reads_are_bounded(server):
    port, got = server
    allow = AllowList.parse("localhost")
    before = len(got)
    out = send(f"http://localhost:{port}/redirect", b"{}", {}, allow)
    assert out.status == 302 and not out.ok
    assert len(got) == before + 1  # /elsewhere was never asked for
    out = send(f"http://localhost:{port}/huge", b"{}", {}, allow)
    assert out.ok and len(out.excerpt) <= 1000
    assert send(f"http://localhost:{port}/empty", b"{}", {}, allow).ok


def test_an_unreachable_receiver_is_an_error_not_an_exception():
    out = send("http://localhost:1/", b"{}", {}, AllowList.parse("localhost"), timeout=1)
    assert out.status is None and "ConnectionRefused" in out.error


def test_signature_is_the_hmac_of_the_body():
    body = b'{"event":{}}'
    assert sign("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("item, repo_type, repo, heard", [
    ({"type": "user", "name": "Alice"}, "model", "alice/m", True),
    ({"type": "org", "name": "acme"}, "dataset", "acme/d", True),
    ({"type": "model", "name": "alice/m"}, "model", "Alice/M", True),
    ({"type": "model", "name": "alice/m"}, "dataset", "alice/m", False),
    ({"type": "user", "name": "alice"}, "model", "alicex/m", False),
    ({"type": "space", "name": "alice/m"}, "space", "alice/m2", False),
])
def test_what_a_webhook_watches(item, repo_type, repo, heard):
    ns, name = repo.split("/")
    assert watches([item], repo_type, ns, name) is heard
