"""Private repositories in search: /api/search, list_models(search=...) and /api/quicksearch.

A private repository is found by its owner and the members of its organization only; making it
public shows it to everybody, making a public one private hides it at once (the API re-checks every
hit against the database, so the index catching up a moment later changes nothing for others).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.search import SEARCH_BACKENDS, hub_on_backend, index_paused
from tests.support.waiting import poll

OWNER, OTHER, MEMBER, ORG = "visowner", "visother", "vismember", "visorg"


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def hub(request, hub, tmp_path_factory):
    """The session hub (whoosh), then a server of its own on the postgres backend: each test runs on both."""
    yield from hub_on_backend(request.param, hub, tmp_path_factory)


def make_org(hub, org: str, owner: str, members: list[str]) -> None:
    """Create an organization with members, in one subprocess (as hub.users does for users)."""
    script = (
        "import json, sys\n"
        "from hub import create_app\n"
        "from hub.wiring import services_of\n"
        "app = create_app({'SEARCH_WORKER': False})\n"
        "reg = services_of(app).registry\n"
        "org, owner, members = json.loads(sys.argv[1])\n"
        "reg.accounts.create_org(org, owner)\n"
        "for m in members:\n"
        "    reg.accounts.set_member(org, m, 'read')\n"
        "reg.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps([org, owner, members])], env=hub.env,
                   capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture(scope="module")
def people(hub):
    tokens = dict(zip([OWNER, OTHER, MEMBER], hub.users(OWNER, OTHER, MEMBER)))
    make_org(hub, ORG, OWNER, [MEMBER])
    tokens[None] = None
    return tokens


def search_ids(hub, token, q: str) -> tuple[int, list[str], dict]:
    r = hub.get("/api/search", token, params={"q": q})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["total"], [h["id"] for h in body["hits"]], body["facets"]


def list_ids(hub, token, q: str) -> list[str]:
    return [m.id for m in hub.api(token).list_models(search=q)]


def quick_ids(hub, token, q: str) -> list[str]:
    r = hub.get("/api/quicksearch", token, params={"q": q})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()["models"]]


def make_repo(hub, token: str, repo_id: str, word: str, private: bool) -> None:
    api = hub.api(token)
    api.create_repo(repo_id, private=private)
    api.upload_file(path_or_fileobj=f"---\nlicense: mit\nlanguage: [zh]\n---\n# {word}\n\n{word} 私有模型\n".encode(),
                    path_in_repo="README.md", repo_id=repo_id)


def assert_hidden(hub, token, word: str, name_prefix: str) -> None:
    total, ids, facets = search_ids(hub, token, word)
    assert (total, ids) == (0, [])
    assert all(counts == {} for counts in facets.values()), facets  # nothing about it leaks through counts
    assert list_ids(hub, token, word) == []
    assert quick_ids(hub, token, name_prefix) == []


def assert_found(hub, token, word: str, name_prefix: str, repo_id: str) -> None:
    total, ids, _ = search_ids(hub, token, word)
    assert (total, ids) == (1, [repo_id])
    assert list_ids(hub, token, word) == [repo_id]
    assert quick_ids(hub, token, name_prefix) == [repo_id]


def test_private_user_repo(hub, people):
    rid, word = f"{OWNER}/visprivuser", "visprivuserword"
    make_repo(hub, people[OWNER], rid, word, private=True)
    # the owner finds it once indexed
    assert poll(lambda: search_ids(hub, people[OWNER], word)[1], lambda v: v == [rid]) == [rid]
    assert_found(hub, people[OWNER], word, "visprivuser", rid)
    for token in (None, people[OTHER], people[MEMBER]):  # org membership gives nothing on a user's repos
        assert_hidden(hub, token, word, "visprivuser")


def test_private_org_repo(hub, people):
    rid, word = f"{ORG}/visprivorg", "visprivorgword"
    make_repo(hub, people[OWNER], rid, word, private=True)
    assert poll(lambda: search_ids(hub, people[MEMBER], word)[1], lambda v: v == [rid]) == [rid]
    assert_found(hub, people[MEMBER], word, "visprivorg", rid)  # a read member
    assert_found(hub, people[OWNER], word, "visprivorg", rid)  # the org's admin
    for token in (None, people[OTHER]):
        assert_hidden(hub, token, word, "visprivorg")


def test_moving_a_private_repo_into_the_org_shows_it_to_members(hub, people):
    old, new, word = f"{OWNER}/vismoveme", f"{ORG}/vismoveme", "vismovedword"
    make_repo(hub, people[OWNER], old, word, private=True)
    assert poll(lambda: search_ids(hub, people[OWNER], word)[1], lambda v: v == [old]) == [old]
    assert_hidden(hub, people[MEMBER], word, "vismoveme")
    hub.api(people[OWNER]).move_repo(old, new)
    got = poll(lambda: search_ids(hub, people[MEMBER], word)[1], lambda v: v == [new])
    assert got == [new]
    assert_found(hub, people[MEMBER], word, "vismoveme", new)
    total, ids, facets = search_ids(hub, people[OWNER], word)
    assert (total, ids, facets["author"]) == (1, [new], {ORG: 1})
    for token in (None, people[OTHER]):
        assert_hidden(hub, token, word, "vismoveme")


def test_making_it_public_shows_it_to_everybody(hub, people):
    rid, word = f"{OWNER}/vistopublic", "vistopublicword"
    make_repo(hub, people[OWNER], rid, word, private=True)
    assert poll(lambda: search_ids(hub, people[OWNER], word)[1], lambda v: v == [rid]) == [rid]
    assert_hidden(hub, None, word, "vistopublic")
    hub.api(people[OWNER]).update_repo_settings(rid, private=False)
    got = poll(lambda: search_ids(hub, None, word)[1], lambda v: v == [rid])
    assert got == [rid], "a repository made public did not appear in search within the deadline"
    for token in (None, people[OTHER]):
        assert_found(hub, token, word, "vistopublic", rid)


def test_making_it_private_hides_it_at_once(hub, people):
    rid, word = f"{OWNER}/vistoprivate", "vistoprivateword"
    make_repo(hub, people[OWNER], rid, word, private=False)
    assert poll(lambda: search_ids(hub, None, word)[1], lambda v: v == [rid]) == [rid]
    with index_paused(hub):  # the index still says public
        hub.api(people[OWNER]).update_repo_settings(rid, private=True)
        for token in (None, people[OTHER]):
            assert search_ids(hub, token, word)[1] == []
            assert list_ids(hub, token, word) == []
        assert search_ids(hub, people[OWNER], word)[1] == [rid]
    # once the index has caught up, not even the count shows it
    for token in (None, people[OTHER]):
        total = poll(lambda: search_ids(hub, token, word)[0], lambda v: v == 0)
        assert total == 0
        assert_hidden(hub, token, word, "vistoprivate")
    assert_found(hub, people[OWNER], word, "vistoprivate", rid)


def test_quicksearch_right_after_making_it_private(hub, people):
    rid = f"{OWNER}/visquickhide"
    api = hub.api(people[OWNER])
    api.create_repo(rid)
    assert poll(lambda: quick_ids(hub, None, "visquickhide"), lambda v: v == [rid]) == [rid]
    with index_paused(hub):
        api.update_repo_settings(rid, private=True)
        # like /api/search, quicksearch must not show it while the index catches up
        assert quick_ids(hub, None, "visquickhide") == []
        assert quick_ids(hub, people[OTHER], "visquickhide") == []
        assert quick_ids(hub, people[OWNER], "visquickhide") == [rid]
    assert poll(lambda: quick_ids(hub, None, "visquickhide"), lambda v: v == []) == []
