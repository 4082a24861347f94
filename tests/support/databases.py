"""Which database a test runs on, for tests parametrized over the embedded SQLite database and
PostgreSQL."""

from __future__ import annotations

import os

import pytest


def database_url(backend: str) -> str | None:
    """For tests run on each database: None for the embedded SQLite one, or a fresh PostgreSQL
    database of MODELHUB_TEST_DATABASE_URL's server (the test is skipped, saying why, without one)."""
    if backend == "sqlite":
        return None
    server = os.environ.get("MODELHUB_TEST_DATABASE_URL")
    if not server:
        pytest.skip("MODELHUB_TEST_DATABASE_URL is not set: this run uses the embedded SQLite database")
    from tests.support.live import _fresh_database_url

    return _fresh_database_url(server)
