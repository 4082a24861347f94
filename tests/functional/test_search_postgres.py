"""The PostgreSQL search backend (MODELHUB_SEARCH=postgres) where it differs from whoosh: one index
in the database for every node (one cursor, 'postgres', in the search log), `modelhub index
rebuild` loading new tables while search answers from the old ones, and a clear refusal to start
on a database that is not PostgreSQL. What both backends share (relevance, Chinese, typos,
prefixes, facets, visibility, read-your-writes) is tested by the test_search_*.py modules,
parametrized over the backend."""

from __future__ import annotations

import os
import re
import threading
import time

import httpx2
import pytest
from sqlalchemy import create_engine, select

from models_registry.tables import SearchCursor
from tests.support.live import LiveHub, start_hub, start_two_nodes
from tests.support.waiting import poll

needs_postgres = pytest.mark.skipif(not os.environ.get("MODELHUB_TEST_DATABASE_URL"),
                                    reason="MODELHUB_TEST_DATABASE_URL is not set: this backend needs PostgreSQL")
USER = "pgsearch"
PG = {"MODELHUB_SEARCH": "postgres"}


def search(hub: LiveHub, q: str, **params) -> dict:
    r = hub.get("/api/search", params={"q": q, "limit": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()


def ids(body: dict) -> list[str]:
    return [h["id"] for h in body["hits"]]


@pytest.mark.parametrize("env, says", [
    ({"MODELHUB_SEARCH": "postgres", "MODELHUB_DATABASE_URL": ""}, "MODELHUB_SEARCH=postgres"),
    ({"MODELHUB_SEARCH": "elastic"}, "MODELHUB_SEARCH='elastic'"),
], ids=["postgres-on-sqlite", "unknown-backend"])
def test_a_search_backend_the_database_cannot_hold_stops_the_start(tmp_path, monkeypatch, env, says):
    monkeypatch.delenv("MODELHUB_TEST_DATABASE_URL", raising=False)  # the embedded SQLite database
    with pytest.raises(RuntimeError) as failed:
        start_hub(tmp_path, workers=1, env=env)
    assert says in str(failed.value)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> tuple[LiveHub, LiveHub]:
    if not os.environ.get("MODELHUB_TEST_DATABASE_URL"):
        pytest.skip("MODELHUB_TEST_DATABASE_URL is not set: this backend needs PostgreSQL")
    # A cluster as deployed: one database, one repositories folder (any node's writer indexes any
    # node's change, and reads its card from there).
    shared = {**PG, "MODELHUB_REPOS_DIR": str(tmp_path_factory.mktemp("pg-repos"))}
    a, b = start_two_nodes(tmp_path_factory, "pg-node", env=shared)
    yield a, b
    b.stop()
    a.stop()


@pytest.fixture(scope="module")
def token(nodes) -> str:
    return nodes[0].users(USER)[0]


@needs_postgres
def test_two_nodes_share_one_index_and_one_cursor(nodes, token):
    a, b = nodes
    for maker, searcher, word in ((a, b, "copperkestrel"), (b, a, "velvetorchard")):
        rid = f"{USER}/{word}"
        maker.api(token).create_repo(rid)
        # read-your-writes on the other node: its search applies the log before answering
        assert ids(search(searcher, word)) == [rid]
    engine = create_engine(a.env["MODELHUB_DATABASE_URL"])
    try:
        with engine.connect() as c:
            assert set(c.scalars(select(SearchCursor.node_id))) == {"postgres"}
    finally:
        engine.dispose()


@needs_postgres
def test_rebuild_while_searching_and_writing(nodes, token):
    a, b = nodes
    api = a.api(token)
    made = {}
    for k in range(6):
        rid, word = f"{USER}/rebuild-{k}", f"rebuildword{k}"
        api.create_repo(rid)
        api.upload_file(path_or_fileobj=f"# r\n\npgrebuildshared {word} 重建索引\n".encode(), path_in_repo="README.md",
                        repo_id=rid)
        made[word] = rid
    before = poll(lambda: search(b, "pgrebuildshared"), lambda body: body["total"] == len(made))
    stop = threading.Event()
    seen: list[tuple[int, int]] = []
    written: dict[str, str] = {}
    errors: list[BaseException] = []

    def query_loop() -> None:
        with httpx2.Client() as session:
            while not stop.is_set():
                try:
                    r = session.get(f"{b.url}/api/search", params={"q": "pgrebuildshared", "limit": 100}, timeout=30)
                    seen.append((r.status_code, r.json().get("total", -1) if r.status_code == 200 else -1))
                except Exception as e:  # reported below
                    errors.append(e)

    def write_loop() -> None:
        k = 0
        while not stop.is_set():
            word = f"pgduringword{k}"
            rid = f"{USER}/{word}"
            try:
                api.create_repo(rid)
            except Exception as e:  # reported below
                errors.append(e)
                return
            written[word] = rid
            k += 1

    threads = [threading.Thread(target=query_loop), threading.Thread(target=write_loop)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        done = a.cli("index", "rebuild", "--procs", "2")
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert "building the indexes of the new tables" in done.stderr and "swapping the new tables in" in done.stderr
    assert re.search(r"indexed \d+ repositories", done.stderr), done.stderr
    bad = [s for s in seen if s != (200, len(made))]
    assert seen and bad == [], (bad[:5], a.log()[-3000:], b.log()[-3000:])
    after = search(b, "pgrebuildshared")
    assert sorted(ids(after)) == sorted(ids(before)) and after["facets"] == before["facets"]
    assert ids(search(a, "rebuildword3")) == [made["rebuildword3"]]
    assert ids(search(b, "重建")) and set(ids(search(b, "重建"))) == set(made.values())
    assert written
    for word, rid in written.items():  # nothing written during the rebuild was lost
        # first: its own name (the others, one typo away, follow)
        assert poll(lambda: ids(search(b, word))[:1], lambda v: v == [rid]) == [rid], word
