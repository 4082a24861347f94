"""The index follows changes made through the HF client: new cards, deletions, renames, branches."""

from __future__ import annotations

import time

import pytest

from tests.support.search import SEARCH_BACKENDS, hub_on_backend
from tests.support.waiting import poll

DEADLINE = 10.0
USER = "incruser"


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def hub(request, hub, tmp_path_factory):
    """The session hub (whoosh), then a server of its own on the postgres backend: each test runs on both."""
    yield from hub_on_backend(request.param, hub, tmp_path_factory)


def found(hub, q: str) -> list[str]:
    r = hub.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["id"] for h in r.json()["hits"]]


def quick(hub, q: str) -> list[str]:
    r = hub.get("/api/quicksearch", params={"q": q})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["models"]]


@pytest.fixture(scope="module")
def api(hub):
    return hub.api(hub.users(USER)[0])


def card(word: str) -> bytes:
    return f"---\nlicense: apache-2.0\n---\n# Model\n\nThis card mentions {word} once.\n".encode()


def test_a_new_card_is_searchable_within_the_deadline(hub, api):
    rid = f"{USER}/incr-new-card"
    api.create_repo(rid)
    started = time.monotonic()
    api.upload_file(path_or_fileobj=card("incrfreshword"), path_in_repo="README.md", repo_id=rid)
    got = poll(lambda: found(hub, "incrfreshword"), lambda v: v == [rid])
    assert got == [rid]
    assert time.monotonic() - started < DEADLINE


def test_a_changed_card_replaces_the_old_words(hub, api):
    rid = f"{USER}/incr-edit"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=card("incroldword"), path_in_repo="README.md", repo_id=rid)
    assert poll(lambda: found(hub, "incroldword"), lambda v: v == [rid]) == [rid]
    api.upload_file(path_or_fileobj=card("incrnewword"), path_in_repo="README.md", repo_id=rid)
    assert poll(lambda: found(hub, "incrnewword"), lambda v: v == [rid]) == [rid]
    assert found(hub, "incroldword") == []  # the same document, updated: no stale copy


def test_deleting_the_card_file_empties_the_document(hub, api):
    rid = f"{USER}/incr-rm-card"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=card("incrremovedword"), path_in_repo="README.md", repo_id=rid)
    assert poll(lambda: found(hub, "incrremovedword"), lambda v: v == [rid]) == [rid]
    api.delete_file("README.md", repo_id=rid)
    assert poll(lambda: found(hub, "incrremovedword"), lambda v: v == []) == []
    assert quick(hub, "incr-rm-card") == [rid]  # the repository itself is still there


def test_a_deleted_repo_disappears(hub, api):
    rid = f"{USER}/incr-doomed"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=card("incrdoomedword"), path_in_repo="README.md", repo_id=rid)
    assert poll(lambda: found(hub, "incrdoomedword"), lambda v: v == [rid]) == [rid]
    api.delete_repo(rid)
    assert found(hub, "incrdoomedword") == []  # at once: hits are checked against the database
    r = poll(lambda: hub.get("/api/search", params={"q": "incrdoomedword"}).json(), lambda b: b["total"] == 0)
    assert (r["total"], r["hits"], r["facets"]["author"]) == (0, [], {})
    assert poll(lambda: quick(hub, "incr-doomed"), lambda v: v == []) == []
    assert list(api.list_models(search="incrdoomedword")) == []


def test_a_moved_repo_is_found_under_its_new_name_only(hub, api):
    old, new = f"{USER}/incr-before-move", f"{USER}/incr-after-move"
    api.create_repo(old)
    api.upload_file(path_or_fileobj=card("incrmovedword"), path_in_repo="README.md", repo_id=old)
    assert poll(lambda: found(hub, "incrmovedword"), lambda v: v == [old]) == [old]
    api.move_repo(old, new)
    assert poll(lambda: found(hub, "incrmovedword"), lambda v: v == [new]) == [new]
    assert poll(lambda: quick(hub, "incr-after-move"), lambda v: v == [new]) == [new]
    assert quick(hub, "incr-before-move") == []
    assert found(hub, "incr before move") == []  # the old name's words are gone
    assert found(hub, "incr after move") == [new]
    assert [m.id for m in api.list_models(search="incrmovedword")] == [new]
    r = hub.get("/api/search", params={"q": "incrmovedword"}).json()
    assert r["total"] == 1 and r["facets"]["author"] == {USER: 1}


def test_a_commit_on_another_branch_does_not_change_the_card(hub, api):
    rid = f"{USER}/incr-branches"
    api.create_repo(rid)
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=card("incrdevword"), path_in_repo="README.md", repo_id=rid, revision="dev")
    api.upload_file(path_or_fileobj=card("incrmainword"), path_in_repo="README.md", repo_id=rid)
    # queued changes are applied in order: once main's card is in, dev's commit has been seen too
    assert poll(lambda: found(hub, "incrmainword"), lambda v: v == [rid]) == [rid]
    assert found(hub, "incrdevword") == []
