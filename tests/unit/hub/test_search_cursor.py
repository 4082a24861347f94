"""A node's search index and its cursor in the search log (hub/search_writer.py).

The index has a name of its own (`node-id` in its folder); without a cursor in the log (a new
index, or a node the other nodes forgot while it was away, whose entries they pruned) it is rebuilt
from the database, at start-up or on its next drain."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import select

from hub import create_app
from hub.search_writer import SearchRequest, SearchService
from hub.wiring import services_of
from models_registry.clock import utcnow
from models_registry.search_feed import FORGET_AFTER, SearchFeed
from models_registry.tables import SearchCursor


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("MODELHUB_"):
            monkeypatch.delenv(name)
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "SEARCH_WORKER": False})
    yield app
    services_of(app).registry.close()


def found(service: SearchService) -> set[int]:
    return {h.pk for h in service.search(SearchRequest(text="", limit=50, viewer=None)).hits}


def test_the_node_id_is_made_once_and_kept_in_the_index_folder(app):
    service = services_of(app).search
    node_id = (service.index.root / "node-id").read_text().strip()
    assert node_id and service.feed.node_id == node_id
    again = SearchService(services_of(app).registry, service.index.root)  # another worker, a restart
    assert again.feed.node_id == node_id


def test_a_new_index_rebuilds_once_then_follows(app):
    service = services_of(app).search
    assert service.feed.cursor() is None
    assert service.rebuild(only_if_stale=True) == 0  # rebuilt (an empty database): it has a cursor now
    assert service.feed.cursor() is not None
    gen = os.readlink(service.index.current_link)
    assert service.rebuild(only_if_stale=True) == 0 and os.readlink(service.index.current_link) == gen


def test_a_forgotten_node_rebuilds_its_index(app):
    reg, service = services_of(app).registry, services_of(app).search
    service.drain_once()  # a new index: rebuilt, with a cursor
    reg.accounts.create_user("away", "pw-away-12345")
    owner = reg.accounts.principal_for_name("away")
    before = reg.repos.create(owner, "model", "away", "before").id
    service.drain_once()
    assert found(service) == {before}
    # The node goes away; meanwhile a repository is made, and another node, eight days later,
    # forgets it and prunes the log that held the change.
    while_away = reg.repos.create(owner, "model", "away", "while-away").id
    later = SearchFeed(reg.db, "other-node", clock=lambda: utcnow() + FORGET_AFTER + dt.timedelta(days=1))
    later.begin_rebuild()
    later.end_rebuild()
    later.prune()
    with reg.db.session() as s:
        assert list(s.scalars(select(SearchCursor.node_id))) == ["other-node"]
    assert service.feed.cursor() is None
    gen = os.readlink(service.index.current_link)
    service.drain_once()  # told to rebuild
    assert os.readlink(service.index.current_link) != gen
    assert found(service) == {before, while_away}
    assert service.feed.cursor() is not None and service.feed.backlog() == 0
