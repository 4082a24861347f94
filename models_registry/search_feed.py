"""The search feed: every change to an indexed row is queued in the same transaction that makes it.

A SQLAlchemy `after_flush` listener adds a search_queue row whenever a Repository is created,
changed or deleted, so the index can never miss an update that was committed (and never hears of
one that was rolled back). The single index writer (in `hub`) drains the queue in id order and
deletes entries only after the index has committed them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from .db import Database
from .tables import Repository, SearchQueueEntry

_installed = False


def _on_flush(session: Session, _ctx) -> None:
    keys: set[tuple[str, int]] = set()
    for obj in session.new:
        if isinstance(obj, Repository):
            keys.add(("repo", obj.id))
    for obj in session.dirty:
        if isinstance(obj, Repository) and session.is_modified(obj, include_collections=False):
            keys.add(("repo", obj.id))
    for obj in session.deleted:
        if isinstance(obj, Repository):
            keys.add(("repo", obj.id))
    extra = session.info.pop("search_keys", None)
    if extra:
        keys |= extra
    if keys:
        session.execute(insert(SearchQueueEntry), [{"kind": k, "key": v} for k, v in sorted(keys)])


def install() -> None:
    """Register the listener (once per process) on every Session."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _on_flush)
        _installed = True


def touch(session: Session, kind: str, key: int) -> None:
    """Queue something the listener cannot see (e.g. a discussion, once that issue lands)."""
    session.info.setdefault("search_keys", set()).add((kind, key))


@dataclass(frozen=True)
class Pending:
    ids: list[int]
    repos: list[int]
    discussions: list[int]


class SearchFeed:
    def __init__(self, db: Database) -> None:
        self.db = db
        install()

    def pending(self, limit: int = 500) -> Pending | None:
        with self.db.session() as s:
            rows = s.execute(select(SearchQueueEntry.id, SearchQueueEntry.kind, SearchQueueEntry.key)
                             .order_by(SearchQueueEntry.id).limit(limit)).all()
        if not rows:
            return None
        repos = list(dict.fromkeys(k for _, kind, k in rows if kind == "repo"))
        discussions = list(dict.fromkeys(k for _, kind, k in rows if kind == "discussion"))
        return Pending([i for i, _, _ in rows], repos, discussions)

    def ack(self, ids: list[int]) -> None:
        """Delete exactly the entries that were applied. Not "id <= max": on PostgreSQL a transaction
        holding a lower id can commit after higher ids were read, and its entry must survive."""
        with self.db.session(write=True) as s:
            for i in range(0, len(ids), 1000):
                s.execute(delete(SearchQueueEntry).where(SearchQueueEntry.id.in_(ids[i:i + 1000])))

    def queued_ids(self) -> list[int]:
        with self.db.session() as s:
            return list(s.scalars(select(SearchQueueEntry.id)))

    def backlog(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(SearchQueueEntry)) or 0)

    def all_repo_ids(self) -> list[int]:
        with self.db.session() as s:
            return list(s.scalars(select(Repository.id).order_by(Repository.id)))
