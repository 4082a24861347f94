"""Collections through the real huggingface_hub client against a live hub: every collection method,
the slug and its trailing id, ordering by position, notes, private collections and private entries,
owners that are organizations, exists_ok / missing_ok, and the error answers (status, JSON body, HF
error headers). Runs on PostgreSQL too (MODELHUB_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
import uuid

import pytest
from huggingface_hub import Collection
from huggingface_hub.errors import HfHubHTTPError

P = "coll"
OWNER, OTHER, ORG_WRITER, ORG_READER = f"{P}-owner", f"{P}-other", f"{P}-orgwriter", f"{P}-orgreader"
ORG = f"{P}-org"
THEMES = {"orange", "blue", "green", "purple", "pink", "indigo"}
SLUG = re.compile(r"^(?P<ns>[^/]+)/(?P<title>.+)-(?P<id>[0-9a-f]{24})$")


@pytest.fixture(scope="module")
def people(hub) -> dict[str, str]:
    names = [OWNER, OTHER, ORG_WRITER, ORG_READER, (OWNER, "read")]
    tokens = hub.users(*names)
    hub.cli("orgs", "create", ORG, "--owner", OWNER)
    hub.cli("orgs", "add-member", ORG, ORG_WRITER, "--role", "write")
    hub.cli("orgs", "add-member", ORG, ORG_READER, "--role", "read")
    return {OWNER: tokens[0], OTHER: tokens[1], ORG_WRITER: tokens[2], ORG_READER: tokens[3], "read": tokens[4]}


@pytest.fixture(scope="module")
def repos(hub, people) -> dict[str, str]:
    """A public model, dataset and Space of the owner, and a private model."""
    api = hub.api(people[OWNER])
    out = {"model": f"{OWNER}/coll-model", "dataset": f"{OWNER}/coll-data", "space": f"{OWNER}/coll-space",
           "private": f"{OWNER}/coll-secret"}
    api.create_repo(out["model"])
    api.create_repo(out["dataset"], repo_type="dataset")
    api.create_repo(out["space"], repo_type="space", space_sdk="static")
    api.create_repo(out["private"], private=True)
    return out


def title() -> str:
    return f"Cool stuff {uuid.uuid4().hex[:8]}"


def status_of(excinfo: pytest.ExceptionInfo) -> int:
    return excinfo.value.response.status_code


def assert_json_error(r, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    assert r.headers["X-Error-Message"] == body["error"]


# ---- create, get, exists_ok ------------------------------------------------------------------------

def test_create_and_get(hub, people):
    api = hub.api(people[OWNER])
    t = title()
    c = api.create_collection(t, description="Contains a lot of cool stuff")
    assert isinstance(c, Collection)
    m = SLUG.match(c.slug)
    assert m and m["ns"] == OWNER and m["title"] == t.lower().replace(" ", "-")
    assert c.title == t and c.description == "Contains a lot of cool stuff" and c.items == []
    assert c.private is False and c.theme in THEMES and c.upvotes == 0
    assert c.owner["name"] == OWNER and c.owner["type"] == "user"
    assert c.url == f"{hub.url}/collections/{c.slug}"
    again = api.get_collection(c.slug)
    assert (again.slug, again.title, again.description) == (c.slug, t, "Contains a lot of cool stuff")
    # anonymous readers see a public collection
    assert hub.api(None).get_collection(c.slug).title == t


def test_same_title_conflicts_unless_exists_ok(hub, people):
    api = hub.api(people[OWNER])
    t = title()
    first = api.create_collection(t)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_collection(t)
    assert status_of(e) == 409
    assert e.value.response.json()["slug"] == first.slug
    second = api.create_collection(t, description="ignored", exists_ok=True)
    assert second.slug == first.slug and second.description is None
    # another owner may use the same title
    assert hub.api(people[OTHER]).create_collection(t).slug != first.slug


def test_bad_input_is_a_json_error(hub, people):
    token = people[OWNER]
    assert_json_error(hub.request("POST", "/api/collections", token, json={"title": "  "}), 400)
    assert_json_error(hub.request("POST", "/api/collections", token, json={"title": "x", "description": "d" * 151}), 400)
    assert_json_error(hub.request("POST", "/api/collections", token, json={"title": "x", "theme": "rainbow"}), 400)
    assert_json_error(hub.request("POST", "/api/collections", token, json=["not", "an", "object"]), 400)
    assert_json_error(hub.request("POST", "/api/collections", token, json={"title": "x", "namespace": "nobody-here"}),
                      404)
    assert_json_error(hub.request("GET", f"/api/collections/{OWNER}/nothing-0123456789abcdef01234567"), 404)
    assert_json_error(hub.request("GET", f"/api/collections/{OWNER}/no-id-at-all"), 404)
    c = hub.api(token).create_collection(title())
    # the id is the owner's: another namespace with the right id is no alias
    assert_json_error(hub.request("GET", f"/api/collections/{OTHER}/{c.slug.split('/')[1]}"), 404)
    assert_json_error(hub.request("PATCH", f"/api/collections/{c.slug}", token, json={"position": "first"}), 400)
    assert_json_error(hub.request("POST", "/api/collections", None, json={"title": "anonymous"}), 401)


# ---- private collections, permissions -------------------------------------------------------------

def test_private_collection_is_invisible_to_others(hub, people):
    api = hub.api(people[OWNER])
    c = api.create_collection(title(), private=True)
    assert api.get_collection(c.slug).private is True
    for token in (people[OTHER], None):
        with pytest.raises(HfHubHTTPError) as e:
            hub.api(token).get_collection(c.slug)
        assert status_of(e) == 404
        assert c.slug not in [x.slug for x in hub.api(token).list_collections(owner=OWNER)]
        # writes on it are 404 too, not 403: nothing tells an outsider it exists
        with pytest.raises(HfHubHTTPError) as e:
            hub.api(token).update_collection_metadata(c.slug, title="taken over")
        assert status_of(e) in ((404,) if token else (401,))
    assert c.slug in [x.slug for x in api.list_collections(owner=OWNER)]
    api.update_collection_metadata(c.slug, private=False)
    assert hub.api(people[OTHER]).get_collection(c.slug).private is False


def test_only_writers_of_the_namespace_change_a_collection(hub, people, repos):
    c = hub.api(people[OWNER]).create_collection(title())
    for token, status in ((people[OTHER], 403), (people["read"], 403)):
        other = hub.api(token)
        for call in (lambda: other.update_collection_metadata(c.slug, title="mine now"),
                     lambda: other.add_collection_item(c.slug, repos["model"], "model"),
                     lambda: other.delete_collection(c.slug)):
            with pytest.raises(HfHubHTTPError) as e:
                call()
            assert status_of(e) == status
    assert_json_error(hub.request("DELETE", f"/api/collections/{c.slug}"), 401)
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(people[OTHER]).create_collection(title(), namespace=OWNER)
    assert status_of(e) == 403
    after = hub.api(people[OWNER]).get_collection(c.slug)
    assert after.title == c.title and after.items == []


def test_organization_collections(hub, people, repos):
    writer = hub.api(people[ORG_WRITER])
    c = writer.create_collection(title(), namespace=ORG, private=True)
    assert c.slug.startswith(f"{ORG}/") and c.owner == {**c.owner, "name": ORG, "type": "org"}
    writer.add_collection_item(c.slug, repos["model"], "model")
    # members see the private collection; a read member cannot change it; outsiders cannot see it
    reader = hub.api(people[ORG_READER])
    assert reader.get_collection(c.slug).items[0].item_id == repos["model"]
    with pytest.raises(HfHubHTTPError) as e:
        reader.update_collection_metadata(c.slug, description="no")
    assert status_of(e) == 403
    with pytest.raises(HfHubHTTPError) as e:
        reader.create_collection(title(), namespace=ORG)
    assert status_of(e) == 403
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(people[OTHER]).get_collection(c.slug)
    assert status_of(e) == 404
    writer.delete_collection(c.slug)


# ---- update, delete -----------------------------------------------------------------------------------

def test_update_metadata_renames_and_keeps_the_id(hub, people):
    api = hub.api(people[OWNER])
    c1 = api.create_collection(title())
    new_title = f"New title {uuid.uuid4().hex[:6]}"
    c2 = api.update_collection_metadata(c1.slug, title=new_title, description="New description", private=True,
                                        theme="pink")
    assert (c2.title, c2.description, c2.private, c2.theme) == (new_title, "New description", True, "pink")
    assert c2.slug != c1.slug and c1.slug.split("-")[-1] == c2.slug.split("-")[-1]
    assert api.get_collection(c1.slug).slug == c2.slug
    assert api.get_collection(c2.slug).slug == c2.slug
    # renaming onto another of the owner's titles is a conflict, and changes nothing
    c3 = api.create_collection(title())
    with pytest.raises(HfHubHTTPError) as e:
        api.update_collection_metadata(c3.slug, title=new_title)
    assert status_of(e) == 409
    assert api.get_collection(c3.slug).title == c3.title


def test_position_orders_the_owners_collections(hub, people):
    token = hub.user(f"{P}-sorter")
    api = hub.api(token)
    made = [api.create_collection(f"Shelf {i}").slug for i in range(3)]
    assert [c.slug for c in api.list_collections(owner=f"{P}-sorter")] == made
    api.update_collection_metadata(made[2], position=0)
    assert [c.slug for c in api.list_collections(owner=f"{P}-sorter")] == [made[2], made[0], made[1]]
    assert [api.get_collection(slug).position for slug in made] == [1, 2, 0]


def test_delete_collection_missing_ok(hub, people):
    api = hub.api(people[OWNER])
    c = api.create_collection(title())
    api.delete_collection(c.slug)
    with pytest.raises(HfHubHTTPError) as e:
        api.delete_collection(c.slug)
    assert status_of(e) == 404
    api.delete_collection(c.slug, missing_ok=True)
    with pytest.raises(HfHubHTTPError):
        api.get_collection(c.slug)


# ---- items --------------------------------------------------------------------------------------------

def test_items_in_order_with_notes(hub, people, repos):
    api = hub.api(people[OWNER])
    nested = api.create_collection(f"nested {title()}")
    c = api.create_collection(title())
    after_add = api.add_collection_item(c.slug, repos["model"], "model", note="This is **my** model")
    assert [i.item_id for i in after_add.items] == [repos["model"]]
    api.add_collection_item(c.slug, repos["dataset"], "dataset")
    api.add_collection_item(c.slug, repos["space"], "space")
    api.add_collection_item(c.slug, nested.slug, "collection")
    got = api.get_collection(c.slug)
    assert [(i.item_id, i.item_type) for i in got.items] == [
        (repos["model"], "model"), (repos["dataset"], "dataset"), (repos["space"], "space"),
        (nested.slug, "collection")]
    assert got.items[0].note == "This is **my** model" and got.items[1].note is None
    raw = hub.get(f"/api/collections/{c.slug}").json()["items"][0]
    assert raw["note"]["html"] == "<p>This is <strong>my</strong> model</p>"
    assert raw["id"] == repos["model"] and raw["repoType"] == "model"

    with pytest.raises(HfHubHTTPError) as e:  # twice: a conflict, unless exists_ok
        api.add_collection_item(c.slug, repos["model"], "model")
    assert status_of(e) == 409
    assert len(api.add_collection_item(c.slug, repos["model"], "model", exists_ok=True).items) == 4
    for item_id, kind in ((repos["model"], "dataset"), (f"{OWNER}/nope", "model"), ("2311.12983", "paper"),
                          (f"{OWNER}/nope-0123456789abcdef01234567", "collection")):
        with pytest.raises(HfHubHTTPError) as e:
            api.add_collection_item(c.slug, item_id, kind)
        assert status_of(e) == 404, (item_id, kind)
    for body in ({"item": {"id": repos["model"], "type": "pony"}}, {"item": "x"},
                 {"item": {"id": repos["model"], "type": "model"}, "note": "n" * 501},
                 {"item": {"id": c.slug, "type": "collection"}}):
        assert_json_error(hub.request("POST", f"/api/collections/{c.slug}/items", people[OWNER], json=body), 400)

    first = got.items[0]
    api.update_collection_item(c.slug, first.item_object_id, note="New note", position=1)
    got = api.get_collection(c.slug)
    assert [i.item_id for i in got.items][:2] == [repos["dataset"], repos["model"]]
    assert got.items[1].note == "New note"
    assert [i.position for i in got.items] == [0, 1, 2, 3]
    api.update_collection_item(c.slug, first.item_object_id, position=99)  # past the end: last
    assert api.get_collection(c.slug).items[-1].item_id == repos["model"]
    api.update_collection_item(c.slug, first.item_object_id, note="")  # an empty note removes it
    assert api.get_collection(c.slug).items[-1].note is None

    api.delete_collection_item(c.slug, first.item_object_id)
    api.delete_collection_item(c.slug, first.item_object_id, missing_ok=True)
    with pytest.raises(HfHubHTTPError) as e:
        api.delete_collection_item(c.slug, first.item_object_id)
    assert status_of(e) == 404
    with pytest.raises(HfHubHTTPError) as e:
        api.update_collection_item(c.slug, first.item_object_id, note="gone")
    assert status_of(e) == 404
    assert [i.item_id for i in api.get_collection(c.slug).items] == [repos["dataset"], repos["space"], nested.slug]

    # an entry disappears with what it names
    api.delete_collection(nested.slug)
    assert [i.item_id for i in api.get_collection(c.slug).items] == [repos["dataset"], repos["space"]]


def test_private_entries_are_shown_only_to_who_may_see_them(hub, people, repos):
    api = hub.api(people[OWNER])
    c = api.create_collection(title())
    secret_coll = api.create_collection(title(), private=True)
    api.add_collection_item(c.slug, repos["private"], "model", note="secret")
    api.add_collection_item(c.slug, repos["model"], "model")
    api.add_collection_item(c.slug, secret_coll.slug, "collection")
    assert [i.item_id for i in api.get_collection(c.slug).items] == [repos["private"], repos["model"],
                                                                      secret_coll.slug]
    for token in (people[OTHER], None):
        seen = hub.api(token).get_collection(c.slug)
        assert [i.item_id for i in seen.items] == [repos["model"]]
        listed = [x for x in hub.api(token).list_collections(owner=OWNER) if x.slug == c.slug][0]
        assert [i.item_id for i in listed.items] == [repos["model"]]
        body = hub.get(f"/api/collections/{c.slug}", token).text
        assert "coll-secret" not in body and "secret" not in body
    # nobody adds what they cannot see: the private model is "not found" to another user
    theirs = hub.api(people[OTHER]).create_collection(title())
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(people[OTHER]).add_collection_item(theirs.slug, repos["private"], "model")
    assert status_of(e) == 404
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(people[OTHER]).add_collection_item(theirs.slug, secret_coll.slug, "collection")
    assert status_of(e) == 404


def test_deleting_a_repository_removes_its_entries(hub, people):
    api = hub.api(people[OWNER])
    repo_id = f"{OWNER}/short-lived-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo_id)
    c = api.create_collection(title())
    api.add_collection_item(c.slug, repo_id, "model")
    api.delete_repo(repo_id)
    assert api.get_collection(c.slug).items == []


# ---- listing ---------------------------------------------------------------------------------------

def test_list_by_owner_and_item_pages_and_truncates(hub, people, repos):
    owner = f"{P}-lister"
    api = hub.api(hub.user(owner))
    slugs = [api.create_collection(f"Listed {i}").slug for i in range(9)]  # more than a page (7)
    for i in range(6):
        api.add_collection_item(slugs[0], *((repos["model"], "model") if i == 0 else
                                            (api.create_repo(f"{owner}/m{i}").repo_id, "model")))
    listed = list(api.list_collections(owner=owner))
    assert [c.slug for c in listed] == slugs  # the owner's own order, across pages
    assert len(listed[0].items) == 4  # a listing shows the first 4 entries
    assert len(api.get_collection(slugs[0]).items) == 6
    assert [c.slug for c in api.list_collections(owner=owner, limit=3)] == slugs[:3]
    r = hub.get(f"/api/collections?owner={owner}&limit=3")
    assert 'rel="next"' in r.headers["Link"] and len(r.json()) == 3

    containing = [c.slug for c in hub.api(None).list_collections(item=f"models/{repos['model']}")]
    assert slugs[0] in containing and slugs[1] not in containing
    assert list(hub.api(None).list_collections(item="papers/2311.12983")) == []
    newest = list(hub.api(None).list_collections(owner=owner, sort="lastModified"))
    assert newest[0].slug == slugs[0]  # changed last
    assert_json_error(hub.get("/api/collections?sort=loudest"), 400)


def test_quicksearch_finds_collections_by_title(hub, people):
    word = f"quokka{uuid.uuid4().hex[:6]}"
    api = hub.api(people[OWNER])
    public = api.create_collection(f"Best {word} models")
    private = api.create_collection(f"Secret {word} models", private=True)
    api.create_collection(f"Unrelated {uuid.uuid4().hex[:6]}")

    def found(token, q):
        r = hub.get("/api/quicksearch", token, params={"q": q})
        assert r.status_code == 200
        return {c["slug"]: c["title"] for c in r.json()["collections"]}

    assert found(people[OWNER], word.upper()) == {public.slug: public.title, private.slug: private.title}
    assert found(people[OTHER], word) == {public.slug: public.title}
    assert found(None, f"best {word}") == {public.slug: public.title}  # every word, in any order
    assert found(None, f"{word} worst") == {}
    assert all("%" in t for t in found(None, "%").values())  # a literal '%', no wildcard matching every title
