"""Helpers shared by the API views: repo types in URLs, raw paths, absolute URLs, dates, paging."""

from __future__ import annotations

import datetime as dt
from typing import Any, BinaryIO
from urllib.parse import unquote, urlencode

from flask import current_app, request

from models_registry.errors import BadRequest

from ..transfer import send_blob  # noqa: F401 (re-exported: the views import it with the other helpers)

TYPE_BY_PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def repo_type_of(plural: str) -> str:
    try:
        return TYPE_BY_PLURAL[plural]
    except KeyError:
        raise BadRequest(f"Unknown repository type {plural!r}") from None


def raw_path_segments() -> list[str]:
    """The request path split on '/' *before* percent-decoding, each segment then decoded.

    Werkzeug decodes %2F into '/' in PATH_INFO, which makes `tree/{rev}/{path}` ambiguous when the
    revision is `refs/pr/1`; the client always encodes the revision with safe="".
    """
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw is None:
        raw = request.environ.get("PATH_INFO", "")
        return [s for s in raw.split("/")]
    raw = raw.split("?", 1)[0]
    if "://" in raw:  # absolute-form request target
        raw = "/" + raw.split("://", 1)[1].split("/", 1)[-1]
    script = request.environ.get("SCRIPT_NAME", "")
    if script and raw.startswith(script):
        raw = raw[len(script):]
    return [unquote(s) for s in raw.split("/")]


def split_after(marker_index: int) -> tuple[str, str]:
    """(first segment, rest joined by '/') of the raw path after segment number `marker_index`."""
    segs = raw_path_segments()[marker_index + 1:]
    if not segs or segs[0] == "":
        return "", ""
    return segs[0], "/".join(segs[1:])


def base_url() -> str:
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def repo_url(repo_type: str, repo_id: str) -> str:
    return f"{base_url()}/{URL_PREFIX[repo_type]}{repo_id}"


def iso(ts: dt.datetime | None) -> str | None:
    """UTC timestamp in the one format the HF client parses (a trailing Z is mandatory)."""
    if ts is None:
        return None
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def iso_epoch(seconds: int) -> str:
    return iso(dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None)) or ""


def flag(name: str, default: bool = False) -> bool:
    v = request.args.get(name)
    if v is None:
        return default
    return v.lower() in ("1", "true", "yes")


def int_arg(name: str, default: int, lo: int = 0, hi: int = 10**9) -> int:
    v = request.args.get(name)
    if v in (None, ""):
        return default
    try:
        n = int(v)
    except ValueError:
        raise BadRequest(f"Query parameter {name!r} must be an integer") from None
    if not lo <= n <= hi:
        raise BadRequest(f"Query parameter {name!r} must be between {lo} and {hi}")
    return n


def next_link(**changes: Any) -> str:
    """Absolute URL of this request with some query parameters replaced, or dropped when given None
    (for `Link: rel=next`)."""
    items = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    path = request.path
    return f"{base_url()}{_raw_request_path() or path}?{urlencode(items)}"


def _raw_request_path() -> str | None:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:
        return None
    return raw.split("?", 1)[0]


def json_body(optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, parsed within hub/limits.py's bounds (size, nesting);
    `optional`: a request without a body gives {}."""
    if optional and not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    data = request.get_json(force=True)
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object in the request body")
    return data


DRAIN_LIMIT = 256 * 1024 * 1024


def drain_body(stream: BinaryIO | None = None) -> None:
    """Consume (a bounded amount of) an unread request body before answering with an error.

    `stream`: the one the body was being read from, when not request.stream. A request_body stream
    holds the bytes gunicorn had read ahead: only it can hand them out, so only it can drain."""
    stream = request.stream if stream is None else stream
    left = DRAIN_LIMIT
    try:
        while left > 0:
            chunk = stream.read(min(1 << 20, left))
            if not chunk:
                break
            left -= len(chunk)
    except Exception:  # the client went away; nothing to save
        pass
