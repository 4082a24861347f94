"""The search log and its per-node cursors (models_registry/search_feed.py), on a real migrated
database: SQLite, and PostgreSQL when MODELHUB_TEST_DATABASE_URL is set (a database per test).

Several nodes follow one log, each with its own cursor; an entry committed late with an id lower
than one already read is still delivered; a gap that never fills is given up after GAP_SECONDS;
pruning deletes only what every live node has passed, and a forgotten node is told to rebuild."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select, text

from models_registry import search_feed
from models_registry.db import Database
from models_registry.registry import Registry
from models_registry.search_feed import GAP_SECONDS, Cursor, Gap, SearchFeed
from models_registry.tables import SearchCursor, SearchQueueEntry

START = dt.datetime(2026, 12, 6, 12, 0, 0)


class Clock:
    """A clock the test moves by hand (the feed's injectable clock)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def registry(registry_on_each_database) -> Registry:
    return registry_on_each_database


@pytest.fixture
def db(registry) -> Database:
    return registry.db


@pytest.fixture
def clock() -> Clock:
    return Clock()


def is_pg(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


def node(db: Database, name: str, clock: Clock) -> SearchFeed:
    """A node whose index was (re)built just now: its cursor stands at the end of the log."""
    feed = SearchFeed(db, name, clock)
    feed.begin_rebuild()
    feed.end_rebuild()
    return feed


def log(db: Database, *ids: int) -> None:
    """Entries with these exact ids (key = id), as the listener would write them in late order."""
    with db.session(write=True) as s:
        s.execute(insert(SearchQueueEntry), [{"id": i, "kind": "repo", "key": i} for i in ids])
        if is_pg(db):  # entries written later without an id continue above these
            s.execute(text("SELECT setval('search_queue_id_seq', (SELECT max(id) FROM search_queue))"))


def follow(feed: SearchFeed, limit: int = 500, batches: int = 100) -> list[int]:
    """What the node applies now (as the writer drains: read, apply, advance, until complete)."""
    cursor = feed.cursor()
    assert cursor is not None
    applied: list[int] = []
    for _ in range(batches):
        pending = feed.read(cursor, limit)
        applied += pending.repos
        cursor = feed.advance(pending)
        if pending.complete:
            break
    return applied


def logged(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(SearchQueueEntry.id).order_by(SearchQueueEntry.id)))


def cursors(db: Database) -> dict[str, int]:
    with db.session() as s:
        return dict(s.execute(select(SearchCursor.node_id, SearchCursor.applied_through)).all())


# ---- following ----------------------------------------------------------------------------------
def test_two_nodes_each_see_every_entry(registry, clock):
    a, b = node(registry.db, "node-a", clock), node(registry.db, "node-b", clock)
    registry.accounts.create_user("feeder", "pw-feeder-12345")
    owner = registry.accounts.principal_for_name("feeder")
    made = {registry.repos.create(owner, "model", "feeder", f"r{i}").id for i in range(3)}
    assert a.backlog() > 0 and b.backlog() > 0
    assert set(follow(a)) == made
    assert b.backlog() > 0  # a applying them changed nothing for b
    assert set(follow(b)) == made
    assert (a.backlog(), b.backlog()) == (0, 0)
    assert follow(a) == [] and follow(b) == []
    assert logged(registry.db)  # applied, not deleted: the log is pruned, not consumed


def test_a_late_commit_with_a_lower_id_is_still_delivered(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 2, 4)  # 3 is taken by a transaction that has not committed yet
    assert follow(a) == [1, 2, 4]
    cursor = a.cursor()
    assert cursor == Cursor(4, (Gap(3, 3, START),))
    assert cursor.applied_through == 2  # the cursor is not past what is not applied
    assert cursors(db)["node-a"] == 2
    assert a.backlog() == 0
    clock.move(seconds=GAP_SECONDS - 1)
    log(db, 3)  # it commits
    assert a.backlog() == 1
    assert follow(a) == [3]
    assert a.cursor() == Cursor(4, ())
    assert cursors(db)["node-a"] == 4
    b = node(db, "node-b", clock)  # a node arriving later starts at the end
    log(db, 5)
    assert follow(b) == [5] and follow(a) == [5]


def test_a_read_cut_by_its_limit_gives_up_no_gap_it_did_not_look_at(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 5)
    assert follow(a) == [1, 5]  # gap 2..4
    clock.move(seconds=GAP_SECONDS + 1)
    log(db, 2, 6)
    pending = a.read(a.cursor(), limit=1)  # reads 2 only: nothing above it was looked at
    assert pending.ids == [2] and not pending.complete
    assert pending.cursor == Cursor(5, (Gap(3, 4, START),))  # overdue, but not seen empty: kept
    pending = a.read(a.advance(pending), limit=10)
    assert pending.ids == [6] and pending.complete
    assert pending.cursor == Cursor(6, ())  # now looked at, still empty: given up


def test_a_gap_that_never_fills_is_given_up_after_gap_seconds(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 3)  # 2 was rolled back
    assert follow(a) == [1, 3]
    assert cursors(db)["node-a"] == 1
    clock.move(seconds=GAP_SECONDS - 1)
    assert follow(a) == []
    assert cursors(db)["node-a"] == 1  # still waiting for it
    clock.move(seconds=1)
    assert follow(a) == []
    assert a.cursor() == Cursor(3, ())
    assert cursors(db)["node-a"] == 3


def test_gaps_of_a_read_are_kept_in_order_and_fill_piecewise(db, clock):
    a = node(db, "node-a", clock)
    log(db, 10)
    assert follow(a) == [10]
    assert a.cursor().gaps == (Gap(1, 9, START),)
    log(db, 4, 7)
    clock.move(seconds=5)
    assert follow(a) == [4, 7]
    assert a.cursor().gaps == (Gap(1, 3, START), Gap(5, 6, START), Gap(8, 9, START))
    clock.move(seconds=GAP_SECONDS)
    assert follow(a) == [] and a.cursor() == Cursor(10, ())


# ---- PostgreSQL: real concurrent transactions -------------------------------------------------
def pg_only(db: Database) -> None:
    if not is_pg(db):
        pytest.skip("ids become visible out of order on PostgreSQL only (SQLite serialises writers)")


def begin_entry(db: Database, key: int):
    """A transaction that has written its entry (taking the next id) and not committed yet."""
    conn = db.engine.connect()
    tx = conn.begin()
    entry_id = conn.scalar(insert(SearchQueueEntry).values(kind="repo", key=key).returning(SearchQueueEntry.id))
    return conn, tx, entry_id


def test_postgresql_first_started_transaction_committing_last(db, clock):
    pg_only(db)
    a, b = node(db, "node-a", clock), node(db, "node-b", clock)
    first, first_tx, first_id = begin_entry(db, 101)
    second, second_tx, second_id = begin_entry(db, 102)
    assert first_id < second_id
    try:
        second_tx.commit()
        assert follow(a) == [102]  # the higher id is visible, the lower one not yet
        assert a.cursor().applied_through == first_id - 1
        first_tx.commit()
    finally:
        first.close()
        second.close()
    assert follow(a) == [101]
    assert a.cursor() == Cursor(second_id, ())
    assert sorted(follow(b)) == [101, 102]


def test_postgresql_rolled_back_insert_is_given_up(db, clock):
    pg_only(db)
    a = node(db, "node-a", clock)
    doomed, doomed_tx, doomed_id = begin_entry(db, 201)
    kept, kept_tx, kept_id = begin_entry(db, 202)
    try:
        kept_tx.commit()
        assert follow(a) == [202]
        doomed_tx.rollback()
    finally:
        doomed.close()
        kept.close()
    clock.move(seconds=GAP_SECONDS - 1)
    assert follow(a) == [] and a.cursor().applied_through == doomed_id - 1
    clock.move(seconds=1)
    assert follow(a) == [] and a.cursor() == Cursor(kept_id, ())


# ---- rebuilding ---------------------------------------------------------------------------------
def test_a_rebuild_starts_from_the_log_as_it_was_before_it_read_the_database(db, clock):
    log(db, 1, 2, 4)  # 3 is in flight while the rebuild reads the database
    x = SearchFeed(db, "node-x", clock)
    assert x.cursor() is None and x.backlog() == 3  # no cursor: nothing known to be applied
    started = x.begin_rebuild()
    assert started == Cursor(4, (Gap(3, 3, START),))
    assert x.cursor() is None  # rebuilding: an interrupted rebuild is not a cursor to follow
    x.end_rebuild()
    assert x.cursor() == started
    log(db, 3, 5)
    assert follow(x) == [3, 5]


def test_a_rebuild_sees_holes_above_the_lowest_cursor_only(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 2, 3, 4)
    follow(a)
    clock.move(seconds=1)
    a.prune()  # deletes 1..3 (the newest stays)
    log(db, 6)  # 5 in flight
    x = SearchFeed(db, "node-x", clock)
    assert x.begin_rebuild() == Cursor(6, (Gap(5, 5, clock.now),))  # not 1..3: they are pruned


def test_a_running_rebuild_holds_back_pruning(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 2, 3, 4, 5, 6)
    follow(a)
    x = SearchFeed(db, "node-x", clock)
    x.begin_rebuild()  # reads the database now, for a while
    log(db, 7, 8)
    follow(a)
    clock.move(minutes=2)
    a.prune()
    assert logged(db) == [7, 8]  # not in x's rebuild: kept for it (a alone would keep only 8)
    x.end_rebuild()
    assert follow(x) == [7, 8]


# ---- pruning ------------------------------------------------------------------------------------
def test_pruning_deletes_only_what_every_live_node_passed(db, clock):
    a, b, c = (node(db, n, clock) for n in ("node-a", "node-b", "node-c"))
    log(db, *range(1, 11))
    assert follow(a) == list(range(1, 11))
    b.advance(b.read(b.cursor(), limit=5))  # b applied 1..5
    c.advance(c.read(c.cursor(), limit=3))  # c applied 1..3
    clock.move(days=1)
    assert a.prune() == 3
    assert logged(db) == list(range(4, 11))
    clock.move(days=6)
    b.prune()  # b is alive (c was last seen 7 days ago: not forgotten yet)
    assert set(cursors(db)) == {"node-a", "node-b", "node-c"}
    assert logged(db) == list(range(4, 11))
    clock.move(days=1)
    assert a.prune() == 2  # c forgotten (8 days); b was seen a day ago and stands at 5
    assert set(cursors(db)) == {"node-a", "node-b"}
    assert logged(db) == list(range(6, 11))
    assert c.cursor() is None  # the forgotten node is told to rebuild
    assert follow(b) == list(range(6, 11))
    assert b.prune() == 4
    assert logged(db) == [10]  # the newest stays: SQLite would hand its id out again
    with db.session(write=True) as s:
        s.execute(insert(SearchQueueEntry).values(kind="repo", key=99))
    assert logged(db) == [10, 11]
    assert follow(a) == [99] and follow(b) == [99]


def test_pruning_keeps_what_a_gap_may_still_bring(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 2, 4, 5)
    follow(a)
    clock.move(seconds=1)
    a.prune()
    assert logged(db) == [4, 5]  # applied_through is 2: 4 and 5 stay until 3 is settled
    clock.move(seconds=GAP_SECONDS)
    follow(a)
    a.prune()
    assert logged(db) == [5]


def test_maintain_prunes_at_most_once_a_minute(db, clock):
    a = node(db, "node-a", clock)
    log(db, 1, 2, 3)
    follow(a)
    clock.move(seconds=search_feed.MAINTAIN_SECONDS - 1)
    a.maintain(a.cursor())
    assert logged(db) == [1, 2, 3]
    clock.move(seconds=1)
    cursor = a.maintain(a.cursor())
    assert logged(db) == [3] and cursor.last_seen_at == clock.now
    with db.session() as s:
        assert s.scalar(select(func.max(SearchCursor.last_seen_at))) == clock.now
