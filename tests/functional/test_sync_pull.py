"""`modelhub sync pull`: two real servers on loopback, one the upstream, one the mirror; the CLI runs
against the mirror's data folder, exactly as an operator runs it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd

from tests.support.gitutil import make_git, remote_url, sha256
from tests.support.live import free_port, start_hub

OWNER = "sp-owner"      # on the upstream
OUTSIDER = "sp-outsider"  # on the upstream, no access to private repos
MIRROR_NS = "sp-mirror"   # on the mirror


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    up = start_hub(tmp_path_factory.mktemp("sync-upstream"))
    mirror = start_hub(tmp_path_factory.mktemp("sync-mirror"))
    try:
        up.users(OWNER, OUTSIDER)
        mirror.users(MIRROR_NS)
        yield up, mirror
    finally:
        up.stop()
        mirror.stop()


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


def pull(mirror, upstream_url: str, spec: str, *args: str) -> tuple[int, dict | None, str]:
    """Run `modelhub sync pull` against the mirror; (exit code, JSON report, stderr)."""
    proc = mirror.cli("sync", "pull", "--from", upstream_url, spec, "--json", *args, check=False)
    lines = proc.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return proc.returncode, report, proc.stderr


def exists_locally(mirror, repo_id: str) -> bool:
    """Asked as the namespace's owner, who would see a private repository too."""
    resp = mirror.get(f"/api/models/{repo_id}", token=mirror.user(MIRROR_NS))
    assert resp.status_code in (200, 404), resp.status_code
    return resp.status_code == 200


def ls_remote(git, hub, repo_id: str, token: str | None = None) -> dict[str, str]:
    return {r: s for r, s in git.ls_remote(remote_url(hub, repo_id, token)).items() if r != "HEAD"}


def files_at(hub, repo_id: str, rev: str, token: str | None = None) -> dict[str, str]:
    """path -> sha256 of the bytes served at `rev` (LFS files resolved to their content)."""
    api = hub.api(token)
    out = {}
    for path in api.list_repo_files(repo_id, revision=rev):
        resp = hub.get(f"/{repo_id}/resolve/{rev}/{path}", token=token)
        assert resp.status_code == 200, (path, resp.status_code)
        out[path] = sha256(resp.content)
    return out


def make_upstream_repo(up, name: str, *, private: bool = False, big: bytes | None = None) -> tuple[str, dict]:
    api = up.api(up.user(OWNER))
    rid = f"{OWNER}/{name}"
    api.create_repo(rid, private=private)
    weights = big if big is not None else os.urandom(200_000)
    ops = [CommitOperationAdd("README.md", b"---\nlicense: apache-2.0\ntags:\n- mirrored\n---\n# Model\n"),
           CommitOperationAdd("config.json", b'{"hidden": 8}\n'),
           CommitOperationAdd("weights/model.bin", weights)]
    c1 = api.create_commit(rid, ops, commit_message="Add model")
    return rid, {"c1": c1.oid, "weights": weights}


def test_first_pull_mirrors_every_branch_and_tag_with_identical_hashes_and_bytes(hubs, git):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "first")
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=os.urandom(50_000), path_in_repo="dev.safetensors.bin", repo_id=rid,
                    revision="dev", commit_message="Dev weights")
    api.create_tag(rid, tag="v1", tag_message="release 1")
    api.create_tag(rid, tag="light", revision="dev")
    api.upload_file(path_or_fileobj=b"after the tag\n", path_in_repo="NOTES.md", repo_id=rid)

    code, report, err = pull(mirror, up.url, f"{rid}:{MIRROR_NS}/first")

    assert code == 0, err
    assert report["method"] == "git" and report["failed"] == []
    upstream_refs = ls_remote(git, up, rid)
    assert set(upstream_refs) == {"refs/heads/main", "refs/heads/dev", "refs/tags/v1", "refs/tags/v1^{}",
                                  "refs/tags/light"}
    assert ls_remote(git, mirror, f"{MIRROR_NS}/first") == upstream_refs  # identical hashes, annotated tag too
    assert set(report["refs_updated"]) == {"refs/heads/main", "refs/heads/dev", "refs/tags/v1", "refs/tags/light"}
    for rev in ("main", "dev", "v1", "light"):
        assert files_at(mirror, f"{MIRROR_NS}/first", rev) == files_at(up, rid, rev), rev
    assert report["lfs_objects"] == 2 and report["lfs_bytes"] == 250_000 and report["skipped"] == 0
    # Every LFS file of every mirrored commit, with the upstream's sha256 and ours.
    head = upstream_refs["refs/heads/main"]
    checks = {c["path"]: c for c in report["lfs_checks"][head]}
    assert checks["weights/model.bin"]["upstream_sha256"] == sha256(info["weights"]) == checks["weights/model.bin"]["sha256"]
    assert set(report["lfs_checks"]) == {c.commit_id for b in ("main", "dev") for c in api.list_repo_commits(rid, revision=b)}
    # Card metadata (license) and history carried over.
    minfo = mirror.api(None).model_info(f"{MIRROR_NS}/first")
    assert minfo.card_data["license"] == "apache-2.0" and "license:apache-2.0" in minfo.tags
    assert report["card_data"]["license"] == "apache-2.0" and report["gated"] is False and report["private"] is False
    assert [c.commit_id for c in mirror.api(None).list_repo_commits(f"{MIRROR_NS}/first")] == \
        [c.commit_id for c in api.list_repo_commits(rid)]
    assert "objects" in err and "transferred" in err  # the summary


