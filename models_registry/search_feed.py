"""The search feed: an ordered log of what the search indexes must re-read, which every hub node
follows with a cursor of its own.

Writing. A SQLAlchemy `after_flush` listener adds a search_queue entry whenever a Repository is
created, changed or deleted, in the same transaction as the change, so an index can never miss an
update that was committed (and never hears of one that was rolled back). Applying an entry does not
delete it: several nodes, each with its own index, read the same log.

Reading. Each index has a row in search_cursors, written only by its own writer (which holds the
index's writer lock). Ids come from a sequence, but they do not become visible in id order: on
PostgreSQL a transaction that took a lower id can commit after a higher id was read (on SQLite
writers are serialised, so ids appear in order). "Everything above the highest id read" would skip
such a late commit, so a cursor keeps two things:

- read_through, the highest id read, and
- gaps: the ranges of ids below read_through that were not visible when read, each with the time
  it was first noticed.

A read asks for the entries above read_through *and* those in the gaps. An id that a read skips
becomes a gap; a gap is re-read on every drain until its entry appears (it is applied then) or
GAP_SECONDS have passed since it was noticed: no transaction here lasts that long, so the insert was
rolled back and the id is given up. applied_through, the id below which everything was applied or
given up, is just below the lowest gap (or read_through without gaps). The cursor is saved after
the index committed a batch, so a crash re-applies at most that batch: at-least-once is fine (the
index upserts); an entry never applied is the bug this avoids.

Pruning. Once a minute (MAINTAIN_SECONDS) a node's writer records that it is alive (last_seen_at),
forgets the nodes not seen for FORGET_AFTER (deletes their cursors, so a node gone for good does not
keep the log forever) and deletes the entries at or below the lowest applied_through of the nodes
left. The newest entry is never deleted: SQLite (the table has no AUTOINCREMENT) gives a new row
max(id) + 1, and an id handed out again below a cursor would be skipped by it.

No cursor, rebuild. A node that has no cursor of its own (a new index, a node back after it was
forgotten, a rebuild that was interrupted) cannot know what its index misses: it rebuilds the index
from the database (hub/search_writer.py). `begin_rebuild` records, before the rebuild reads the
database, the log as it is then: read_through = its highest id, and as gaps the ids not visible yet
above the lowest cursor of any node (below that every node has applied or given up every id, and
the log may be pruned). It saves that cursor at once, marked `rebuilding`, so that no node prunes
entries the rebuild has not covered while it runs; `end_rebuild` clears the mark once the new index
is live. An interrupted rebuild leaves the mark, and the node rebuilds again.
"""

from __future__ import annotations

import datetime as dt
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, ColumnElement, cast, delete, event, func, insert, or_, select, update
from sqlalchemy.orm import Session

from .clock import utcnow
from .db import Database
from .tables import Repository, SearchCursor, SearchQueueEntry

log = logging.getLogger(__name__)

# How long an id may stay invisible below ids already read before it is taken for a rolled-back
# insert: longer than any transaction that writes the log (a change to a repository row).
GAP_SECONDS = 60.0
# A node not seen for this long is forgotten: its cursor no longer holds back pruning, and when it
# comes back it rebuilds its index.
FORGET_AFTER = dt.timedelta(days=7)
# How often a node's writer says it is alive and prunes the log.
MAINTAIN_SECONDS = 60.0
# Gap ranges re-read by one query; the rest wait for the next read (never given up unread). SQLite
# parses a long OR chain as nested expressions, and refuses more than 1000 levels.
MAX_GAP_RANGES = 100

Clock = Callable[[], dt.datetime]

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


# ---- cursors: plain values, moved by pure functions -------------------------------------------
@dataclass(frozen=True)
class Gap:
    """Ids lo..hi (both included), below read_through, not visible when first noticed."""

    lo: int
    hi: int
    noticed: dt.datetime


@dataclass(frozen=True)
class Cursor:
    """Where one node stands in the log (see the module docstring)."""

    read_through: int
    gaps: tuple[Gap, ...] = ()
    last_seen_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def applied_through(self) -> int:
        """Every id up to this one was applied or given up."""
        return self.gaps[0].lo - 1 if self.gaps else self.read_through


def _without(gap: Gap, found: Sequence[int]) -> Iterator[Gap]:
    """The pieces of `gap` left once the ids `found` (sorted) are taken out of it."""
    lo = gap.lo
    for i in found[bisect_left(found, gap.lo):bisect_right(found, gap.hi)]:
        if i > lo:
            yield Gap(lo, i - 1, gap.noticed)
        lo = i + 1
    if lo <= gap.hi:
        yield Gap(lo, gap.hi, gap.noticed)


