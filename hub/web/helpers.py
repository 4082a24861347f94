"""Template globals and filters shared by every page: formatting, URLs, the signed-in user."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from flask import Flask, g, request
from flask_babel import format_datetime, format_decimal, format_timedelta, get_locale
from markupsafe import Markup

from models_registry.clock import utcnow
from models_registry.model_tree import is_tree_tag


def human_count(n: int | None) -> str:
    """1234 -> 1.2k (en) / 1234 -> 1234 (zh uses 万 for ten thousands)."""
    n = int(n or 0)
    lang = str(get_locale() or "en")
    if lang.startswith("zh") and n >= 10_000:
        return f"{format_decimal(round(n / 10_000, 1))}万"
    if n >= 1_000_000:
        return f"{format_decimal(round(n / 1_000_000, 1))}M"
    if n >= 1_000:
        return f"{format_decimal(round(n / 1_000, 1))}k"
    return format_decimal(n)


def human_size(n: int | None) -> str:
    n = float(n or 0)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{format_decimal(round(n, 1))} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n} TB"


def ago(ts: dt.datetime | None) -> str:
    if ts is None:
        return ""
    return format_timedelta(ts - utcnow(), add_direction=True, granularity="minute", threshold=1.0)


def when(ts: dt.datetime | None) -> str:
    return format_datetime(ts.replace(tzinfo=dt.timezone.utc), "medium") if ts else ""


def safe_next(target: str | None) -> str:
    """Only same-site relative redirects (no open redirect through ?next=)."""
    from urllib.parse import urlsplit

    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def url_with(**changes) -> str:
    """This page's URL with some query parameters replaced (None removes one): shareable filters."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    args += [(k, v) for k, v in changes.items() if v not in (None, "")]
    return request.path + ("?" + urlencode(args) if args else "")


def url_without(key: str, value: str) -> str:
    """This page's URL without one value of a repeated parameter (one filter chip's ×), back on page 1."""
    args = [(k, v) for k, v in request.args.items(multi=True) if not (k == key and v == value) and k != "p"]
    return request.path + ("?" + urlencode(args) if args else "")


def page_numbers(page: int, last: int, around: int = 2) -> list[int | None]:
    """The page numbers (from 0) a numbered pager shows: the first, the last, `around` either side of
    the current one, and None where a run is left out (shown as an ellipsis)."""
    shown = sorted({0, last, *range(max(0, page - around), min(last, page + around) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def repo_path(repo) -> str:
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo.repo_type]
    return f"/{prefix}{repo.repo_id}"


def qrev(rev: str) -> str:
    return quote(rev, safe="")


def init_app(app: Flask, languages: dict[str, str]) -> None:
    app.jinja_env.filters.update(count=human_count, size=human_size, ago=ago, when=when, qrev=qrev,
                                 qpath=lambda p: quote(p))
    app.jinja_env.globals.update(url_with=url_with, url_without=url_without, page_numbers=page_numbers,
                                 repo_path=repo_path, LANGUAGES=languages)
    app.jinja_env.globals["safe_html"] = lambda html: Markup(html)  # only for sanitizer output
    app.jinja_env.tests["tree_tag"] = is_tree_tag

    @app.context_processor
    def _inject():
        return {"me": g.get("principal"), "locale": str(get_locale() or "en"), "unread": _unread}


def _unread() -> int:
    """Unread notifications of the signed-in user (called from the header only)."""
    from ..wiring import services

    me = g.get("principal")
    if me is None:
        return 0
    return services().community.unread_count(me)