def test_incremental_pull_transfers_only_the_new_objects(hubs, git):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "incremental")
    local = f"{MIRROR_NS}/incremental"
    code, first, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 0, err

    code, again, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 0, err
    assert (again["git_objects"], again["lfs_objects"], again["bytes_transferred"], again["refs_updated"]) == \
        (0, 0, 0, {})

    more = os.urandom(120_000)
    new = api.create_commit(rid, [CommitOperationAdd("extra.txt", b"one more file\n"),
                                  CommitOperationAdd("more.bin", more)], commit_message="More").oid
    code, inc, err = pull(mirror, up.url, f"{rid}:{local}")

    assert code == 0, err
    # The new commit, its root tree, the new text blob and the new pointer blob: nothing else.
    assert inc["git_objects"] == 4
    assert (inc["lfs_objects"], inc["lfs_bytes"]) == (1, len(more))
    assert inc["skipped"] == 1  # weights/model.bin is in the new commit too, and already here
    assert inc["refs_updated"] == {"refs/heads/main": [info["c1"], new]}
    assert ls_remote(git, mirror, local) == ls_remote(git, up, rid)
    assert files_at(mirror, local, "main") == files_at(up, rid, "main")


def kill_pull_mid_transfer(mirror, upstream_url: str, spec: str, part: Path, at: int) -> int:
    """Start `modelhub sync pull` slowed down, kill -9 it once `part` (the partial LFS download)
    holds `at` bytes; returns how many it holds then."""
    proc = subprocess.Popen([sys.executable, "-m", "hub", "sync", "pull", "--from", upstream_url, spec,
                             "--max-rate", str(6 * 1024 * 1024)], env=mirror.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if part.exists() and part.stat().st_size >= at:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the pull finished before it could be interrupted"
    return part.stat().st_size


def test_pull_killed_in_the_middle_of_a_large_lfs_file_resumes_where_it_stopped(hubs):
    up, mirror = hubs
    size = 24 * 1024 * 1024
    rid, info = make_upstream_repo(up, "large", big=os.urandom(size))
    local = f"{MIRROR_NS}/large"
    part = mirror.data_dir / "tmp" / "sync-partial" / f"{sha256(info['weights'])}.part"
    done = kill_pull_mid_transfer(mirror, up.url, f"{rid}:{local}", part, 5 * 1024 * 1024)
    assert 5 * 1024 * 1024 <= done < size
    # Killed before any ref moved: the mirror shows nothing of the upstream yet.
    assert mirror.get(f"/api/models/{local}").json().get("sha") != info["c1"]
    # Meanwhile the upstream moves on: what the killed pull fetched is not taken as complete.
    later = up.api(up.user(OWNER)).upload_file(path_or_fileobj=b"later\n", path_in_repo="later.txt",
                                               repo_id=rid).oid

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")

    assert code == 0, err
    assert report["bytes_resumed"] == done
    assert report["lfs_bytes"] == size - done  # the finished part was not downloaded again
    assert report["lfs_objects"] == 1
    assert not part.exists()
    resp = mirror.get(f"/{local}/resolve/main/weights/model.bin")
    assert sha256(resp.content) == sha256(info["weights"])
    assert mirror.get(f"/api/models/{local}").json()["sha"] == later
    # Every upstream commit was checked, the killed pull's ones included.
    assert set(report["lfs_checks"]) == {c.commit_id for c in up.api(up.user(OWNER)).list_repo_commits(rid)}


def test_private_upstream_needs_a_token_with_access(hubs):
    up, mirror = hubs
    rid, info = make_upstream_repo(up, "private", private=True)
    local = f"{MIRROR_NS}/private"

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 1
    assert "repository not found or you have no access (pass --token)" in err
    assert not exists_locally(mirror, local)  # nothing created here

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--token", up.user(OUTSIDER))
    assert code == 1 and "no access" in err
    assert not exists_locally(mirror, local)

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--token", "hf_not_a_real_token_0123456789")
    assert code == 1 and "token was refused" in err

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--token", up.user(OWNER, role="read"))
    assert code == 0, err
    assert report["private"] is True
    token = mirror.user(MIRROR_NS)
    assert mirror.api(token).model_info(local).private is True  # a private upstream stays private here
    assert mirror.get(f"/api/models/{local}").status_code in (401, 404)
    assert files_at(mirror, local, "main", token) == files_at(up, rid, "main", up.user(OWNER))
    # The token never shows up in what the operator sees.
    assert up.user(OWNER, role="read") not in err


def namespace_exists(hub, namespace: str) -> bool:
    resp = hub.get(f"/{namespace}")
    assert resp.status_code in (200, 404), resp.status_code
    return resp.status_code == 200


def unfinished_folders(hub) -> list[Path]:
    """Bare repositories a first pull is filling (or was, when it was killed): no row names them."""
    return sorted((hub.data_dir / "repos").glob("*/*.git/modelhub-unfinished"))


def test_unreachable_upstream_and_missing_namespace_are_explained(hubs):
    up, mirror = hubs
    leftovers = unfinished_folders(mirror)  # an earlier test's killed pull may have left one
    code, report, err = pull(mirror, f"http://127.0.0.1:{free_port()}", f"{OWNER}/x:{MIRROR_NS}/unreachable")
    assert code == 1 and "Cannot reach" in err
    assert not exists_locally(mirror, f"{MIRROR_NS}/unreachable")

    # A namespace this hub lacks is created as on `sync add` and on-demand mirroring (an organization
    # without members)...
    rid, _ = make_upstream_repo(up, "nons")
    code, report, err = pull(mirror, up.url, f"{rid}:nobody-here/nons")
    assert code == 0, err
    assert mirror.api(None).model_info("nobody-here/nons").sha == report["refs_updated"]["refs/heads/main"][1]
    assert namespace_exists(mirror, "nobody-here")
    # ...but only with the repository: a pull that fails leaves neither.
    for upstream, spec in ((up.url, f"{OWNER}/no-such-repo:ghost-ns/a"),
                           (f"http://127.0.0.1:{free_port()}", f"{rid}:ghost-ns/b")):
        code, report, err = pull(mirror, upstream, spec)
        assert code == 1, err
        assert not namespace_exists(mirror, "ghost-ns")
    assert unfinished_folders(mirror) == leftovers  # a failed first pull removes its folder itself


def test_a_first_pull_killed_before_its_refs_land_leaves_nothing_visible(hubs):
    up, mirror = hubs
    size = 24 * 1024 * 1024
    rid, info = make_upstream_repo(up, "killed-first", big=os.urandom(size))
    local = "sp-killed-ns/killed-first"  # a namespace the pull would create too
    leftovers = unfinished_folders(mirror)
    part = mirror.data_dir / "tmp" / "sync-partial" / f"{sha256(info['weights'])}.part"
    kill_pull_mid_transfer(mirror, up.url, f"{rid}:{local}", part, 3 * 1024 * 1024)
    killed = set(unfinished_folders(mirror)) - set(leftovers)
    assert len(killed) == 1  # its git objects are on disk, under no name

    admin = mirror.user("sp-admin", admin=True)  # sees everything there is
    assert mirror.get(f"/api/models/{local}", token=admin).status_code == 404
    assert local not in [m.id for m in mirror.api(admin).list_models(author="sp-killed-ns")]
    assert mirror.get(f"/{local}").status_code == 404
    assert not namespace_exists(mirror, "sp-killed-ns")

    swept = mirror.cli("sweep", "--skip-uploads", "--quiet")
    assert f"removed {len(leftovers) + 1} unfinished repositories" in swept.stderr
    assert unfinished_folders(mirror) == []

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 0, err
    assert report["bytes_resumed"] >= 3 * 1024 * 1024  # the partial download was kept
    assert mirror.api(admin).model_info(local).sha == info["c1"]
    assert sha256(mirror.get(f"/{local}/resolve/main/weights/model.bin").content) == sha256(info["weights"])
    assert [c.commit_id for c in mirror.api(None).list_repo_commits(local)] == \
        [c.commit_id for c in up.api(None).list_repo_commits(rid)]  # the upstream's history, no local commit
    assert unfinished_folders(mirror) == []


def test_corrupted_object_is_refused_and_the_previous_mirror_state_kept(hubs, git):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "corrupt")
    local = f"{MIRROR_NS}/corrupt"
    assert pull(mirror, up.url, f"{rid}:{local}")[0] == 0
    before = ls_remote(git, mirror, local)

    bad = os.urandom(100_000)
    api.upload_file(path_or_fileobj=bad, path_in_repo="bad.dat", repo_id=rid, commit_message="Will rot")
    up.overwrite_lfs_object(sha256(bad), os.urandom(len(bad)))  # bit rot upstream: same size, other bytes

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")

    assert code == 1
    assert "Corrupted object for bad.dat" in err and sha256(bad) in err
    assert report["refs_updated"] == {}
    assert ls_remote(git, mirror, local) == before
    assert mirror.get(f"/{local}/resolve/main/bad.dat").status_code == 404
    assert not list((mirror.data_dir / "tmp" / "sync-partial").glob(f"{sha256(bad)}*"))
    # The same on a first pull: the repository it would have created is not left behind.
    code, report, err = pull(mirror, up.url, f"{rid}:{MIRROR_NS}/corrupt-first")
    assert code == 1 and "Corrupted object" in err
    assert not exists_locally(mirror, f"{MIRROR_NS}/corrupt-first")