def _holes(after: int, found: Sequence[int], now: dt.datetime) -> Iterator[Gap]:
    """The ids between `after` and the last of `found` (sorted, all above it) that are not in it."""
    prev = after
    for i in found:
        if i > prev + 1:
            yield Gap(prev + 1, i - 1, now)
        prev = i


def next_cursor(cursor: Cursor, found: Sequence[int], checked: int, horizon: int | None, now: dt.datetime) -> Cursor:
    """The cursor once the entries `found` (sorted ids) are applied.

    The read asked for the ids above read_through and in the first `checked` gaps; when it was cut
    by its limit, it looked at nothing above `horizon` (None: it saw everything it asked for).
    A gap piece the read looked at and still found empty is given up after GAP_SECONDS."""
    gaps: list[Gap] = []
    for n, gap in enumerate(cursor.gaps):
        for piece in _without(gap, found):
            looked = n < checked and (horizon is None or piece.hi <= horizon)
            if looked and (now - piece.noticed).total_seconds() >= GAP_SECONDS:
                log.info("search feed: ids %d..%d never appeared in %.0f s, taken for rolled back",
                         piece.lo, piece.hi, GAP_SECONDS)
                continue
            gaps.append(piece)
    newer = [i for i in found if i > cursor.read_through]
    gaps.extend(_holes(cursor.read_through, newer, now))
    return Cursor(newer[-1] if newer else cursor.read_through, tuple(gaps), cursor.last_seen_at)


def _gaps_to_json(gaps: Sequence[Gap]) -> list[list]:
    return [[g.lo, g.hi, g.noticed.isoformat()] for g in gaps]


def _gaps_from_json(raw: list[list]) -> tuple[Gap, ...]:
    return tuple(Gap(int(lo), int(hi), dt.datetime.fromisoformat(noticed)) for lo, hi, noticed in raw)


def _in_gaps(gaps: Sequence[Gap]) -> list[ColumnElement[bool]]:
    return [SearchQueueEntry.id.between(g.lo, g.hi) for g in gaps]


@dataclass(frozen=True)
class Pending:
    """One read of the log: what to apply, and where the node stands once it is applied."""

    ids: list[int]
    repos: list[int]
    discussions: list[int]
    cursor: Cursor
    moved: bool  # the cursor changed (entries read, gaps noticed, filled or given up): save it
    complete: bool  # the read reached the end of the log: nothing more to read now


