"""Who is calling: `Authorization: Bearer <token>`, or HTTP Basic (any user name + token, or user + password).

A request with bad credentials is refused outright (401), even on public resources, so that a
mistyped token is noticed instead of silently browsing as anonymous.
"""

from __future__ import annotations

import base64
import binascii

from flask import Flask, current_app, g, request, session

from models_registry.errors import Unauthorized
from models_registry.permissions import Principal

from .services import registry

INVALID = "Invalid credentials in Authorization header"


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    accounts = registry().accounts
    if scheme.lower() == "bearer":
        return accounts.authenticate_token(value)
    if scheme.lower() == "basic":
        try:
            user, _, secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized(INVALID) from None
        if secret.startswith("mh_"):
            return accounts.authenticate_token(secret)
        try:
            return accounts.authenticate_password(user, secret)
        except Unauthorized:
            raise Unauthorized(INVALID) from None
    raise Unauthorized(INVALID)


def load_principal() -> None:
    g.principal = None
    if request.endpoint in current_app.config.get("AUTH_EXEMPT_ENDPOINTS", ()):
        return
    g.principal = _authenticate()
    if g.principal is None and request.blueprint and request.blueprint.startswith("web"):
        # Pages (and only pages, which are CSRF-protected) also accept the session cookie.
        g.principal = _from_session()


def _from_session() -> Principal | None:
    uid, fingerprint = session.get("uid"), session.get("pw")
    if not uid:
        return None
    found = registry().accounts.principal_for_session(uid, fingerprint)
    if found is None:  # password changed or account gone: the old session ends
        session.clear()
    return found


def current() -> Principal | None:
    return g.get("principal")


def require() -> Principal:
    p = current()
    if p is None:
        raise Unauthorized("You must be authenticated (Authorization: Bearer <token>)")
    return p


def init_app(app: Flask) -> None:
    app.before_request(load_principal)
