"""Pull requests end to end with the real HF client and real git: a user without write access opens
one (upload_file(create_pr=True)), adds commits (create_commit to refs/pr/N, git push), the owner
merges it; merging twice, merging a closed PR and merging a conflicting PR are refused."""

from __future__ import annotations

import hashlib
import os

import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.community import DiscussionCommit, DiscussionStatusChange
from huggingface_hub.errors import HfHubHTTPError

from tests.support.gitutil import make_git, remote_url

ALICE, BOB, CAROL = "cpr-alice", "cpr-bob", "cpr-carol"


@pytest.fixture(scope="module")
def tokens(hub):
    return dict(zip((ALICE, BOB, CAROL), hub.users(ALICE, BOB, CAROL)))


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory, lfs=False)


def refused(call, status: int) -> HfHubHTTPError:
    with pytest.raises(HfHubHTTPError) as exc:
        call()
    assert exc.value.response.status_code == status, exc.value.response.text
    return exc.value


def new_repo(hub, tokens, name: str, files: dict[str, bytes]) -> str:
    api = hub.api(tokens[ALICE])
    rid = f"{ALICE}/{name}"
    api.create_repo(rid)
    api.create_commit(rid, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="seed")
    return rid


def main_head(api, rid: str) -> str:
    return {b.name: b.target_commit for b in api.list_repo_refs(rid).branches}["main"]


def pr_head(api, rid: str, num: int) -> str | None:
    refs = api.list_repo_refs(rid, include_pull_requests=True)
    return {r.ref: r.target_commit for r in refs.pull_requests}.get(f"refs/pr/{num}")