def _limit_file_size(limit: int):
    def apply() -> None:  # in the child: writes beyond `limit` fail (EFBIG) as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_fails_cleanly_and_the_pull_resumes_once_there_is_room(hubs, git):
    up, mirror = hubs
    # The limit leaves room for the database's own writes (SQLite WAL) and the git pack: only the
    # LFS download hits it.
    size, limit = 16 * 1024 * 1024, 10 * 1024 * 1024
    rid, info = make_upstream_repo(up, "diskfull", big=os.urandom(1000))
    local = f"{MIRROR_NS}/diskfull"
    assert pull(mirror, up.url, f"{rid}:{local}", "--revision", "main")[0] == 0  # the repo exists here
    api = up.api(up.user(OWNER))
    more = os.urandom(size)
    new = api.upload_file(path_or_fileobj=more, path_in_repo="more.bin", repo_id=rid, commit_message="More").oid
    before = ls_remote(git, mirror, local)

    proc = subprocess.run([sys.executable, "-m", "hub", "sync", "pull", "--from", up.url, f"{rid}:{local}"],
                          env=mirror.env, capture_output=True, text=True, timeout=120,
                          preexec_fn=_limit_file_size(limit))

    assert proc.returncode == 1, proc.stderr
    assert "The disk is full while downloading more.bin" in proc.stderr
    assert ls_remote(git, mirror, local) == before
    part = mirror.data_dir / "tmp" / "sync-partial" / f"{sha256(more)}.part"
    kept = part.stat().st_size
    assert 0 < kept <= limit

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 0, err
    assert (report["bytes_resumed"], report["lfs_bytes"]) == (kept, size - kept)
    assert ls_remote(git, mirror, local)["refs/heads/main"] == new
    assert sha256(mirror.get(f"/{local}/resolve/main/more.bin").content) == sha256(more)


