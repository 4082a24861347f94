"""commit_or_open_pr and who may commit where, on a real Registry (SQLite migrated by Alembic, bare git
repositories, local blobs) with the real Community around it: no mocks."""

from __future__ import annotations

import pytest

from community.publishing import DIRECT, PR_ONLY, PR_REF, ReadOnlyPrincipal, opens_pr
from community.service import Community, CommunitySettings
from hub import migrate
from models_registry.commits import AddFile, DeletePath
from models_registry.errors import BadRequest, EntryNotFound, Forbidden, PreconditionFailed, RepoNotFound
from models_registry.permissions import Principal
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings

PASSWORD = "correct horse battery"


@pytest.fixture
def registry(tmp_path) -> Registry:
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data"))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()


@pytest.fixture
def community(registry) -> Community:
    built = Community(registry.db, registry, CommunitySettings())
    registry.commits.listeners.append(built.pull_requests.on_ref_moved)  # as hub/wiring.py wires them
    return built


def user(reg: Registry, name: str, role: str = "write") -> Principal:
    """Create a user and sign in with a new token of `role`."""
    reg.accounts.create_user(name, PASSWORD)
    return reg.accounts.authenticate_token(reg.accounts.create_token(name, role=role))


@pytest.fixture
def world(registry, community):
    """ann owns ann/m (one commit on main); bob and carl can only read it; ro is ann's read token."""
    ann, bob, carl = user(registry, "ann"), user(registry, "bob"), user(registry, "carl")
    ro = registry.accounts.authenticate_token(registry.accounts.create_token("ann", role="read"))
    repo = registry.repos.create(ann, "model", "ann", "m")
    registry.commits.commit(ann, repo, "main", [add(registry, "a.txt", b"one")], "first")
    return {"ann": ann, "bob": bob, "carl": carl, "ro": ro, "repo": repo}


def add(reg: Registry, path: str, data: bytes) -> AddFile:
    return AddFile(path, reg.stager.from_bytes(data))


def head(reg: Registry, repo, ref: str) -> str | None:
    with reg.repos.open_git(repo) as g:
        return g.ref_sha(ref)


def staged_left(reg: Registry) -> list:
    return list(reg.stager.directory.iterdir())


def test_a_writer_commits_to_the_branch(registry, community, world):
    repo = world["repo"]
    result, pr = community.commit_or_open_pr(world["ann"], repo, "main", [add(registry, "b.txt", b"two")],
                                             "second", "", False)
    assert pr is None and head(registry, repo, "refs/heads/main") == result.sha
    assert community.list(None, repo)[1] == 0 and staged_left(registry) == []


def test_a_reader_opens_a_pull_request_with_the_commit(registry, community, world):
    repo, bob = world["repo"], world["bob"]
    main = head(registry, repo, "refs/heads/main")
    result, pr = community.commit_or_open_pr(bob, repo, "main", [add(registry, "b.txt", b"two")],
                                             "Add b", "Why b", True)
    assert pr is not None and pr.is_pull_request and pr.num == 1 and pr.author == "bob"
    assert head(registry, repo, "refs/pr/1") == result.sha
    assert head(registry, repo, "refs/heads/main") == main  # the branch itself does not move
    events = community.details(bob, repo, 1).events
    assert [e.type for e in events] == ["comment", "commit"] and events[1].data["oid"] == result.sha
    # Its author keeps adding commits to refs/pr/1, through the same use case.
    more, none = community.commit_or_open_pr(bob, repo, "refs/pr/1", [add(registry, "c.txt", b"3")], "c", "", False)
    assert none is None and head(registry, repo, "refs/pr/1") == more.sha


def test_a_pull_request_ignores_the_parent_commit(registry, community, world):
    """It starts at the branch head: a stale parent guards nothing there (a direct commit refuses it)."""
    repo, ann = world["repo"], world["ann"]
    stale = head(registry, repo, "refs/heads/main")
    registry.commits.commit(ann, repo, "main", [add(registry, "b.txt", b"two")], "moves main")
    with pytest.raises(PreconditionFailed):
        community.commit_or_open_pr(ann, repo, "main", [add(registry, "c.txt", b"3")], "c", "", False,
                                    parent_commit=stale)
    _result, pr = community.commit_or_open_pr(ann, repo, "main", [add(registry, "c.txt", b"3")], "c", "", True,
                                              parent_commit=stale)
    assert pr is not None


def test_a_refused_commit_leaves_no_pull_request(registry, community, world):
    repo, bob = world["repo"], world["bob"]
    with pytest.raises(EntryNotFound):
        community.commit_or_open_pr(bob, repo, "main", [add(registry, "b.txt", b"two"), DeletePath("missing.txt")],
                                    "Add b", "", True)
    assert community.list(None, repo)[1] == 0
    assert head(registry, repo, "refs/pr/1") is None
    assert community.notifications(world["ann"]) == []  # the owner was not told of a PR that is gone
    assert staged_left(registry) == []


def test_a_refused_pull_request_discards_the_staged_files(registry, community, world):
    with pytest.raises(BadRequest):  # an empty title: the pull request is refused before any commit
        community.commit_or_open_pr(world["bob"], world["repo"], "main", [add(registry, "b.txt", b"two")],
                                    "  ", "", True)
    assert staged_left(registry) == []
    assert community.list(None, world["repo"])[1] == 0


def test_commit_mode(registry, community, world):
    repo = world["repo"]
    _result, pr = community.commit_or_open_pr(world["bob"], repo, "main", [add(registry, "b", b"b")], "b", "", True)
    assert community.commit_mode(world["ann"], repo, "main") == DIRECT
    assert community.commit_mode(world["bob"], repo, "main") == PR_ONLY
    assert community.commit_mode(world["bob"], repo, "refs/pr/1") == PR_REF
    assert community.commit_mode(world["ann"], repo, "refs/pr/1") == PR_REF  # maintainers too
    with pytest.raises(Forbidden):
        community.commit_mode(world["carl"], repo, "refs/pr/1")  # not carl's pull request
    with pytest.raises(ReadOnlyPrincipal):
        community.commit_mode(world["ro"], repo, "main")
    community.change_status(world["bob"], repo, pr.num, "closed")
    with pytest.raises(BadRequest):
        community.commit_mode(world["bob"], repo, "refs/pr/1")


@pytest.mark.parametrize("mode,requested,opens", [
    (DIRECT, False, False), (DIRECT, True, True), (PR_ONLY, False, True), (PR_ONLY, True, True),
    (PR_REF, False, False), (PR_REF, True, False)])
def test_opens_pr(mode, requested, opens):
    assert opens_pr(mode, requested) is opens


def test_repo_for_commit(registry, community, world):
    repo, get = world["repo"], community.repo_for_commit
    assert get(world["ann"], "model", "ann/m", "main", False).id == repo.id
    assert get(world["bob"], "model", "ann/m", "main", True).id == repo.id
    with pytest.raises(Forbidden, match="write access"):  # a reader commits only through a pull request
        get(world["bob"], "model", "ann/m", "main", False)
    with pytest.raises(ReadOnlyPrincipal, match="read-only"):
        get(world["ro"], "model", "ann/m", "main", True)
    with pytest.raises(RepoNotFound):
        get(world["bob"], "model", "ann/nothing", "main", True)
    community.commit_or_open_pr(world["bob"], repo, "main", [add(registry, "b", b"b")], "b", "", True)
    assert get(world["bob"], "model", "ann/m", "refs/pr/1", False).id == repo.id
    with pytest.raises(Forbidden):
        get(world["carl"], "model", "ann/m", "refs/pr/1", False)
