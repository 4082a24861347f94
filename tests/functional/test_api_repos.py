"""Repositories through the real HF client: create/delete/move/settings, existence checks,
repo info (model_info) and listing (list_models), against a live server."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import time

import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

from tests.support.waiting import eventually

SHA_RE = re.compile(r"[0-9a-f]{40}")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    return (b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"
            % (hashlib.sha256(data).hexdigest().encode(), len(data)))


@pytest.fixture(scope="module", autouse=True)
def _accounts(hub):
    # one subprocess for every account of this module (each `modelhub` CLI run costs about a second)
    hub.users("repos-alice", "repos-orgowner", "repos-orgreader", "repos-outsider", "repos-info",
              "list-many", "list-sort", "list-priv")


def main_head(api, repo_id: str) -> str:
    refs = api.list_repo_refs(repo_id)
    return next(b.target_commit for b in refs.branches if b.name == "main")


# ---- create ------------------------------------------------------------------------------------

def test_create_repo_url_conflict_and_exist_ok(hub):
    api = hub.api(hub.user("repos-alice"))
    url = api.create_repo("create-me")
    assert url == f"{hub.url}/repos-alice/create-me"
    assert url.repo_id == "repos-alice/create-me"
    assert url.repo_type == "model"
    assert url.endpoint == hub.url

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo("create-me")
    assert exc.value.response.status_code == 409
    # exist_ok swallows the 409 and reads the url from the 409 body
    assert api.create_repo("create-me", exist_ok=True) == url
    # names differ only by case: still the same repository
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo("CREATE-me")
    assert exc.value.response.status_code == 409

    # A new repo has one initial commit on main holding .gitattributes
    info = api.model_info("repos-alice/create-me")
    assert info.id == "repos-alice/create-me"
    assert SHA_RE.fullmatch(info.sha)
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert info.sha == main_head(api, "repos-alice/create-me")
    assert len(api.list_repo_commits("repos-alice/create-me")) == 1


def test_create_repo_in_org_namespace(hub):
    owner = hub.user("repos-orgowner")
    reader = hub.user("repos-orgreader")
    writer = hub.user("repos-alice")
    outsider = hub.user("repos-outsider")
    hub.cli("orgs", "create", "repos-org", "--owner", "repos-orgowner")
    hub.cli("orgs", "add-member", "repos-org", "repos-orgreader", "--role", "read")
    hub.cli("orgs", "add-member", "repos-org", "repos-alice", "--role", "write")

    url = hub.api(owner).create_repo("repos-org/shared")
    assert url == f"{hub.url}/repos-org/shared"
    assert hub.api(reader).model_info("repos-org/shared").author == "repos-org"

    assert hub.api(writer).create_repo("repos-org/by-writer") == f"{hub.url}/repos-org/by-writer"

    for token, name in ((reader, "by-reader"), (outsider, "by-outsider")):
        with pytest.raises(HfHubHTTPError) as exc:
            hub.api(token).create_repo(f"repos-org/{name}")
        assert exc.value.response.status_code == 403
        assert not hub.api(owner).repo_exists(f"repos-org/{name}")

    # a private org repo is visible to a read member, not to an outsider
    hub.api(owner).create_repo("repos-org/private-one", private=True)
    assert hub.api(reader).model_info("repos-org/private-one").private is True
    with pytest.raises(RepositoryNotFoundError):
        hub.api(outsider).model_info("repos-org/private-one")


def test_create_repo_private_flag(hub):
    api = hub.api(hub.user("repos-alice"))
    api.create_repo("born-private", private=True)
    assert api.model_info("repos-alice/born-private").private is True
    api.create_repo("born-public", private=False)
    assert api.model_info("repos-alice/born-public").private is False
    assert hub.api(None).model_info("repos-alice/born-public").private is False
    with pytest.raises(RepositoryNotFoundError):
        hub.api(None).model_info("repos-alice/born-private")


# ---- delete and move ---------------------------------------------------------------------------

def test_delete_repo_and_missing_ok(hub):
    api = hub.api(hub.user("repos-alice"))
    outsider = hub.api(hub.user("repos-outsider"))
    rid = "repos-alice/doomed"
    api.create_repo("doomed")
    api.upload_file(path_or_fileobj=b"bye\n", path_in_repo="a.txt", repo_id=rid)

    with pytest.raises(HfHubHTTPError) as exc:
        outsider.delete_repo(rid)
    assert exc.value.response.status_code == 403
    assert api.repo_exists(rid)

    api.delete_repo(rid)
    assert not api.repo_exists(rid)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(rid)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(rid)
    api.delete_repo(rid, missing_ok=True)  # no error

    # The name is free again, and the new repo starts empty
    api.create_repo("doomed")
    assert api.list_repo_files(rid) == [".gitattributes"]


def test_move_repo(hub, hf_cache):
    token = hub.user("repos-alice")
    api = hub.api(token)
    api.create_repo("before-move")
    api.upload_file(path_or_fileobj=b"moved content\n", path_in_repo="a.txt", repo_id="repos-alice/before-move")
    head = main_head(api, "repos-alice/before-move")

    api.move_repo("repos-alice/before-move", "repos-alice/after-move")

    info = api.model_info("repos-alice/after-move")
    assert info.id == "repos-alice/after-move"
    assert info.sha == head
    assert sorted(s.rfilename for s in info.siblings) == [".gitattributes", "a.txt"]
    path = hf_hub_download("repos-alice/after-move", "a.txt", endpoint=hub.url, token=token, cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert f.read() == b"moved content\n"
    ids = {m.id for m in api.list_models(author="repos-alice")}
    assert "repos-alice/after-move" in ids
    assert "repos-alice/before-move" not in ids
    # the old name can be taken again
    api.create_repo("before-move")
    assert api.list_repo_files("repos-alice/before-move") == [".gitattributes"]


def test_move_repo_onto_existing_name_is_refused(hub):
    api = hub.api(hub.user("repos-alice"))
    api.create_repo("move-src")
    api.create_repo("move-dst")
    with pytest.raises(HfHubHTTPError) as exc:
        api.move_repo("repos-alice/move-src", "repos-alice/move-dst")
    assert exc.value.response.status_code == 409
    assert api.repo_exists("repos-alice/move-src")


# ---- settings ----------------------------------------------------------------------------------

def test_update_repo_settings_private_hides_repo(hub, hf_cache):
    owner_token = hub.user("repos-alice")
    other_token = hub.user("repos-outsider")
    owner, other, anon = hub.api(owner_token), hub.api(other_token), hub.api(None)
    rid = "repos-alice/secret"
    owner.create_repo("secret")
    owner.upload_file(path_or_fileobj=b"hidden\n", path_in_repo="a.txt", repo_id=rid)
    assert anon.model_info(rid).private is False

    owner.update_repo_settings(rid, private=True)
    assert owner.model_info(rid).private is True
    for api in (anon, other):
        with pytest.raises(RepositoryNotFoundError):
            api.model_info(rid)
        assert api.repo_exists(rid) is False
        assert api.file_exists(rid, "a.txt") is False
        assert api.revision_exists(rid, "main") is False
    for token in (None, other_token):
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(rid, "a.txt", endpoint=hub.url, token=token if token else False, cache_dir=hf_cache)
    path = hf_hub_download(rid, "a.txt", endpoint=hub.url, token=owner_token, cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert f.read() == b"hidden\n"
    # someone who cannot see it cannot change it back either
    with pytest.raises(RepositoryNotFoundError):
        other.update_repo_settings(rid, private=False)

    owner.update_repo_settings(rid, private=False)
    assert anon.model_info(rid).private is False
    # a public repo is readable by others, but its settings are still the owner's
    with pytest.raises(HfHubHTTPError) as exc:
        other.update_repo_settings(rid, private=True)
    assert exc.value.response.status_code == 403
    assert anon.model_info(rid).private is False


# ---- existence checks --------------------------------------------------------------------------

def test_repo_file_revision_exists(hub):
    api = hub.api(hub.user("repos-alice"))
    rid = "repos-alice/exists"
    api.create_repo("exists")
    info = api.create_commit(rid, [CommitOperationAdd("a.txt", b"a\n"),
                                   CommitOperationAdd("dir/b.txt", b"b\n")], commit_message="files")
    api.create_branch(rid, branch="dev")
    api.create_tag(rid, tag="v1")
    api.upload_file(path_or_fileobj=b"later\n", path_in_repo="later.txt", repo_id=rid)

    assert api.repo_exists(rid) is True
    assert api.repo_exists("repos-alice/no-such-repo") is False
    assert hub.api(None).repo_exists(rid) is True

    assert api.file_exists(rid, "a.txt") is True
    assert api.file_exists(rid, "dir/b.txt") is True
    assert api.file_exists(rid, "later.txt") is True
    assert api.file_exists(rid, "later.txt", revision="v1") is False
    assert api.file_exists(rid, "later.txt", revision=info.oid) is False
    assert api.file_exists(rid, "a.txt", revision=info.oid) is True
    assert api.file_exists(rid, "nope.txt") is False
    assert api.file_exists(rid, "dir") is False  # a folder is not a file
    assert api.file_exists(rid, "a.txt", revision="no-such-branch") is False
    assert api.file_exists("repos-alice/no-such-repo", "a.txt") is False

    for rev in ("main", "dev", "v1", info.oid):
        assert api.revision_exists(rid, rev) is True, rev
    assert api.revision_exists(rid, "no-such-branch") is False
    assert api.revision_exists(rid, "0123456789abcdef0123456789abcdef01234567") is False
    assert api.revision_exists("repos-alice/no-such-repo", "main") is False


# ---- model_info --------------------------------------------------------------------------------

README = b"""---
license: apache-2.0
pipeline_tag: text-classification
library_name: transformers
tags:
- alpha
- beta
---
# A model

