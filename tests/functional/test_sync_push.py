"""`modelhub sync push`: publish a local repository to another hub (two real servers on loopback,
plus one that serves only the HTTP API)."""

from __future__ import annotations

import json
import os

import pytest
from huggingface_hub import CommitOperationAdd

from tests.support.gitutil import make_git, remote_url, sha256
from tests.support.live import start_hub

ORIGIN = "ps-origin"  # owner on hub A (where the original lives, and where the mirror pushes back)
MIRROR_NS = "ps-mirror"  # owner on hub B (the mirror)


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    a = start_hub(tmp_path_factory.mktemp("push-a"))
    b = start_hub(tmp_path_factory.mktemp("push-b"))
    try:
        a.users(ORIGIN, ("ps-reader", "read"))
        b.users(MIRROR_NS)
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


def run(hub, *args: str) -> tuple[int, dict | None, str]:
    proc = hub.cli("sync", *args, "--json", check=False)
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None, proc.stderr


def ls_remote(git, hub, repo_id: str, token: str | None = None) -> dict[str, str]:
    return {r: s for r, s in git.ls_remote(remote_url(hub, repo_id, token)).items() if r != "HEAD"}


def files_at(hub, repo_id: str, rev: str, token: str | None = None) -> dict[str, str]:
    out = {}
    for path in hub.api(token).list_repo_files(repo_id, revision=rev):
        resp = hub.get(f"/{repo_id}/resolve/{rev}/{path}", token=token)
        assert resp.status_code == 200, (path, resp.status_code)
        out[path] = sha256(resp.content)
    return out


@pytest.fixture(scope="module")
def mirrored(hubs):
    """A repository on A with branches, a tag and LFS files, mirrored into B."""
    a, b = hubs
    api = a.api(a.user(ORIGIN))
    rid = f"{ORIGIN}/source"
    api.create_repo(rid)
    api.create_commit(rid, [CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# Source\n"),
                            CommitOperationAdd("model.safetensors.bin", os.urandom(150_000))], commit_message="v1")
    api.create_tag(rid, tag="v1", tag_message="first")
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=os.urandom(40_000), path_in_repo="dev.bin", repo_id=rid, revision="dev")
    code, report, err = run(b, "pull", "--from", a.url, f"{rid}:{MIRROR_NS}/source")
    assert code == 0, err
    return rid, f"{MIRROR_NS}/source"


def test_push_from_the_mirror_to_the_other_hub_keeps_hashes_and_bytes(hubs, mirrored, git):
    a, b = hubs
    rid, local = mirrored
    dest = f"{ORIGIN}/pushed"
    token = a.user(ORIGIN)

    code, report, err = run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)

    assert code == 0, err
    assert report["method"] == "git" and report["failed"] == []
    assert ls_remote(git, a, dest) == ls_remote(git, b, local) == ls_remote(git, a, rid)
    for rev in ("main", "dev", "v1"):
        assert files_at(a, dest, rev) == files_at(b, local, rev), rev
    assert report["lfs_objects"] == 2
    assert set(report["refs_updated"]) == {"refs/heads/main", "refs/heads/dev", "refs/tags/v1"}
    assert a.api(None).model_info(dest).card_data["license"] == "mit"
    assert token not in err


def test_push_is_incremental(hubs, mirrored, git):
    a, b = hubs
    rid, local = mirrored
    dest = f"{ORIGIN}/incremental"
    token = a.user(ORIGIN)
    assert run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)[0] == 0

    code, report, err = run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)
    assert code == 0, err
    assert (report["git_objects"], report["lfs_objects"], report["refs_updated"]) == (0, 0, {})

    # The upstream moves on, the mirror follows: only the new objects travel on to the destination.
    old_main = ls_remote(git, a, dest)["refs/heads/main"]
    new_bytes = os.urandom(60_000)
    a.api(token).create_commit(rid, [CommitOperationAdd("new.bin", new_bytes),
                                     CommitOperationAdd("notes.txt", b"new\n")], commit_message="New")
    assert run(b, "pull", "--from", a.url, f"{rid}:{local}")[0] == 0
    code, report, err = run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)
    assert code == 0, err
    # The commit, its root tree and two blobs; one LFS object, whose bytes are all that was sent.
    assert (report["git_objects"], report["lfs_objects"], report["bytes_transferred"]) == (4, 1, len(new_bytes))
    assert report["refs_updated"] == {"refs/heads/main": [old_main, ls_remote(git, a, rid)["refs/heads/main"]]}
    assert ls_remote(git, a, dest) == ls_remote(git, b, local) == ls_remote(git, a, rid)
    assert files_at(a, dest, "main") == files_at(b, local, "main")


def test_push_refuses_to_overwrite_a_destination_that_moved_on(hubs, mirrored, git):
    a, b = hubs
    rid, local = mirrored
    dest = f"{ORIGIN}/diverged"
    token = a.user(ORIGIN)
    assert run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)[0] == 0
    a.api(token).upload_file(path_or_fileobj=b"theirs\n", path_in_repo="theirs.txt", repo_id=dest)
    a.api(token).upload_file(path_or_fileobj=b"ours\n", path_in_repo="ours.txt", repo_id=rid)
    assert run(b, "pull", "--from", a.url, f"{rid}:{local}")[0] == 0
    before = ls_remote(git, a, dest)

    code, report, err = run(b, "push", "--to", a.url, f"{local}:{dest}", "--token", token)

    assert code == 1 and "nothing was forced" in err
    assert ls_remote(git, a, dest) == before


def test_push_with_a_bad_token_fails_clearly(hubs, mirrored):
    a, b = hubs
    _, local = mirrored
    code, report, err = run(b, "push", "--to", a.url, f"{local}:{ORIGIN}/refused", "--token", "hf_wrong_0123456789")
    assert code == 1 and "token was refused" in err
    code, report, err = run(b, "push", "--to", a.url, f"{local}:{ORIGIN}/refused", "--token", a.user("ps-reader", "read"))
    assert code == 1 and report["failed"]
    assert a.get(f"/api/models/{ORIGIN}/refused", token=a.user(ORIGIN)).status_code == 404


@pytest.fixture(scope="module")
def nogit(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("push-nogit"), workers=1, env={"MODELHUB_GIT_HTTP": "0"})
    try:
        hub.users(ORIGIN)
        yield hub
    finally:
        hub.stop()


def test_push_to_a_hub_without_git_commits_through_the_api(hubs, mirrored, nogit):
    a, b = hubs
    _, local = mirrored
    dest = f"{ORIGIN}/viaapi"
    token = nogit.user(ORIGIN)

    code, report, err = run(b, "push", "--to", nogit.url, f"{local}:{dest}", "--token", token)

    assert code == 0, err
    assert report["method"] == "api"
    for rev in ("main", "dev"):
        assert files_at(nogit, dest, rev) == files_at(b, local, rev), rev

    code, report, err = run(b, "push", "--to", nogit.url, f"{local}:{dest}", "--token", token)
    assert code == 0 and report["refs_updated"] == {} and report["lfs_objects"] == 0
