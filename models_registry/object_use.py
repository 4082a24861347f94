"""Marking stored objects as used: what every writer does before a ref names them, so that garbage
collection (storage_gc.py, whose docstring gives the protocol) never frees bytes a commit counts on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .clock import utcnow
from .tables import LfsObject, XetXorb

USE_REFRESH = dt.timedelta(hours=1)


def object_lock(oid: str) -> str:
    """The lock an upload and the sweep take around one object's row and bytes (striped: 256 names)."""
    return f"lfs-object-{oid[:2]}"


def xorb_lock(h: str) -> str:
    """As `object_lock`, for a xorb's row and bytes."""
    return f"xet-xorb-{h[:2]}"


def mark_used(s: Session, oids: Iterable[str]) -> set[str]:
    """Mark objects used now, in the caller's transaction; the ones whose row is gone (collected)."""
    return _mark(s, LfsObject, LfsObject.oid, oids)


def mark_xorbs_used(s: Session, hashes: Iterable[str]) -> set[str]:
    """As `mark_used`, for xorbs a new Xet file is made of (or a dedup answer names)."""
    return _mark(s, XetXorb, XetXorb.hash, hashes)


def _mark(s: Session, table, key, values: Iterable[str]) -> set[str]:  # type: ignore[no-untyped-def]
    wanted = set(values)
    if not wanted:
        return set()
    s.execute(update(table).where(key.in_(wanted)).values(used_at=utcnow()))
    return wanted - set(s.scalars(select(key).where(key.in_(wanted))))


def unused_since(col_used, col_created, cutoff: dt.datetime):  # type: ignore[no-untyped-def]
    """SQL: not used (or, never used, not created) since `cutoff`."""
    return func.coalesce(col_used, col_created) < cutoff
