"""Listing repositories at a million rows: pages that cost the same at any depth.

An offset page makes the database walk and discard every row before it: page 500 of a listing
sorted by downloads reads 10,000 index entries to return 20. A cursor instead names the last row
of the previous page by its sort value and id, and the next page seeks straight to the row after
it. Each sort has an index of (repo_type, column, id) (ix_repositories_type_*), and ties are broken
by id in the sort's own direction, so that one index serves the order, the seek and both
directions (scanned forwards or backwards). `skip`/`offset` stay accepted, as on the Hub.

The cursor is opaque to clients (base64 of a small JSON array) and checked on the way in: a cursor
made for another sort, or bytes that are no cursor, are a clear 400, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import ColumnElement

from .errors import BadRequest
from .permissions import Principal
from .records import RepoView
from .tables import Repository, RepoTag

SORT_COLUMNS: dict[str, InstrumentedAttribute] = {
    "lastModified": Repository.last_modified,
    "last_modified": Repository.last_modified,
    "createdAt": Repository.created_at,
    "created_at": Repository.created_at,
    "downloads": Repository.downloads,
    "likes": Repository.likes,
    "trendingScore": Repository.trending_score,
    "trending_score": Repository.trending_score,
}
# The Hub's "id" sort (and no sort at all): by repo id, which the (repo_type, namespace, name)
# unique index already orders.
NAME_SORTS = ("", "id")


@dataclass(frozen=True)
class RepoFilter:
    """What a listing may be narrowed by; every tag must match (an indexed EXISTS each)."""

    author: str | None = None
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    gated: bool | None = None
    ids: list[int] | None = None
    search: str | None = None


def sort_column(sort: str | None) -> InstrumentedAttribute | None:
    """The column of a sort key; None for the order by name. Unknown keys are a BadRequest."""
    if (sort or "") in NAME_SORTS:
        return None
    col = SORT_COLUMNS.get(sort or "")
    if col is None:
        raise BadRequest(f"Unknown sort key {sort!r} (use downloads, likes, lastModified, createdAt or "
                         "trendingScore)")
    return col


def _key_of(view: RepoView, sort: str | None) -> list[Any]:
    col = sort_column(sort)
    if col is None:
        return [view.namespace, view.name, view.id]
    value = getattr(view, col.key)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    return [value, view.id]


def cursor_after(view: RepoView, sort: str | None, ascending: bool) -> str:
    """The cursor of the page that starts after `view` in this order."""
    raw = json.dumps([sort or "", bool(ascending), *_key_of(view, sort)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str | None, ascending: bool) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("Invalid cursor: pass the `cursor` of a `Link: rel=\"next\"` header as it was given")
    if not isinstance(data, list) or len(data) < 4 or data[0] != (sort or "") or data[1] is not bool(ascending):
        raise BadRequest("Invalid cursor: it was made for another sort order (keep `sort` and `direction` "
                         "as they were on the first page)")
    key = data[2:]
    col = sort_column(sort)
    try:
        if col is None:
            ns, name, pk = key
            if not (isinstance(ns, str) and isinstance(name, str) and isinstance(pk, int)):
                raise TypeError
            return [ns, name, pk]
        value, pk = key
        if not isinstance(pk, int):
            raise TypeError
        if col.key in ("last_modified", "created_at"):
            return [dt.datetime.fromisoformat(value), pk]
        if col.key == "trending_score":
            return [float(value), pk]
        if not isinstance(value, int):
            raise TypeError
        return [value, pk]
    except (TypeError, ValueError):
        raise BadRequest("Invalid cursor: pass the `cursor` of a `Link: rel=\"next\"` header as it was given")


def visible(q: Select, principal: Principal | None) -> Select:
    """`q` narrowed to the repositories `principal` may see (private ones: their own namespaces)."""
    if principal is None:
        return q.where(Repository.private.is_(False))
    if principal.is_admin:
        return q
    mine = [principal.name, *principal.org_roles]
    return q.where(or_(Repository.private.is_(False), Repository.namespace.in_(mine)))


# A filter matching fewer rows than this drives the query (its rows are fetched, then sorted);
# one matching more is checked row by row while the sort's index is walked, which then finds a page
# after about page_size x N / matches rows. Both cost a few milliseconds at a million rows on either
# side of this bound (walk ~ 20 x 1,000,000 / 3,000 probes; sort <= 3,000 rows).
DRIVING_BOUND = 3000


@dataclass(frozen=True)
class Driver:
    """The filter the database should start from: ("tag" | "task" | "author", value)."""

    kind: str
    value: str


class _Unindexed(ColumnElement):
    """A column SQLite must not use an index for (`+col`, its documented way): ordering a driven
    page by it makes SQLite start from the driving filter instead of walking the sort's index.
    Elsewhere the plain column (PostgreSQL chooses from its statistics)."""

    inherit_cache = True

    def __init__(self, col: InstrumentedAttribute) -> None:
        self.col = col
        self.type = col.type


@compiles(_Unindexed)
def _unindexed_default(element: _Unindexed, compiler, **kw) -> str:
    return compiler.process(element.col, **kw)


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler, **kw) -> str:
    return "+" + compiler.process(element.col, **kw)


def _filter_rows(d: Driver) -> Select:
    if d.kind == "tag":
        return select(RepoTag.repo_id).where(RepoTag.tag == d.value)
    # No repo_type here (the page's query checks it): SQLite would read it through a sort index.
    col = Repository.pipeline_tag if d.kind == "task" else Repository.namespace
    return select(Repository.id).where(col == d.value)


def choose_driver(session: Session, f: RepoFilter) -> Driver | None:
    """The most selective filter when it is rare enough to start from (counted up to DRIVING_BOUND:
    a bounded count reads at most that many index entries). PostgreSQL plans this well from its own
    statistics; SQLite knows only averages, and walks the sort's index even for a tag nobody has."""
    candidates = [Driver("tag", t) for t in dict.fromkeys(t for t in f.tags if t)]
    if f.pipeline_tag:
        candidates.append(Driver("task", f.pipeline_tag))
    if f.author:
        candidates.append(Driver("author", f.author))
    best: tuple[int, Driver] | None = None
    for d in candidates:
        n = session.scalar(select(func.count()).select_from(_filter_rows(d).limit(DRIVING_BOUND).subquery()))
        if n < DRIVING_BOUND and (best is None or n < best[0]):
            best = (n, d)
    return best[1] if best else None


