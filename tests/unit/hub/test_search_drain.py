"""The search writer's drain lets go of the writer lock between slices (hub/search_writer.py).

Under a steady stream of changes the queue never empties; a drain that waited for it to empty kept
the writer lock, and `modelhub index rebuild` (which needs it) waited forever — seen as a 120 s
timeout of test_search_writers' rebuild test on a loaded machine."""

from __future__ import annotations

import os

import pytest

import hub.search_writer as hub_search
from hub import create_app
from hub.wiring import services_of


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("MODELHUB_"):
            monkeypatch.delenv(name)
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "TESTING": True, "SEARCH_WORKER": False})
    yield app
    services_of(app).registry.close()


def test_a_drain_applies_one_slice_then_lets_go(app, monkeypatch):
    reg = services_of(app).registry
    service = services_of(app).search
    service.drain_once()  # whatever start-up queued
    reg.accounts.create_user("drainer", "pw-drainer-12345")
    owner = reg.accounts.principal_for_name("drainer")
    for i in range(5):
        reg.repos.create(owner, "model", "drainer", f"r{i}")
    monkeypatch.setattr(hub_search, "BATCH", 2)
    monkeypatch.setattr(hub_search, "DRAIN_SLICE_SECONDS", 0.0)  # every slice is over after its first batch
    applied = [service.drain_once() for _ in range(12)]
    # one batch a call (two queue entries: a new repository is queued twice), so several calls
    assert sum(applied) == 5 and max(applied) < 5 and applied[-1] == 0, applied
    with service.index.writer_lock(blocking=False) as free:
        assert free  # nothing kept it
    got = {h.pk for h in service.search(hub_search.SearchRequest(text="", limit=10, viewer=None)).hits}
    assert len(got) == 5


def test_a_search_catches_up_with_a_few_changes_but_not_a_bulk_job(app, monkeypatch):
    """Read-your-writes (SearchService.catch_up): a search applies the changes logged before it;
    behind more than CATCH_UP_MAX_BACKLOG of them (an import) it answers at once, and the writer
    thread catches up."""
    reg = services_of(app).registry
    service = services_of(app).search
    service.drain_once()
    reg.accounts.create_user("catcher", "pw-catcher-12345")
    owner = reg.accounts.principal_for_name("catcher")

    def found() -> set[str]:
        return {h.repo_id for h in service.search(hub_search.SearchRequest(text="", limit=50, viewer=None)).hits}

    reg.repos.create(owner, "model", "catcher", "one")
    assert found() == {"catcher/one"}  # nobody drained: the search did
    monkeypatch.setattr(hub_search, "CATCH_UP_MAX_BACKLOG", 3)
    for i in range(5):
        reg.repos.create(owner, "model", "catcher", f"bulk{i}")
    assert found() == {"catcher/one"}  # a bulk change is not waited for
    service.drain_once()
    assert len(found()) == 6