def test_rewritten_upstream_history_is_refused_unless_forced(hubs, git):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "rewrite")
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=b"first dev\n", path_in_repo="dev.txt", repo_id=rid, revision="dev")
    local = f"{MIRROR_NS}/rewrite"
    assert pull(mirror, up.url, f"{rid}:{local}")[0] == 0
    before = ls_remote(git, mirror, local)

    api.delete_branch(rid, branch="dev")
    api.create_branch(rid, branch="dev", revision=info["c1"])
    api.upload_file(path_or_fileobj=b"another dev\n", path_in_repo="dev.txt", repo_id=rid, revision="dev")
    api.upload_file(path_or_fileobj=b"main moves on\n", path_in_repo="main.txt", repo_id=rid)

    code, report, err = pull(mirror, up.url, f"{rid}:{local}")
    assert code == 1
    assert "rewrote history" in err and "refs/heads/dev" in err and "--force" in err
    assert ls_remote(git, mirror, local) == before  # main was not moved either: all or nothing

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--force")
    assert code == 0, err
    assert ls_remote(git, mirror, local) == ls_remote(git, up, rid)


def test_revision_pulls_only_that_branch(hubs, git):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "onebranch")
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=b"dev\n", path_in_repo="dev.txt", repo_id=rid, revision="dev")
    local = f"{MIRROR_NS}/onebranch"
    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--revision", "dev")
    assert code == 0, err
    assert set(report["refs_updated"]) == {"refs/heads/dev"}
    assert ls_remote(git, mirror, local)["refs/heads/dev"] == ls_remote(git, up, rid)["refs/heads/dev"]
    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--revision", "nope")
    assert code == 1 and "no branch or tag named 'nope'" in err


