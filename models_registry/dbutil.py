"""Small portable SQL helpers (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_ignore(s: Session, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: for content-addressed rows that any worker may add first."""
    if not rows:
        return
    name = s.get_bind().dialect.name
    if name == "postgresql":
        stmt = pg_insert(model).values(list(rows)).on_conflict_do_nothing()
    elif name == "sqlite":
        stmt = sqlite_insert(model).values(list(rows)).on_conflict_do_nothing()
    else:  # pragma: no cover - other dialects: row by row
        for row in rows:
            if s.get(model, tuple(row[c.name] for c in model.__table__.primary_key.columns)) is None:
                s.add(model(**row))
        return
    s.execute(stmt)


def upsert_increment(s: Session, model: type, keys: dict[str, Any], column: str, by: int = 1) -> None:
    """INSERT a row with `column` = by, or add `by` to it if the row exists (one atomic statement)."""
    name = s.get_bind().dialect.name
    values = {**keys, column: by}
    if name in ("postgresql", "sqlite"):
        ins = (pg_insert if name == "postgresql" else sqlite_insert)(model).values(**values)
        col = getattr(model, column)
        s.execute(ins.on_conflict_do_update(index_elements=list(keys), set_={column: col + by}))
        return
    row = s.get(model, tuple(keys.values()))  # pragma: no cover
    if row is None:
        s.add(model(**values))
    else:
        setattr(row, column, getattr(row, column) + by)
