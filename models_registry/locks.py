"""Named exclusive locks that die with their holder: repository writes, migrations, mirror syncs.

Two kinds, one interface (`Locks`):

- `LockDir`: flock on files under one directory. Enough for one machine (several gunicorn workers),
  and what the embedded SQLite default uses.
- `PgLocks`: PostgreSQL session-level advisory locks, for several hub nodes sharing one PostgreSQL
  database and one repository store: a flock on one node means nothing to the others.

`open_locks` picks one from the database. Both behave the same way for callers: a hold waits, a
`try_hold` never waits, a holder that dies releases what it held, and two holds of one name exclude
each other even within one process or thread (they do not nest). Callers rely on that last point:
`GitStore.writing` probes `<key>-incoming` with `try_hold` to learn whether a `sync pull` runs, and
that pull may be the very caller (it holds `<key>-incoming` around its own `writing`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from .db import Database

log = logging.getLogger(__name__)


class Locks(Protocol):
    """Named exclusive locks that die with their holder; two holds of one name never nest."""

    def hold(self, name: str) -> AbstractContextManager[None]: ...

    def try_hold(self, name: str) -> AbstractContextManager[bool]: ...


class LockDir:
    """fcntl locks on files under one directory. Released by the kernel if a worker dies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        path = self.root / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def try_hold(self, name: str) -> Iterator[bool]:
        """Like `hold`, without waiting: yields False (and holds nothing) if another holder has it.

        For work that must run once at a time but need not be queued (a second `sync run` skips a
        repository the first is syncing). flock locks belong to the open file, so two holders in
        one process exclude each other too."""
        path = self.root / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


# blake2b's personalization keeps our keys apart from any other user of advisory locks in the same
# database (who would have to hash with this very tag to meet them); see `advisory_key`.
KEY_NAMESPACE = b"modelhub.locks"
APPLICATION_NAME = "modelhub-locks"  # how lock connections show in pg_stat_activity
# Per lock connection: wait as long as flock would (an operator's statement_timeout or lock_timeout
# must not turn a push queued behind another into an error, nor idle timeouts drop a held lock);
# and let the server notice within about a minute that a holder's machine vanished (the default,
# the OS's two hours, would freeze that repository's writes meanwhile). Keepalives are answered
# by the holder's kernel, so a holder busy for hours keeps its lock. Settings the server does not
# know (idle_session_timeout before PostgreSQL 14) are skipped: pg_settings lists only real ones.
SESSION_SETTINGS = {
    "statement_timeout": "0", "lock_timeout": "0", "idle_in_transaction_session_timeout": "0",
    "idle_session_timeout": "0",
    "tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3",
}
_LOCK = text("SELECT pg_advisory_lock(:key)")
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def advisory_key(name: str) -> int:
    """The advisory lock key of a name: stable across processes, nodes and Python versions.

    One bigint, not the two-int4 form with a class id: that form would leave 32 bits for the
    name, and a collision is not harmless here. A sync pull holds `<key>-incoming` while it waits
    for `<key>`; were both one number, the pull would wait on itself forever (two holds never
    nest). At 64 bits the odds are nil. Other users of advisory locks are kept apart by the
    hash's personalization (and PostgreSQL keeps two-int4 keys apart from bigint ones anyway)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=KEY_NAMESPACE).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLocks:
    """PostgreSQL session-level advisory locks, one connection per hold.

    A hold owns its connection for its whole duration: that makes two holds of one name exclude
    each other (one session would take an advisory lock twice, nesting, unlike flock), and ties the
    lock to the connection, which the server ends when the holder dies. A connection goes back to
    its pool only after its unlock is confirmed; otherwise it is invalidated (closed, never reused),
    and closing it releases whatever it held.

    `for_database` gives holds an engine of their own without a pool (NullPool): a held lock
    occupies a connection for as long as a push or a pull takes, so sharing the database's pool
    could starve ordinary queries, and a bounded pool of its own would make a hold on one
    repository wait for a slot behind holds queued on another (or fail on the pool's timeout).
    The price is one new connection per hold, small beside a commit's fsyncs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def for_database(cls, database: Database) -> PgLocks:
        """Locks in `database`, on an engine (and connections) of their own; see the class docstring."""
        engine = create_engine(database.engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                               connect_args={"application_name": APPLICATION_NAME})
        # AUTOCOMMIT: a holder is "idle", not "idle in transaction" holding a snapshot for minutes.
        event.listen(engine, "connect", _configure_session)
        return cls(engine)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._locked(name, wait=True):
            yield

    @contextmanager
    def try_hold(self, name: str) -> Iterator[bool]:
        """Like `hold`, without waiting: yields False (and holds nothing) if another holder has it."""
        with self._locked(name, wait=False) as got:
            yield got

    @contextmanager
    def _locked(self, name: str, wait: bool) -> Iterator[bool]:
        key = advisory_key(name)
        conn = self.engine.connect()
        clean = False  # True once the session holds nothing of ours: only then may it be reused
        try:
            if wait:
                conn.execute(_LOCK, {"key": key})
                got = True
            else:
                got = bool(conn.scalar(_TRY_LOCK, {"key": key}))
            if not got:
                clean = True
                yield False
                return
            try:
                yield True
            finally:
                clean = _unlock(conn, name, key)
        finally:
            if not clean:
                conn.invalidate()
            conn.close()


def _unlock(conn: Connection, name: str, key: int) -> bool:
    """Release `key`; False if that could not be confirmed (the caller then drops the connection,
    which releases it). An error here is logged, not raised: the holder's work is done, and an
    exception from that work, if any, must not be hidden behind this one."""
    try:
        released = conn.scalar(_UNLOCK, {"key": key})
    except Exception:
        log.exception("releasing lock %r failed: dropping its connection releases it", name)
        return False
    if not released:
        log.error("lock %r was not held by its connection when released", name)
    return bool(released)


def _configure_session(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    """Apply SESSION_SETTINGS in one round trip (a connection is opened per hold)."""
    cur = dbapi_conn.cursor()
    try:
        cur.execute("SELECT set_config(s.name, v.value, false) FROM pg_settings s"
                    " JOIN unnest(%s::text[], %s::text[]) AS v(name, value) ON s.name = v.name",
                    (list(SESSION_SETTINGS), list(SESSION_SETTINGS.values())))
    finally:
        cur.close()
    dbapi_conn.commit()  # session settings outlive it; no-op in autocommit


def open_locks(database: Database, lock_dir: Path) -> LockDir | PgLocks:
    """The repository locks for a database: advisory locks when it is PostgreSQL (every node sees
    them), flock under `lock_dir` otherwise (one machine: the embedded SQLite default)."""
    if database.engine.dialect.name == "postgresql":
        return PgLocks.for_database(database)
    return LockDir(lock_dir)
