"""Domain exceptions -> HTTP responses, in one place.

API clients (the HF client, git-lfs) get JSON `{"error": ...}` plus the `X-Error-Code` /
`X-Error-Message` headers the HF client reads (HEAD responses have no body, so the headers carry
everything). RepoNotFound answers 401 to anonymous callers and 404 to signed-in ones, as the Hub does.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from models_registry.errors import EntryNotFound, RegistryError, RepoNotFound

log = logging.getLogger(__name__)


def header_safe(message: str) -> str:
    return message.replace("\r", " ").replace("\n", " ").encode("latin-1", "replace").decode("latin-1")[:1000]


def error_response(status: int, message: str, code: str | None = None, **extra: object) -> Response:
    resp = jsonify({"error": message, **extra})
    resp.status_code = status
    resp.headers["X-Error-Message"] = header_safe(message)
    if code:
        resp.headers["X-Error-Code"] = code
    return resp


def _is_git_client() -> bool:
    """git and git-lfs: they need WWW-Authenticate to send credentials, and print text/plain bodies."""
    return request.blueprint in ("git", "lfs")


def _registry_error(e: RegistryError) -> Response:
    status = e.status
    if isinstance(e, RepoNotFound) and getattr(g, "principal", None) is None:
        status = 401
    extra = {}
    if "url" in e.extra:
        extra["url"] = e.extra["url"]
    if request.blueprint == "git":
        resp = Response(e.message + "\n", status=status, content_type="text/plain; charset=utf-8")
        resp.headers["X-Error-Message"] = header_safe(e.message)
    else:
        resp = error_response(status, e.message, e.code, **extra)
    if isinstance(e, EntryNotFound) and e.commit:
        resp.headers["X-Repo-Commit"] = e.commit
    if status == 401 and _is_git_client():
        resp.headers["WWW-Authenticate"] = 'Basic realm="ModelHub"'
    return resp


def _http_error(e: HTTPException) -> Response:
    resp = error_response(e.code or 500, e.description or e.name)
    # Keep what the exception says about itself, e.g. Content-Range: bytes */N on a 416.
    for key, value in e.get_headers():
        if key.lower() != "content-type":
            resp.headers[key] = value
    return resp


def _unexpected(e: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "Internal server error")


def _echo_request_id(resp: Response) -> Response:
    # The HF client puts this id in its error messages, which makes a user's report traceable in our logs.
    rid = request.headers.get("X-Request-Id") or request.headers.get("X-Amzn-Trace-Id")
    if rid and resp.status_code >= 400:
        resp.headers["X-Request-Id"] = header_safe(rid)[:200]
    return resp


def init_app(app: Flask) -> None:
    app.after_request(_echo_request_id)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