def test_pull_request_from_a_non_writer_end_to_end(hub, tokens, hf_cache):
    alice, bob, carol = (hub.api(tokens[n]) for n in (ALICE, BOB, CAROL))
    rid = new_repo(hub, tokens, "pr-e2e", {"README.md": b"# e2e\n", "config.json": b'{"a": 1}\n'})
    base = main_head(alice, rid)

    # Bob cannot write to main, but can open a pull request with a commit.
    refused(lambda: bob.upload_file(path_or_fileobj=b"x", path_in_repo="direct.txt", repo_id=rid), 403)
    weights = os.urandom(64 * 1024)
    first = bob.upload_file(path_or_fileobj=weights, path_in_repo="weights/model.bin", repo_id=rid, create_pr=True,
                            commit_message="Add the weights")
    assert first.pr_url is not None and first.pr_num >= 1
    num = first.pr_num
    assert first.pr_revision == f"refs/pr/{num}"
    assert first.pr_url.endswith(f"/{rid}/discussions/{num}")
    assert pr_head(alice, rid, num) == first.oid
    assert main_head(alice, rid) == base  # nothing reached main

    # Bob adds a second commit to his pull request; Carol (a third user) may not.
    second = bob.create_commit(rid, [CommitOperationAdd("notes.md", b"# notes from bob\n")],
                               commit_message="Add notes", revision=f"refs/pr/{num}")
    assert pr_head(alice, rid, num) == second.oid
    refused(lambda: carol.create_commit(rid, [CommitOperationAdd("evil.txt", b"evil")], commit_message="evil",
                                        revision=f"refs/pr/{num}"), 403)
    assert pr_head(alice, rid, num) == second.oid

    d = alice.get_discussion_details(rid, num)
    assert d.is_pull_request and d.status == "open" and d.author == BOB
    assert d.title == "Add the weights"
    assert d.target_branch == "refs/heads/main"
    assert d.git_reference == f"refs/pr/{num}"
    assert d.conflicting_files == [] and d.merge_commit_oid is None
    assert "weights/model.bin" in d.diff and "notes.md" in d.diff and "evil.txt" not in d.diff
    assert {e.oid for e in d.events if isinstance(e, DiscussionCommit)} <= {first.oid, second.oid}

    # Alice merges: the files are on main, byte for byte.
    alice.merge_pull_request(rid, num)
    head = main_head(alice, rid)
    assert head != base
    path = hf_hub_download(rid, "weights/model.bin", endpoint=hub.url, token=tokens[ALICE], cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(weights).hexdigest()
    assert set(alice.list_repo_files(rid)) == {".gitattributes", "README.md", "config.json", "weights/model.bin",
                                              "notes.md"}
    d = hub.api(None).get_discussion_details(rid, num)
    assert d.status == "merged" and d.merge_commit_oid == head
    assert isinstance(d.events[-1], DiscussionStatusChange) and d.events[-1].new_status == "merged"
    assert d.events[-1].author == ALICE

    # Merging again is refused and changes nothing.
    refused(lambda: alice.merge_pull_request(rid, num), 400)
    assert main_head(alice, rid) == head
    # ... as is reopening or closing it.
    refused(lambda: alice.change_discussion_status(rid, num, "open"), 400)
    refused(lambda: bob.change_discussion_status(rid, num, "closed"), 400)
    assert alice.get_discussion_details(rid, num).status == "merged"
    # A merged pull request takes no more commits.
    refused(lambda: bob.create_commit(rid, [CommitOperationAdd("late.txt", b"late")], commit_message="late",
                                      revision=f"refs/pr/{num}"), 400)


def test_each_commit_to_a_pull_request_is_an_event(hub, tokens, git, tmp_path):
    """One commit event per commit, in order, however the commit came: create_pr, create_commit
    to refs/pr/N, git push."""
    alice, bob = hub.api(tokens[ALICE]), hub.api(tokens[BOB])
    rid = new_repo(hub, tokens, "pr-events", {"README.md": b"# events\n"})
    first = bob.upload_file(path_or_fileobj=b"one\n", path_in_repo="one.txt", repo_id=rid, create_pr=True,
                            commit_message="First commit")
    ref = first.pr_revision
    second = bob.create_commit(rid, [CommitOperationAdd("two.txt", b"two\n")], commit_message="Second commit",
                               revision=ref)
    work = tmp_path / "bob"
    git.clone(remote_url(hub, rid, tokens[BOB]), work)
    git.run("fetch", "origin", f"{ref}:pr", cwd=work)
    git.run("checkout", "-q", "pr", cwd=work)
    assert git.head(work) == second.oid
    third = git.commit_files(work, {"three.txt": b"three\n"}, "Third commit")
    git.run("push", "origin", f"HEAD:{ref}", cwd=work)
    assert pr_head(alice, rid, first.pr_num) == third

    d = alice.get_discussion_details(rid, first.pr_num)
    commits = [(e.oid, e.summary) for e in d.events if isinstance(e, DiscussionCommit)]
    assert commits == [(first.oid, "First commit"), (second.oid, "Second commit"), (third, "Third commit")]


def test_create_pull_request_then_commit_to_it(hub, tokens):
    """create_pull_request opens an empty PR whose ref starts at main; commits then land on it."""
    alice, bob = hub.api(tokens[ALICE]), hub.api(tokens[BOB])
    rid = new_repo(hub, tokens, "pr-empty", {"README.md": b"# empty\n"})
    base = main_head(alice, rid)
    pr = bob.create_pull_request(rid, "An empty start", description="Commits follow")
    assert pr.is_pull_request and pr.status == "open" and pr.author == BOB
    assert pr_head(alice, rid, pr.num) == base
    assert pr.diff == "" and [e.type for e in pr.events] == ["comment"]
    # Nothing to merge yet.
    refused(lambda: alice.merge_pull_request(rid, pr.num), 400)
    info = bob.create_commit(rid, [CommitOperationAdd("added.txt", b"added\n")], commit_message="Add a file",
                             revision=pr.git_reference)
    d = alice.get_discussion_details(rid, pr.num)
    assert [(e.type, getattr(e, "oid", None)) for e in d.events] == [("comment", None), ("commit", info.oid)]
    assert "+added" in d.diff
    alice.merge_pull_request(rid, pr.num, comment="Thanks!")
    d = alice.get_discussion_details(rid, pr.num)
    assert d.status == "merged"
    assert [e.type for e in d.events][-2:] == ["comment", "status-change"]
    assert d.events[-2].content == "Thanks!"


def test_merging_a_closed_pull_request_is_refused(hub, tokens):
    alice, bob = hub.api(tokens[ALICE]), hub.api(tokens[BOB])
    rid = new_repo(hub, tokens, "pr-closed", {"README.md": b"# closed\n"})
    base = main_head(alice, rid)
    info = bob.upload_file(path_or_fileobj=b"never\n", path_in_repo="never.txt", repo_id=rid, create_pr=True)
    alice.change_discussion_status(rid, info.pr_num, "closed", comment="Not this one")
    refused(lambda: alice.merge_pull_request(rid, info.pr_num), 400)
    assert main_head(alice, rid) == base
    assert alice.get_discussion_details(rid, info.pr_num).status == "closed"
    # Nor does a closed PR take commits.
    refused(lambda: bob.create_commit(rid, [CommitOperationAdd("more.txt", b"more")], commit_message="more",
                                      revision=f"refs/pr/{info.pr_num}"), 400)


def test_conflicting_pull_request_is_not_merged(hub, tokens):
    alice, bob = hub.api(tokens[ALICE]), hub.api(tokens[BOB])
    rid = new_repo(hub, tokens, "pr-conflict", {"README.md": b"# conflict\n", "config.json": b'{"v": 0}\n'})
    conflicting = bob.upload_file(path_or_fileobj=b'{"v": "bob"}\n', path_in_repo="config.json", repo_id=rid,
                                  create_pr=True)
    clean = bob.upload_file(path_or_fileobj=b"other\n", path_in_repo="other.txt", repo_id=rid, create_pr=True)
    # Meanwhile Alice changes the same file on main.
    alice.upload_file(path_or_fileobj=b'{"v": "alice"}\n', path_in_repo="config.json", repo_id=rid)
    head = main_head(alice, rid)

    d = alice.get_discussion_details(rid, conflicting.pr_num)
    assert d.conflicting_files == ["config.json"]
    err = refused(lambda: alice.merge_pull_request(rid, conflicting.pr_num), 409)
    assert "config.json" in err.response.json()["error"]
    assert main_head(alice, rid) == head
    assert alice.get_discussion_details(rid, conflicting.pr_num).status == "open"

    # A pull request touching other files still merges (three-way, whole files).
    assert alice.get_discussion_details(rid, clean.pr_num).conflicting_files == []
    alice.merge_pull_request(rid, clean.pr_num)
    assert hub.get(f"/{rid}/resolve/main/config.json").content == b'{"v": "alice"}\n'
    assert hub.get(f"/{rid}/resolve/main/other.txt").content == b"other\n"


def test_git_push_to_a_pull_request(hub, tokens, git, tmp_path):
    alice, bob = hub.api(tokens[ALICE]), hub.api(tokens[BOB])
    rid = new_repo(hub, tokens, "pr-git", {"README.md": b"# git\n"})
    pr = bob.create_pull_request(rid, "Via git", description="pushing with git")
    ref = f"refs/pr/{pr.num}"

    work = tmp_path / "bob"
    git.clone(remote_url(hub, rid, tokens[BOB]), work)
    git.run("fetch", "origin", f"{ref}:pr", cwd=work)
    git.run("checkout", "-q", "pr", cwd=work)
    sha = git.commit_files(work, {"pushed.txt": b"pushed by git\n"}, "Pushed with git")
    git.run("push", "origin", f"HEAD:{ref}", cwd=work)
    assert pr_head(alice, rid, pr.num) == sha
    d = alice.get_discussion_details(rid, pr.num)
    commits = [e for e in d.events if isinstance(e, DiscussionCommit)]
    assert [(c.oid, c.summary) for c in commits] == [(sha, "Pushed with git")]
    assert "pushed.txt" in d.diff

    # Bob has no write access: pushing to main is refused, with a reason, and nothing moves.
    head = main_head(alice, rid)
    proc = git.run("push", "origin", "HEAD:refs/heads/main", cwd=work, check=False)
    assert proc.returncode != 0
    assert "no write access" in proc.stderr and "refs/pr/N" in proc.stderr, proc.stderr
    assert main_head(alice, rid) == head

    # Carol may not push to Bob's pull request.
    other = tmp_path / "carol"
    git.clone(remote_url(hub, rid, tokens[CAROL]), other)
    git.run("fetch", "origin", f"{ref}:pr", cwd=other)
    git.run("checkout", "-q", "pr", cwd=other)
    git.commit_files(other, {"carol.txt": b"carol\n"}, "Carol's commit")
    proc = git.run("push", "origin", f"HEAD:{ref}", cwd=other, check=False)
    assert proc.returncode != 0
    assert f"{ref}: not an open pull request you may push to" in proc.stderr, proc.stderr
    assert pr_head(alice, rid, pr.num) == sha

    # Alice merges what came through git.
    alice.merge_pull_request(rid, pr.num)
    assert hub.get(f"/{rid}/resolve/main/pushed.txt").content == b"pushed by git\n"
