"""Domain exceptions -> HTTP responses, in one place.

API clients (the HF client, git-lfs) get JSON `{"error": ...}` plus the `X-Error-Code` /
`X-Error-Message` headers the HF client reads (HEAD responses have no body, so the headers carry
everything). RepoNotFound answers 401 to anonymous callers and 404 to signed-in ones, as the Hub does.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g, jsonify, request
from gunicorn.http.errors import NoMoreData, ParseException
from sqlalchemy.exc import DataError
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from models_registry.errors import EntryNotFound, InvalidPath, RegistryError, RepoNotFound

from .wiring import services
from .localize import N_, localize

log = logging.getLogger(__name__)


# A header value is visible ASCII and spaces: gunicorn refuses a control character (its own bare 500),
# and clients decode anything else as Latin-1 (mojibake). A value that is text for people to read
# (these headers) keeps non-ASCII as JSON-like \uXXXX escapes, which a client can turn back into
# Chinese; any other (URLs, file names, ids) is percent-encoded, the URL way.
_UNSAFE = re.compile(r"[^\x20-\x7e]")
TEXT_HEADERS = frozenset({"x-error-message", "x-hf-warning", "x-request-id"})


def _escape(match: re.Match[str]) -> str:
    units = match.group().encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8", "surrogatepass"))


def header_safe(message: str) -> str:
    """Text for a header: at most 1000 characters, each outside visible ASCII escaped as \\uXXXX."""
    return _UNSAFE.sub(_escape, message[:1000])


def header_value(name: str, value: str) -> str:
    """`value` made safe to send as header `name` (see _UNSAFE)."""
    if not _UNSAFE.search(value):
        return value
    return _UNSAFE.sub(_escape if name.lower() in TEXT_HEADERS else _percent, value)


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


def _wants_page() -> bool:
    """Pages (and unknown URLs outside the API and git) get an HTML error in the site's style."""
    path = request.path
    if path.startswith("/api/"):  # even when a page route's pattern happened to match
        return False
    if request.blueprint:
        return request.blueprint.startswith("web")
    return not (path.startswith("/api/") or ".git/" in path or "/resolve/" in path
                or request.headers.get("User-Agent", "").startswith(("git/", "git-lfs/")))


TITLES = {400: N_("Bad request"), 401: N_("Sign in required"), 403: N_("Forbidden"), 404: N_("Not found"),
          405: N_("Method not allowed"), 409: N_("Conflict"), 413: N_("Too large"), 429: N_("Too many requests"),
          500: N_("Something went wrong"), 501: N_("Not implemented")}
OTHER_TITLE = N_("Error")


def page_error(status: int, message: str) -> Response:
    from flask import render_template
    from flask_babel import gettext as _

    messages = {404: _("This page does not exist, or you do not have access to it."),
                414: _("This address is too long: shorten the search or remove some filters."),
                500: _("An unexpected error happened on our side. It has been logged.")}
    body = render_template("errors/error.html", status=status, title=_(TITLES.get(status, OTHER_TITLE)),
                           message=messages.get(status) or message)
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def _registry_error(e: RegistryError) -> Response:
    if _wants_page():
        # 422 is the Hub API's answer to a commit naming a bad path; a page's URL is just a bad request.
        return page_error(400 if isinstance(e, InvalidPath) else e.status, localize(e.message))
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
    if e.extra.get("retry_after") is not None:
        resp.headers["Retry-After"] = str(e.extra["retry_after"])
    if status == 401 and _is_git_client():
        resp.headers["WWW-Authenticate"] = 'Basic realm="ModelHub"'
    return resp


# URLs no route takes that name a repository id without a namespace (`/api/models/gpt2`,
# `/gpt2/resolve/main/config.json`, `POST /api/models/gpt2/like`): the Hub answers RepoNotFound, and
# clients (`repo_exists`, `file_exists`) read that code, not the status alone.
_API_REPO_URL = re.compile(r"^/api/(models|datasets|spaces)/([^/]+)(?:/([^/]+))?")
_RESOLVE_URL = re.compile(r"^/((datasets|spaces)/)?[^/]+/resolve/")


def _repo_missing(path: str) -> bool:
    """Whether an unrouted URL names a repository that is not here (or not visible)."""
    if _RESOLVE_URL.match(path):
        return True  # a one-segment id: a NAMESPACE/NAME one would have matched the resolve route
    m = _API_REPO_URL.match(path)
    if m is None:
        return False
    kind, first, second = m.groups()
    if second is None:
        return True
    try:  # `/api/models/NS/NAME/...` with a bad tail (an endpoint that does not exist, a number too large)
        services().registry.repos.get(kind[:-1], f"{first}/{second}", getattr(g, "principal", None))
    except RegistryError:
        return True
    return False


def _http_error(e: HTTPException) -> Response:
    if ((e.code == 404 and request.url_rule is None) or e.code == 405) and _repo_missing(request.path):
        return _registry_error(RepoNotFound())
    if _wants_page() and (e.code or 500) >= 400:
        if e.code in (301, 302, 303, 307, 308):
            return e.get_response()
        return page_error(e.code or 500, e.description or e.name)
    resp = error_response(e.code or 500, e.description or e.name)
    # Keep what the exception says about itself, e.g. Content-Range: bytes */N on a 416.
    for key, value in e.get_headers():
        if key.lower() != "content-type":
            resp.headers[key] = value
    return resp


def _malformed_body(e: Exception) -> Response:
    """gunicorn refused the body while a view was reading it: a broken chunked encoding, or a client
    that went away mid-body. The client's fault, not ours."""
    message = f"Malformed request body: {e}"
    if _wants_page():
        return page_error(400, message)
    return error_response(400, message)


def _unstorable_value(e: DataError) -> Response:
    """The database refused a value the request carried (PostgreSQL stores no NUL in text, numbers
    have ranges): bad input that got past the checks before it, not a fault of ours."""
    log.info("database refused a value on %s %s: %s", request.method, request.path, e.orig)
    message = "The request carries a value that cannot be stored (a NUL character, or a number out of range)"
    if _wants_page():
        return page_error(400, message)
    return error_response(400, message)


def _unexpected(e: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_page():
        return page_error(500, "Internal server error")
    return error_response(500, "Internal server error")


def _echo_request_id(resp: Response) -> Response:
    # The HF client puts this id in its error messages, which makes a user's report traceable in our logs.
    rid = request.headers.get("X-Request-Id") or request.headers.get("X-Amzn-Trace-Id")
    if rid and resp.status_code >= 400:
        resp.headers["X-Request-Id"] = rid[:200]
    return resp


def _safe_headers(resp: Response) -> Response:
    # Registered first, so it runs after every other app-wide after_request hook (Flask runs them in
    # reverse): whatever a view, an error handler or a hook set, it leaves through here.
    if any(_UNSAFE.search(value) for _key, value in resp.headers.items()):
        resp.headers = Headers([(key, header_value(key, value)) for key, value in resp.headers.items()])
    return resp


def init_app(app: Flask) -> None:
    app.after_request(_safe_headers)
    app.after_request(_echo_request_id)
    app.register_error_handler(RegistryError, _registry_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ParseException, _malformed_body)
    app.register_error_handler(NoMoreData, _malformed_body)
    app.register_error_handler(DataError, _unstorable_value)
    app.register_error_handler(Exception, _unexpected)
