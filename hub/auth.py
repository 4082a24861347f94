"""Who is calling: `Authorization: Bearer <token>`, or HTTP Basic (any user name + token, or user + password).

A request with bad credentials is refused outright (401), even on public resources, so that a
mistyped token is noticed instead of silently browsing as anonymous.

Pages also accept the session cookie. It carries the secret of a server-side session (a row, see
models_registry/accounts.py), checked on every request: signing out, a password change, a
suspension or an admin ending the sessions refuses the cookie at once, on every process.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from flask import Flask, current_app, g, request, session

from models_registry.accounts import SessionLifetime
from models_registry.errors import Unauthorized
from models_registry.permissions import Principal

from .wiring import services, services_of

INVALID = "Invalid credentials in Authorization header"
SESSION_KEY = "sid"  # in the (signed) Flask session cookie: the web session's secret


def _authenticate() -> Principal | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    accounts = services().registry.accounts
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
    secret = session.get(SESSION_KEY)
    if not secret:
        return None
    found = services().registry.accounts.principal_for_session(secret)
    if found is None:  # ended, expired, or the account suspended or gone: drop the cookie too
        session.clear()
    return found


def sign_in(user_id: int) -> None:
    """Open a new web session (ending the one this browser had) and put its secret in the cookie."""
    accounts = services().registry.accounts
    accounts.end_session(session.get(SESSION_KEY))
    session.clear()
    session[SESSION_KEY] = accounts.open_session(user_id, request.user_agent.string)
    session.permanent = True


def sign_out() -> None:
    services().registry.accounts.end_session(session.get(SESSION_KEY))
    session.clear()


def session_secret() -> str | None:
    """The current web session's secret, to tell it apart from the user's other sessions."""
    return session.get(SESSION_KEY)


def current() -> Principal | None:
    return g.get("principal")


def require() -> Principal:
    p = current()
    if p is None:
        raise Unauthorized("You must be authenticated (Authorization: Bearer <token>)")
    return p


def init_app(app: Flask) -> None:
    lifetime = SessionLifetime(idle=dt.timedelta(days=app.config["SESSION_IDLE_DAYS"]),
                               absolute=dt.timedelta(days=app.config["SESSION_MAX_DAYS"]))
    services_of(app).registry.accounts.session_lifetime = lifetime
    # The cookie may outlive neither: the server refuses it past either limit anyway.
    app.config["PERMANENT_SESSION_LIFETIME"] = lifetime.absolute
    app.before_request(load_principal)
