"""Branches, tags, refs, commit history and optimistic locking (parent_commit), via the real client."""

from __future__ import annotations

import datetime as dt

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RevisionNotFoundError

OWNER = "hist-owner"


@pytest.fixture(scope="module")
def api(hub):
    return hub.api(hub.users(OWNER)[0])


def refs_of(api, rid: str) -> tuple[dict[str, str], dict[str, str]]:
    refs = api.list_repo_refs(rid)
    assert refs.converts == []
    for b in refs.branches:
        assert b.ref == f"refs/heads/{b.name}"
    for t in refs.tags:
        assert t.ref == f"refs/tags/{t.name}"
    return {b.name: b.target_commit for b in refs.branches}, {t.name: t.target_commit for t in refs.tags}


def test_create_and_delete_branches(api):
    rid = f"{OWNER}/branches"
    api.create_repo(rid)
    c1 = api.upload_file(path_or_fileobj=b"1\n", path_in_repo="a.txt", repo_id=rid).oid
    c2 = api.upload_file(path_or_fileobj=b"2\n", path_in_repo="b.txt", repo_id=rid).oid

    api.create_branch(rid, branch="from-c1", revision=c1)
    api.create_branch(rid, branch="from-main")
    api.create_tag(rid, tag="t1", revision=c1)
    api.create_branch(rid, branch="from-tag", revision="t1")
    api.create_branch(rid, branch="feat/nested", revision="from-c1")
    branches, _ = refs_of(api, rid)
    assert branches == {"main": c2, "from-c1": c1, "from-main": c2, "from-tag": c1, "feat/nested": c1}
    assert sorted(api.list_repo_files(rid, revision="from-c1")) == [".gitattributes", "a.txt"]
    assert sorted(api.list_repo_files(rid, revision="feat/nested")) == [".gitattributes", "a.txt"]

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_branch(rid, branch="from-main", revision=c1)
    assert exc.value.response.status_code == 409
    api.create_branch(rid, branch="from-main", revision=c1, exist_ok=True)
    assert refs_of(api, rid)[0]["from-main"] == c2  # exist_ok does not move it

    with pytest.raises(RevisionNotFoundError):
        api.create_branch(rid, branch="orphan", revision="no-such-rev")
    with pytest.raises(BadRequestError):
        api.create_branch(rid, branch="bad..name")

    api.delete_branch(rid, branch="from-c1")
    api.delete_branch(rid, branch="feat/nested")
    branches, _ = refs_of(api, rid)
    assert set(branches) == {"main", "from-main", "from-tag"}
    assert api.revision_exists(rid, "from-c1") is False
    assert api.revision_exists(rid, "feat/nested") is False
    with pytest.raises(RevisionNotFoundError):
        api.delete_branch(rid, branch="from-c1")
    # the commits stay reachable by sha
    assert api.model_info(rid, revision=c1).sha == c1


def test_create_and_delete_tags(api):
    rid = f"{OWNER}/tags"
    api.create_repo(rid)
    c1 = api.upload_file(path_or_fileobj=b"1\n", path_in_repo="a.txt", repo_id=rid).oid
    c2 = api.upload_file(path_or_fileobj=b"2\n", path_in_repo="a.txt", repo_id=rid).oid

    api.create_tag(rid, tag="v1")  # lightweight, at main
    api.create_tag(rid, tag="v0", revision=c1, tag_message="first release")  # annotated
    api.create_tag(rid, tag="v0-copy", revision="v0")
    _, tags = refs_of(api, rid)
    assert tags == {"v1": c2, "v0": c1, "v0-copy": c1}  # annotated tags are peeled to the commit
    assert api.model_info(rid, revision="v0").sha == c1
    assert api.model_info(rid, revision="v1").sha == c2

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag(rid, tag="v1", revision=c1)
    assert exc.value.response.status_code == 409
    api.create_tag(rid, tag="v1", revision=c1, exist_ok=True)
    assert refs_of(api, rid)[1]["v1"] == c2
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(rid, tag="v9", revision="no-such-rev")
    assert "v9" not in refs_of(api, rid)[1]

    api.delete_tag(rid, tag="v1")
    api.delete_tag(rid, tag="v0")
    assert refs_of(api, rid)[1] == {"v0-copy": c1}
    assert api.revision_exists(rid, "v1") is False
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(rid, tag="v1")
    # a tag is not a branch: commits to it are refused, and the tag does not move
    with pytest.raises(HfHubHTTPError):
        api.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=rid, revision="v0-copy")
    assert refs_of(api, rid)[1] == {"v0-copy": c1}


