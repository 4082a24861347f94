"""Search test helpers: an index in a folder, locked as the hub locks it (hub/search_writer.py), and
servers on each search backend (MODELHUB_SEARCH) for the search tests parametrized over them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from models_registry.locks import LockDir
from search_index import SearchIndex
from tests.support.live import LiveHub, start_hub

# whoosh always; postgres when MODELHUB_TEST_DATABASE_URL names a PostgreSQL server (skipped otherwise).
SEARCH_BACKENDS = ["whoosh", "postgres"]
# The session hub's settings (tests/conftest.py), for a postgres-backed twin the same tests can drive.
SESSION_HUB_ENV = {"MODELHUB_PAGE_SIZE": "7", "MODELHUB_TREE_PAGE_SIZE": "5",
                   "MODELHUB_POSTS_PER_MINUTE": "1000", "MODELHUB_POSTS_PER_HOUR": "10000"}


def index_at(root: Path | str) -> SearchIndex:
    return SearchIndex(root, LockDir(Path(root)))


def backend_of(hub: LiveHub) -> str:
    return hub.env.get("MODELHUB_SEARCH") or "whoosh"


def hub_on_backend(backend: str, shared: LiveHub | None, tmp_path_factory,
                   env: dict[str, str] | None = None) -> Iterator[LiveHub]:
    """A server whose search runs on `backend`: `shared` (the session hub, whoosh) as it is, or a
    server of its own with MODELHUB_SEARCH=postgres on a fresh PostgreSQL database, stopped after."""
    if backend == "whoosh" and shared is not None:
        yield shared
        return
    if backend == "postgres" and not os.environ.get("MODELHUB_TEST_DATABASE_URL"):
        pytest.skip("MODELHUB_TEST_DATABASE_URL is not set: the postgres search backend needs PostgreSQL")
    h = start_hub(tmp_path_factory.mktemp(f"hub-{backend}"), workers=2,
                  env={**SESSION_HUB_ENV, **(env or {}), "MODELHUB_SEARCH": backend})
    try:
        yield h
    finally:
        h.stop()


@contextmanager
def index_paused(hub: LiveHub) -> Iterator[None]:
    """Hold the index's writer lock, as a long rebuild does: the server's updates wait (queued).
    whoosh: the flock in the node's search folder; postgres: the cluster's advisory lock."""
    if backend_of(hub) == "postgres":
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from models_registry.locks import PgLocks
        from search_index.postgres import WRITER_LOCK

        engine = create_engine(hub.env["MODELHUB_DATABASE_URL"], poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with PgLocks(engine).hold(WRITER_LOCK):
                yield
        finally:
            engine.dispose()
        return
    with LockDir(hub.data_dir / "search").hold("writer"):  # as SearchIndex.writer_lock takes it
        yield


@contextmanager
def empty_index(backend: str, folder: Path) -> Iterator:
    """An empty index on `backend`: whoosh in `folder`, or postgres in a fresh, migrated PostgreSQL
    database of MODELHUB_TEST_DATABASE_URL's server (the test is skipped without one)."""
    if backend == "whoosh":
        yield index_at(folder)
        return
    from hub import migrate
    from models_registry.db import Database
    from models_registry.locks import PgLocks
    from search_index.postgres import PostgresIndex
    from tests.support.databases import database_url

    db = Database(database_url("postgres"))
    locks = PgLocks.for_database(db)
    try:
        migrate.upgrade(db)
        yield PostgresIndex(db.engine, locks)
    finally:
        locks.engine.dispose()
        db.dispose()


def backend_of_index(index) -> str:
    return "whoosh" if isinstance(index, SearchIndex) else "postgres"
