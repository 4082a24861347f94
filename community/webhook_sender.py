"""Sending one webhook delivery without becoming a tool against the hub's own network (SSRF).

- The target's name is resolved here and every address it resolves to is checked; the connection
  is then made to a checked address (TLS still verifies the name). Checking the name alone would let
  DNS answer differently at connect time (rebinding).
- Refused by default: loopback, private, link-local, multicast, reserved, unspecified addresses (and
  IPv4-mapped forms of them). An admin opens some with an allow-list of host names and CIDRs
  (MODELHUB_WEBHOOK_ALLOW_HOSTS), e.g. a receiver on the same machine or an internal CI server.
- No redirects are followed (a 3xx is the answer), timeouts are short, at most READ_LIMIT bytes of
  the answer are read, and only its first EXCERPT characters are kept for the log.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

READ_LIMIT = 64 * 1024
EXCERPT = 1000
USER_AGENT = "ModelHub-Webhooks/1.0"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """The URL may not be called (bad scheme, or an address outside what the hub may reach)."""


@dataclass(frozen=True)
class AllowList:
    """Host names (exact, case-insensitive) and networks an admin opened to webhooks."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """'localhost, 127.0.0.0/8, ci.internal' -> an AllowList; a bad CIDR is a ValueError."""
        hosts: set[str] = set()
        nets: list[Network] = []
        for item in (text or "").replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            if any(c.isdigit() for c in item) and ("/" in item or _is_ip(item)):
                nets.append(ipaddress.ip_network(item, strict=False))
            else:
                hosts.add(item.lower())
        return cls(frozenset(hosts), tuple(nets))

    def allows(self, host: str, addr: Address) -> bool:
        return host.lower() in self.hosts or any(addr in n for n in self.networks if n.version == addr.version)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def public_address(addr: Address) -> bool:
    """True for an address on the public internet (what a webhook may reach by default)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_multicast
                or addr.is_reserved or addr.is_unspecified or not addr.is_global)


def check_url(url: str, allow: AllowList) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a webhook may have; refuses other schemes and literal addresses
    outside the allowed ones (a host name is checked when it is resolved, at each delivery)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("The webhook URL must be an http:// or https:// URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The webhook URL has an invalid port") from None
    host = parts.hostname
    if _is_ip(host):
        addr = ipaddress.ip_address(host)
        if not public_address(addr) and not allow.allows(host, addr):
            raise TargetRefused(f"The webhook URL points to a non-public address ({addr}), which this hub "
                                "does not call")
    return parts.scheme, host, port


def resolve(host: str, port: int, allow: AllowList) -> list[Address]:
    """Every address `host` resolves to, if all of them may be called; refuses otherwise (a name
    with one public and one private address could be steered to the private one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise TargetRefused(f"Cannot resolve {host}: {e.strerror}") from None
    addrs = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    for addr in addrs:
        if not public_address(addr) and not allow.allows(host, addr):
            raise TargetRefused(f"{host} resolves to a non-public address ({addr}), which this hub does not call")
    return addrs


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address chosen (and checked) beforehand, whatever DNS says now."""

    def __init__(self, host: str, port: int, addr: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addr = addr

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._addr), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, addr: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addr = addr

    def connect(self) -> None:
        sock = socket.create_connection((str(self._addr), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: `status` None when no HTTP answer came (refused, unreachable, timeout)."""

    status: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send(url: str, body: bytes, headers: dict[str, str], allow: AllowList, timeout: float = 5.0,
         addresses: Sequence[Address] | None = None) -> Outcome:
    """POST `body` to `url` once, under the rules of the module docstring."""
    started = time.monotonic()

    def done(status: int | None, excerpt: str | None, error: str | None) -> Outcome:
        return Outcome(status, excerpt, error, int((time.monotonic() - started) * 1000))

    try:
        scheme, host, port = check_url(url, allow)
        addrs = list(addresses) if addresses is not None else resolve(host, port, allow)
    except TargetRefused as e:
        return done(None, None, f"refused: {e}")
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    last_error = "no address"
    for addr in addrs:
        conn = cls(host, port, addr, timeout)
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
            resp = conn.getresponse()
            raw = resp.read(READ_LIMIT)
            return done(resp.status, raw.decode("utf-8", "replace")[:EXCERPT], None)
        except (OSError, http.client.HTTPException) as e:
            last_error = f"{type(e).__name__}: {e}"
        finally:
            conn.close()
    return done(None, None, last_error)
