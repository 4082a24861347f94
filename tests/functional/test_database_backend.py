"""The PostgreSQL run of CI really runs on PostgreSQL (and not silently on the SQLite default)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

TEST_DATABASE_URL = os.environ.get("MODELHUB_TEST_DATABASE_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL,
                       reason="MODELHUB_TEST_DATABASE_URL is not set: this run uses the embedded SQLite database"),
]


def test_live_server_runs_on_postgresql(hub):
    r = hub.get("/api/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "postgresql", body
    # The server got a fresh database of its own on the test server, not the maintenance database.
    served = make_url(hub.env["MODELHUB_DATABASE_URL"])
    base = make_url(TEST_DATABASE_URL)
    assert (served.host, served.port) == (base.host, base.port)
    assert served.database.startswith("mh_test_")