# ---- the feed ---------------------------------------------------------------------------------
class SearchFeed:
    """The log as one node (`node_id`, one search index) follows it."""

    def __init__(self, db: Database, node_id: str, clock: Clock = utcnow) -> None:
        self.db = db
        self.node_id = node_id
        self.clock = clock  # injectable: tests move time to give gaps up and to forget nodes
        install()

    def cursor(self) -> Cursor | None:
        """This node's cursor; None when it has none to follow (a new index, a forgotten node, an
        interrupted rebuild): the index must then be rebuilt."""
        with self.db.session() as s:
            row = s.get(SearchCursor, self.node_id)
            if row is None or row.rebuilding:
                return None
            return Cursor(row.read_through, _gaps_from_json(row.gaps), row.last_seen_at)

    def read(self, cursor: Cursor, limit: int = 500) -> Pending:
        """The next entries after `cursor` in id order (late commits in its gaps included)."""
        checked = cursor.gaps[:MAX_GAP_RANGES]
        E = SearchQueueEntry
        with self.db.session() as s:
            rows = s.execute(select(E.id, E.kind, E.key)
                             .where(or_(E.id > cursor.read_through, *_in_gaps(checked)))
                             .order_by(E.id).limit(limit)).all()
        ids = [i for i, _, _ in rows]
        complete = len(rows) < limit
        after = next_cursor(cursor, ids, len(checked), None if complete else ids[-1], self.clock())
        repos = list(dict.fromkeys(k for _, kind, k in rows if kind == "repo"))
        discussions = list(dict.fromkeys(k for _, kind, k in rows if kind == "discussion"))
        return Pending(ids, repos, discussions, after, after != cursor, complete)

    def advance(self, pending: Pending) -> Cursor:
        """Save where this node stands once `pending` is in its index (call after the index commit).

        A cursor deleted meanwhile (the node was forgotten) stays deleted: the next `cursor()` says
        None, and the node rebuilds."""
        if pending.moved:
            c = pending.cursor
            with self.db.session(write=True) as s:
                s.execute(update(SearchCursor).where(SearchCursor.node_id == self.node_id).values(
                    read_through=c.read_through, applied_through=c.applied_through, gaps=_gaps_to_json(c.gaps)))
        return pending.cursor

    def newest(self) -> int:
        """The id of the newest change logged (0: none), which a reader that wants to see every
        write committed before it asked waits for (SearchService.catch_up)."""
        with self.db.session() as s:
            return int(s.scalar(select(func.max(SearchQueueEntry.id))) or 0)

    def backlog(self) -> int:
        """Entries this node has not applied yet (all of them while it has no cursor)."""
        cursor = self.cursor()
        E = SearchQueueEntry
        with self.db.session() as s:
            if cursor is None:
                return int(s.scalar(select(func.count()).select_from(E)) or 0)
            n = int(s.scalar(select(func.count()).where(E.id > cursor.read_through)) or 0)
            for i in range(0, len(cursor.gaps), MAX_GAP_RANGES):
                part = _in_gaps(cursor.gaps[i:i + MAX_GAP_RANGES])
                n += int(s.scalar(select(func.count()).where(or_(*part))) or 0)
            return n

    # ---- rebuilding ---------------------------------------------------------------------------
    def begin_rebuild(self) -> Cursor:
        """Record the log as it is now, before a rebuild reads the database (see the module
        docstring), as this node's cursor marked `rebuilding`; returns it."""
        now = self.clock()
        with self.db.session(write=True) as s:
            floor = s.scalar(select(func.min(SearchCursor.applied_through))) or 0
            top, holes = self._holes_above(s, floor)
            cursor = Cursor(top, tuple(Gap(lo, hi, now) for lo, hi in holes), now)
            s.execute(delete(SearchCursor).where(SearchCursor.node_id == self.node_id))
            s.add(SearchCursor(node_id=self.node_id, read_through=cursor.read_through,
                               applied_through=cursor.applied_through, gaps=_gaps_to_json(cursor.gaps),
                               rebuilding=True, last_seen_at=now, created_at=now))
        return cursor

    @staticmethod
    def _holes_above(s: Session, floor: int) -> tuple[int, list[tuple[int, int]]]:
        """The highest id above `floor` (or floor) and the ranges of ids between them not visible,
        from one statement: one snapshot on PostgreSQL, even at READ COMMITTED."""
        E = SearchQueueEntry
        prev = func.lag(E.id, 1, cast(floor, BigInteger)).over(order_by=E.id)
        seen = select(E.id.label("id"), prev.label("prev"), func.max(E.id).over().label("top")) \
            .where(E.id > floor).subquery()
        rows = s.execute(select(seen.c.id, seen.c.prev, seen.c.top)
                         .where(or_(seen.c.id - seen.c.prev > 1, seen.c.id == seen.c.top))
                         .order_by(seen.c.id)).all()
        top = rows[0][2] if rows else floor
        return top, [(p + 1, i - 1) for i, p, _ in rows if i - p > 1]

    def end_rebuild(self) -> None:
        """The rebuilt index is live: its cursor may be followed."""
        with self.db.session(write=True) as s:
            s.execute(update(SearchCursor).where(SearchCursor.node_id == self.node_id)
                      .values(rebuilding=False, last_seen_at=self.clock()))

    # ---- pruning ------------------------------------------------------------------------------
    def maintain(self, cursor: Cursor) -> Cursor:
        """prune() if this node last did it (or last said it was alive) MAINTAIN_SECONDS ago."""
        now = self.clock()
        if cursor.last_seen_at is not None and (now - cursor.last_seen_at).total_seconds() < MAINTAIN_SECONDS:
            return cursor
        self.prune()
        return Cursor(cursor.read_through, cursor.gaps, now)

    def prune(self) -> int:
        """Say this node is alive, forget the nodes not seen for FORGET_AFTER, and delete the entries
        every node left has passed (but the newest: see the module docstring); returns how many."""
        now = self.clock()
        C, E = SearchCursor, SearchQueueEntry
        with self.db.session(write=True) as s:
            s.execute(update(C).where(C.node_id == self.node_id).values(last_seen_at=now))
            stale = C.last_seen_at < now - FORGET_AFTER
            gone = list(s.scalars(select(C.node_id).where(stale)))
            if gone:  # the condition again: a node seen since the select (PostgreSQL) is kept
                log.warning("search feed: forgetting nodes not seen for %s: %s", FORGET_AFTER, ", ".join(gone))
                s.execute(delete(C).where(C.node_id.in_(gone), stale))
            floor = s.scalar(select(func.min(C.applied_through)))
            top = s.scalar(select(func.max(E.id)))
            if floor is None or top is None:
                return 0
            return int(s.execute(delete(E).where(E.id <= floor, E.id < top)).rowcount or 0)

    def all_repo_ids(self) -> list[int]:
        with self.db.session() as s:
            return list(s.scalars(select(Repository.id).order_by(Repository.id)))
