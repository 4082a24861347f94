"""Two hub nodes on one database (issue #19): each `modelhub serve` keeps its own search index
(its own DATA_DIR) and follows the one search log with its own cursor, so a model created through
either node is found by search on the other within two seconds.

Needs PostgreSQL (MODELHUB_TEST_DATABASE_URL): one SQLite file shared by two servers is not a
deployment of several nodes. The nodes do not share a repositories folder either: search needs only
the database (a card the other node cannot read is indexed without its text)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, select

from models_registry.tables import SearchCursor
from tests.support.live import LiveHub, start_two_nodes
from tests.support.waiting import poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("MODELHUB_TEST_DATABASE_URL"),
                       reason="MODELHUB_TEST_DATABASE_URL is not set: two nodes need a shared PostgreSQL database"),
]

DEADLINE = 2.0
USER = "twonodes"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> tuple[LiveHub, LiveHub]:
    a, b = start_two_nodes(tmp_path_factory)
    yield a, b
    b.stop()
    a.stop()


def found(hub: LiveHub, q: str) -> list[str]:
    r = hub.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["hits"]]


@pytest.fixture(scope="module")
def token(nodes) -> str:
    return nodes[0].users(USER)[0]  # one database: the token works on both nodes


@pytest.mark.parametrize("made_on, searched_on", [(0, 1), (1, 0)], ids=["a-to-b", "b-to-a"])
def test_a_model_made_on_one_node_is_found_on_the_other(nodes, token, made_on, searched_on):
    maker, searcher = nodes[made_on], nodes[searched_on]
    word = ("harbourlantern", "quietmeadow")[made_on]  # unlike each other: no fuzzy or prefix match
    rid = f"{USER}/{word}"
    maker.api(token).create_repo(rid)
    got = poll(lambda: found(searcher, word), lambda v: v == [rid], timeout=DEADLINE)
    assert got == [rid], f"not searchable on the other node within {DEADLINE} s"
    assert poll(lambda: found(maker, word), lambda v: v == [rid]) == [rid]


def test_each_node_has_its_own_cursor(nodes):
    a, b = nodes
    ids = {(h.data_dir / "search" / "node-id").read_text().strip() for h in (a, b)}
    assert len(ids) == 2
    engine = create_engine(a.env["MODELHUB_DATABASE_URL"])
    try:
        with engine.connect() as c:
            rows = set(c.scalars(select(SearchCursor.node_id)))
    finally:
        engine.dispose()
    assert rows == ids
