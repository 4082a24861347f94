"""Engine and sessions: SQLite by default (WAL, foreign keys), any SQLAlchemy URL otherwise.

Every service call opens its own short session. Writers use ``session(write=True)``: on SQLite
that starts the transaction with ``BEGIN IMMEDIATE``, so that two gunicorn workers never deadlock
upgrading a read transaction to a write one (SQLite would answer "database is locked" at once
instead of waiting on the busy timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        if url.startswith("postgresql"):
            # The driver is an optional extra: say how to get it, not just which import failed.
            raise RuntimeError(f"A PostgreSQL database needs its driver ({e.name} is not installed): "
                               "python -m pip install 'modelhub[postgres]'") from e
        raise


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """Owns the engine and hands out sessions; the only place that knows about transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if url.startswith("sqlite") else self.engine
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session committed on success and rolled back on any exception."""
        s = (self._write if write else self._read)()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