Some text.
"""


def test_model_info_fields_and_siblings(hub):
    api = hub.api(hub.user("repos-info"))
    rid = "repos-info/described"
    api.create_repo("described")
    before = dt.datetime.now(dt.timezone.utc)
    config = b'{"hidden_size": 8}\n'
    weights = bytes(range(256)) * 16  # binary: stored as LFS (*.bin rule too)
    api.create_commit(rid, [CommitOperationAdd("README.md", README),
                            CommitOperationAdd("config.json", config),
                            CommitOperationAdd("weights/model.bin", weights)], commit_message="add files")

    info = api.model_info(rid, files_metadata=True)
    assert info.id == rid
    assert info.author == "repos-info"
    assert info.sha == main_head(api, rid)
    assert info.private is False
    assert isinstance(info.created_at, dt.datetime) and info.created_at.tzinfo is not None
    assert isinstance(info.last_modified, dt.datetime) and info.last_modified.tzinfo is not None
    assert info.created_at <= info.last_modified
    now = dt.datetime.now(dt.timezone.utc)
    assert before - dt.timedelta(minutes=2) <= info.last_modified <= now + dt.timedelta(minutes=2)
    assert info.created_at <= now + dt.timedelta(minutes=2)

    by_name = {s.rfilename: s for s in info.siblings}
    assert set(by_name) == {".gitattributes", "README.md", "config.json", "weights/model.bin"}
    cfg = by_name["config.json"]
    assert cfg.size == len(config)
    assert cfg.blob_id == git_blob_sha1(config)
    assert cfg.lfs is None
    readme = by_name["README.md"]
    assert readme.size == len(README) and readme.blob_id == git_blob_sha1(README) and readme.lfs is None
    w = by_name["weights/model.bin"]
    pointer = lfs_pointer(weights)
    assert w.size == len(weights)
    assert w.blob_id == git_blob_sha1(pointer)
    assert w.lfs is not None
    assert w.lfs.sha256 == hashlib.sha256(weights).hexdigest()
    assert w.lfs.size == len(weights)
    assert w.lfs.pointer_size == len(pointer)

    # card data and tags come from the README front matter
    assert info.card_data is not None
    assert info.card_data.license == "apache-2.0"
    assert info.card_data.tags == ["alpha", "beta"]
    assert info.card_data.pipeline_tag == "text-classification"
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    for tag in ("alpha", "beta", "transformers", "license:apache-2.0"):
        assert tag in info.tags

    # without files_metadata the siblings only carry names
    plain = api.model_info(rid)
    assert {s.rfilename for s in plain.siblings} == set(by_name)
    assert all(s.size is None and s.blob_id is None and s.lfs is None for s in plain.siblings)

    # a new README replaces the card data
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n# changed\n", path_in_repo="README.md", repo_id=rid)
    changed = api.model_info(rid)
    assert changed.card_data.license == "mit"
    assert "license:mit" in changed.tags
    assert "license:apache-2.0" not in changed.tags and "alpha" not in changed.tags
    assert changed.pipeline_tag is None
    assert changed.last_modified >= info.last_modified


def test_model_info_at_revisions(hub):
    api = hub.api(hub.user("repos-info"))
    rid = "repos-info/revisions"
    api.create_repo("revisions")
    c1 = api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="a.txt", repo_id=rid).oid
    api.create_tag(rid, tag="v1")
    api.create_branch(rid, branch="feat/x")
    c2 = api.create_commit(rid, [CommitOperationAdd("a.txt", b"v2\n"), CommitOperationAdd("b.txt", b"b\n")],
                           commit_message="main moves on").oid
    c3 = api.upload_file(path_or_fileobj=b"c\n", path_in_repo="c.txt", repo_id=rid, revision="feat/x").oid
    assert len({c1, c2, c3}) == 3

    def names(info):
        return sorted(s.rfilename for s in info.siblings)

    at_tag = api.model_info(rid, revision="v1")
    assert at_tag.sha == c1 and names(at_tag) == [".gitattributes", "a.txt"]
    at_main = api.model_info(rid, revision="main")
    assert at_main.sha == c2 and names(at_main) == [".gitattributes", "a.txt", "b.txt"]
    assert api.model_info(rid).sha == c2
    at_branch = api.model_info(rid, revision="feat/x")
    assert at_branch.sha == c3 and names(at_branch) == [".gitattributes", "a.txt", "c.txt"]
    at_sha = api.model_info(rid, revision=c1)
    assert at_sha.sha == c1 and names(at_sha) == [".gitattributes", "a.txt"]
    with pytest.raises(RevisionNotFoundError):
        api.model_info(rid, revision="no-such-rev")


# ---- list_models -------------------------------------------------------------------------------

def test_list_models_paginates_over_all_repos_of_an_author(hub):
    token = hub.user("list-many")
    api = hub.api(token)
    expected = [f"list-many/m{i:02d}" for i in range(17)]
    for rid in expected:
        api.create_repo(rid)

    ids = [m.id for m in hub.api(None).list_models(author="list-many")]
    assert len(ids) == 17 and len(set(ids)) == 17
    assert sorted(ids) == expected

    # the server really pages (page size 7): absolute next link, 7 items per page
    r = hub.get("/api/models", params={"author": "list-many"})
    assert r.status_code == 200
    assert len(r.json()) == 7
    nxt = r.links["next"]["url"]
    assert nxt.startswith(hub.url + "/api/models?")
    assert "author=list-many" in nxt

    # limit truncates, across a page boundary too, in the server's order
    assert [m.id for m in api.list_models(author="list-many", limit=3)] == ids[:3]
    assert [m.id for m in api.list_models(author="list-many", limit=10)] == ids[:10]

    # search is a substring of the id
    expected_m1 = [f"list-many/m{i}" for i in range(10, 17)]
    found = eventually(lambda: sorted(m.id for m in api.list_models(search="list-many/m1")), expected_m1)
    assert found == expected_m1  # each exactly once
    expected_m0 = [f"list-many/m{i:02d}" for i in range(10)]
    found = eventually(lambda: sorted(m.id for m in api.list_models(author="list-many", search="m0")), expected_m0)
    assert found == expected_m0  # 10 hits: more than one page
    assert list(api.list_models(author="list-many", search="zzz-nothing")) == []
    assert list(api.list_models(author="list-many-nobody")) == []


def test_list_models_sort_by_last_modified_and_created_at(hub):
    api = hub.api(hub.user("list-sort"))
    for name in ("s-a", "s-b", "s-c"):
        api.create_repo(name)
        time.sleep(0.02)
    api.upload_file(path_or_fileobj=b"touch\n", path_in_repo="t.txt", repo_id="list-sort/s-a")

    for sort in ("last_modified", "lastModified"):
        models = list(api.list_models(author="list-sort", sort=sort))
        assert [m.id for m in models] == ["list-sort/s-a", "list-sort/s-c", "list-sort/s-b"], sort
        stamps = [m.last_modified for m in models]
        assert all(isinstance(s, dt.datetime) for s in stamps)
        assert stamps == sorted(stamps, reverse=True)
    for sort in ("created_at", "createdAt"):
        models = list(api.list_models(author="list-sort", sort=sort))
        assert [m.id for m in models] == ["list-sort/s-c", "list-sort/s-b", "list-sort/s-a"], sort
        stamps = [m.created_at for m in models]
        assert all(isinstance(s, dt.datetime) for s in stamps)
        assert stamps == sorted(stamps, reverse=True)


def test_list_models_hides_private_repos_from_others(hub):
    owner = hub.api(hub.user("list-priv"))
    other = hub.api(hub.user("repos-outsider"))
    owner.create_repo("p-public")
    owner.create_repo("p-private", private=True)

    assert [m.id for m in owner.list_models(author="list-priv")] == ["list-priv/p-private", "list-priv/p-public"]
    # once the owner's search finds it (the index is fed asynchronously), others' searches must not
    assert eventually(lambda: [m.id for m in owner.list_models(search="list-priv/p-private")],
                      ["list-priv/p-private"]) == ["list-priv/p-private"]
    for api in (other, hub.api(None)):
        assert [m.id for m in api.list_models(author="list-priv")] == ["list-priv/p-public"]
        assert [m.id for m in api.list_models(search="list-priv/p-")] == ["list-priv/p-public"]
        assert list(api.list_models(search="list-priv/p-private")) == []
    private = next(m for m in owner.list_models(author="list-priv") if m.id == "list-priv/p-private")
    assert private.private is True


# ---- storage settings (HfApi.list_user_repos, `hf repos ls`) -------------------------------------

def test_list_user_repos_shows_own_and_organization_repositories_with_their_storage(hub, tmp_path):
    token, reader, outsider = hub.users("storage-user", ("storage-reader", "read"), "storage-outsider")
    api = hub.api(token)
    api.create_repo("s-weights", private=True)
    api.upload_file(path_or_fileobj=os.urandom(300_000), path_in_repo="model.bin", repo_id="storage-user/s-weights")
    api.create_repo("s-data", repo_type="dataset")
    api.upload_file(path_or_fileobj=os.urandom(100_000), path_in_repo="part.bin", repo_id="storage-user/s-data",
                    repo_type="dataset")
    api.upload_file(path_or_fileobj=b"small text stays in git\n", path_in_repo="README.md",
                    repo_id="storage-user/s-data", repo_type="dataset")
    hub.cli("orgs", "create", "storage-org", "--owner", "storage-user")
    hub.cli("orgs", "add-member", "storage-org", "storage-reader", "--role", "read")
    api.create_repo("storage-org/o-private", private=True)
    hub.api(outsider).create_repo("not-mine")

    mine = {r.id: r for r in api.list_user_repos()}

    assert set(mine) == {"storage-user/s-weights", "storage-user/s-data"}  # not the org's, not others'
    weights, data = mine["storage-user/s-weights"], mine["storage-user/s-data"]
    assert (weights.type, weights.visibility, weights.storage) == ("model", "private", 300_000)
    assert (data.type, data.visibility, data.storage) == ("dataset", "public", 100_000)
    assert (weights.storage_percent, data.storage_percent) == (75, 25)
    assert isinstance(weights.updated_at, dt.datetime)
    # Members of an organization see its repositories, private ones too, even with a read token.
    assert [r.id for r in hub.api(reader).list_user_repos(namespace="storage-org")] == ["storage-org/o-private"]
    assert [r.id for r in hub.api(reader).list_user_repos()] == []  # their own namespace is empty
    for who, namespace, status in ((outsider, "storage-org", 403), (outsider, "storage-user", 403),
                                   (token, "no-such-org", 404), (None, None, 401)):
        with pytest.raises(HfHubHTTPError) as exc:
            list(hub.api(who).list_user_repos(namespace=namespace))
        assert exc.value.response.status_code == status, (namespace, status)
        assert "error" in exc.value.response.json()

    # The Hub's own command line lists them the same way.
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf-home"),
           "NO_COLOR": "1"}
    out = subprocess.run(["hf", "repos", "ls", "--json", "--token", token], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    listed = {r["id"]: r for r in json.loads(out.stdout)}
    assert set(listed) == set(mine) and listed["storage-user/s-weights"]["visibility"] == "private"