def test_gated_upstream_reports_its_gating(hubs):
    up, mirror = hubs
    api = up.api(up.user(OWNER))
    rid, info = make_upstream_repo(up, "gated")
    api.update_repo_settings(rid, gated="manual")
    local = f"{MIRROR_NS}/gated"

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--token", up.user(OUTSIDER))
    assert code == 1 and "gated" in err
    assert not exists_locally(mirror, local)

    code, report, err = pull(mirror, up.url, f"{rid}:{local}", "--token", up.user(OWNER))
    assert code == 0, err
    assert report["gated"] == "manual"


# ---- an upstream that serves only the HTTP API ------------------------------------------------
@pytest.fixture(scope="module")
def nogit(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("sync-nogit"), workers=1, env={"MODELHUB_GIT_HTTP": "0"})
    try:
        hub.users(OWNER)
        yield hub
    finally:
        hub.stop()


def test_api_fallback_recreates_history_and_pulls_incrementally(hubs, nogit, git, tmp_path):
    _, mirror = hubs
    api = nogit.api(nogit.user(OWNER))
    rid, info = make_upstream_repo(nogit, "apionly")
    api.upload_file(path_or_fileobj=b"second\n", path_in_repo="second.txt", repo_id=rid, commit_message="Second")
    api.create_branch(rid, branch="dev")
    api.upload_file(path_or_fileobj=os.urandom(30_000), path_in_repo="dev.bin", repo_id=rid, revision="dev")
    api.create_tag(rid, tag="v1", revision=info["c1"])
    # The premise: no git here.
    assert git.run("ls-remote", remote_url(nogit, rid), check=False).returncode != 0
    local = f"{MIRROR_NS}/apionly"

    code, report, err = pull(mirror, nogit.url, f"{rid}:{local}")

    assert code == 0, err
    assert report["method"] == "api"
    assert set(report["refs_updated"]) == {"refs/heads/main", "refs/heads/dev", "refs/tags/v1"}
    for rev in ("main", "dev", "v1"):
        assert files_at(mirror, local, rev) == files_at(nogit, rid, rev), rev
    up_titles = [c.title for c in api.list_repo_commits(rid)]
    here = list(mirror.api(None).list_repo_commits(local))
    assert [c.title for c in here] == up_titles
    up_ids = [c.commit_id for c in api.list_repo_commits(rid)]
    assert all(f"Upstream-Commit: {u}" in (c.message or "") for c, u in zip(here, up_ids))
    assert mirror.api(None).model_info(local).card_data["license"] == "apache-2.0"
    assert report["lfs_objects"] == 2

    code, again, err = pull(mirror, nogit.url, f"{rid}:{local}")
    assert code == 0 and again["refs_updated"] == {} and again["git_objects"] == 0

    api.upload_file(path_or_fileobj=b"third\n", path_in_repo="third.txt", repo_id=rid, commit_message="Third")
    code, inc, err = pull(mirror, nogit.url, f"{rid}:{local}")
    assert code == 0, err
    assert set(inc["refs_updated"]) == {"refs/heads/main"}
    assert (inc["git_objects"], inc["lfs_objects"], inc["skipped"]) == (2, 0, 1)  # the commit and third.txt
    assert files_at(mirror, local, "main") == files_at(nogit, rid, "main")