def _filtered(q: Select, f: RepoFilter, driver: Driver | None) -> Select:
    if driver is not None:  # first, so that the database starts from it (the filter stays below too)
        q = q.where(Repository.id.in_(_filter_rows(driver)))
    if f.author:
        q = q.where(Repository.namespace == f.author)
    if f.ids is not None:
        q = q.where(Repository.id.in_(f.ids))
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where((Repository.namespace + "/" + Repository.name).ilike(pattern, escape="\\"))
    if f.pipeline_tag:
        q = q.where(Repository.pipeline_tag == f.pipeline_tag)
    if f.gated is not None:
        q = q.where(Repository.gated.is_not(None) if f.gated else Repository.gated.is_(None))
    for tag in dict.fromkeys(t for t in f.tags if t):
        q = q.where(exists().where(RepoTag.repo_id == Repository.id, RepoTag.tag == tag))
    return q


def list_query(repo_type: str, principal: Principal | None, f: RepoFilter, *, sort: str | None = None,
               ascending: bool = False, cursor: str | None = None, offset: int = 0, limit: int = 100,
               driver: Driver | None = None) -> Select:
    """The SELECT of one page: visible to `principal`, filtered, ordered, after `cursor` or `offset`
    (`driver`: from choose_driver)."""
    kind = Repository.repo_type if driver is None else _Unindexed(Repository.repo_type)
    q = _filtered(visible(select(Repository).where(kind == repo_type), principal), f, driver)
    col = sort_column(sort)
    keys = [Repository.namespace, Repository.name, Repository.id] if col is None else [col, Repository.id]
    forward = ascending or not sort  # the Hub's default direction is descending, but no sort is by name
    if cursor:
        after = _decode(cursor, sort, ascending)
        q = q.where(tuple_(*keys) > tuple_(*after) if forward else tuple_(*keys) < tuple_(*after))
    if driver is not None:
        keys = [_Unindexed(k) for k in keys]
    q = q.order_by(*(k.asc() if forward else k.desc() for k in keys))
    if offset:
        q = q.offset(offset)
    return q.limit(limit)
