"""What the app accepts before any work is done: query strings, JSON bodies, integers in URLs.

gunicorn bounds the request line and headers (hub/server.py); these bounds hold under any server
and answer with the usual JSON error (or error page) instead of a server's bare refusal.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from models_registry import bounded_json
from models_registry.errors import BadRequest, PayloadTooLarge

# Ample for every query the HF client, git, git-lfs and the site send (the longest: list_models with
# every `expand`, about 1 KiB; a search box of ~450 Chinese characters, percent-encoded); a search
# engine reads only the first 256 characters of a text query anyway (search_index.query).
MAX_QUERY_BYTES = 4096
# Identifiers in URLs are database keys: PostgreSQL's `integer` is 32 bits, SQLite's 64.
MAX_URL_INT = 2**31 - 1


class BoundedInt(IntegerConverter):
    """`<int:...>` that does not match numbers no row can have, instead of overflowing the database
    driver (OverflowError / NumericValueOutOfRange: a 500). The URL then names nothing: a 404."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        if max is None or max > MAX_URL_INT:
            max = MAX_URL_INT
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> Any:
        if len(value.lstrip("-0")) > len(str(MAX_URL_INT)):  # before int(): 5,000 digits raise ValueError
            raise ValidationError()
        return super().to_python(value)


class BoundedJSONProvider(DefaultJSONProvider):
    """`request.get_json()` everywhere parses through bounded_json (size, nesting, no NaN)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return bounded_json.loads(s)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"JSON body larger than the limit of {bounded_json.MAX_BYTES} bytes")


class HubRequest(Request):
    """Flask's request, with JSON bodies bounded before they are read and refused with a clear message."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any | None:
        if force or self.is_json:
            length = self.content_length
            if length is not None and length > bounded_json.MAX_BYTES:
                raise _too_large()  # unread
            if length is None and "stream" not in self.__dict__:
                # Chunked: werkzeug stops reading one byte past the limit, which the parser refuses.
                self.max_content_length = bounded_json.MAX_BYTES + 1
        return super().get_json(force=force, silent=silent, cache=cache)

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            return super().on_json_loading_failed(e)  # not JSON at all: 415, as Flask says
        if isinstance(e, bounded_json.JSONTooLarge):
            raise _too_large()
        raise BadRequest(f"Invalid JSON body: {e}")


def _bound_query_string() -> None:
    # The raw bytes, before werkzeug parses them or a view searches with them.
    size = len(request.query_string)
    if size > MAX_QUERY_BYTES:
        raise RequestURITooLarge(f"Query string too long ({size} bytes; the limit is {MAX_QUERY_BYTES})")


def init_app(app: Flask) -> None:
    """Call right after Flask(): blueprints registered later get the bounded `int` converter."""
    app.request_class = HubRequest
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_bound_query_string)