def test_list_repo_commits_order_titles_and_pages(hub, api):
    rid = f"{OWNER}/history"
    api.create_repo(rid)
    oids = []
    for i in range(9):
        oids.append(api.upload_file(path_or_fileobj=f"step {i}\n".encode(), path_in_repo="s.txt", repo_id=rid,
                                    commit_message=f"step {i}", commit_description=f"details of step {i}").oid)
    commits = api.list_repo_commits(rid)
    assert len(commits) == 10  # 9 + the initial commit: two pages of 7
    assert [c.commit_id for c in commits[:9]] == oids[::-1]
    assert [c.title for c in commits] == [f"step {i}" for i in range(8, -1, -1)] + ["initial commit"]
    assert commits[0].message == "details of step 8"
    assert all(c.authors == [OWNER] for c in commits)
    dates = [c.created_at for c in commits]
    assert all(isinstance(d, dt.datetime) and d.tzinfo is not None for d in dates)
    assert dates == sorted(dates, reverse=True)
    assert len({c.commit_id for c in commits}) == 10

    # history of another revision
    api.create_branch(rid, branch="old", revision=oids[2])
    old = api.list_repo_commits(rid, revision="old")
    assert [c.commit_id for c in old] == oids[2::-1] + [commits[-1].commit_id]
    assert [c.commit_id for c in api.list_repo_commits(rid, revision=oids[0])] == [oids[0], commits[-1].commit_id]
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(rid, revision="no-such-rev")

    # the raw first page: 7 items and an absolute next link
    r = hub.get(f"/api/models/{rid}/commits/main")
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == [c.commit_id for c in commits[:7]]
    assert r.links["next"]["url"].startswith(f"{hub.url}/api/models/{rid}/commits/main?")


def test_create_commit_with_stale_parent_is_refused(api):
    rid = f"{OWNER}/locking"
    api.create_repo(rid)
    c1 = api.upload_file(path_or_fileobj=b"1\n", path_in_repo="a.txt", repo_id=rid).oid
    c2 = api.upload_file(path_or_fileobj=b"2\n", path_in_repo="b.txt", repo_id=rid).oid

    for stale in (c1, c1[:7]):
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_commit(rid, [CommitOperationAdd("c.txt", b"3\n")], commit_message="stale",
                              parent_commit=stale)
        assert exc.value.response.status_code == 412
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit(rid, [CommitOperationDelete("a.txt")], commit_message="stale delete", parent_commit=c1)
    assert exc.value.response.status_code == 412
    branches, _ = refs_of(api, rid)
    assert branches["main"] == c2
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "a.txt", "b.txt"]
    assert [c.commit_id for c in api.list_repo_commits(rid)][:2] == [c2, c1]

    c3 = api.create_commit(rid, [CommitOperationAdd("c.txt", b"3\n")], commit_message="fresh",
                           parent_commit=c2).oid
    c4 = api.create_commit(rid, [CommitOperationAdd("d.txt", b"4\n")], commit_message="fresh, short parent",
                           parent_commit=c3[:10]).oid
    branches, _ = refs_of(api, rid)
    assert branches["main"] == c4
    assert [c.commit_id for c in api.list_repo_commits(rid)][:4] == [c4, c3, c2, c1]
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "a.txt", "b.txt", "c.txt", "d.txt"]

    # parent_commit applies to the branch being committed to
    api.create_branch(rid, branch="side", revision=c1)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_commit(rid, [CommitOperationAdd("e.txt", b"5\n")], commit_message="wrong branch parent",
                          revision="side", parent_commit=c4)
    assert exc.value.response.status_code == 412
    c5 = api.create_commit(rid, [CommitOperationAdd("e.txt", b"5\n")], commit_message="side",
                           revision="side", parent_commit=c1).oid
    branches, _ = refs_of(api, rid)
    assert branches == {"main": c4, "side": c5}
