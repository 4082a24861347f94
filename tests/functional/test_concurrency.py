"""Concurrent writers on one repository, through the real HF client against a 4-worker server."""

from __future__ import annotations

import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError

from tests.support.live import LiveHub, start_hub

THREADS = 8
ROUNDS = 3


@pytest.fixture(scope="module")
def busy_hub(tmp_path_factory) -> LiveHub:
    h = start_hub(tmp_path_factory.mktemp("busy-hub"), workers=4)
    yield h
    h.stop()


def bare_repo_dir(hub: LiveHub, head: str) -> Path:
    """The bare repository under data/repos whose main branch is at `head`."""
    found = [p for p in (hub.data_dir / "repos").glob("*/*.git")
             if subprocess.run(["git", "-C", str(p), "rev-parse", "--verify", "-q", "refs/heads/main"],
                               capture_output=True, text=True, timeout=60).stdout.strip() == head]
    assert len(found) == 1, found
    return found[0]


def run_all(fn, n: int) -> list:
    """Run fn(i) for i in range(n) on n threads that start together; results (or exceptions) in order."""
    barrier = threading.Barrier(n)

    def call(i):
        barrier.wait(timeout=60)
        try:
            return fn(i)
        except Exception as e:  # collected and checked by the caller
            return e

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))


def fsck(path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(path), "fsck", "--strict", "--no-dangling"], capture_output=True,
                          text=True, env=env, timeout=120)


def test_concurrent_uploads_all_land(busy_hub):
    token = busy_hub.user("racer")
    setup = busy_hub.api(token)
    repo_id = "racer/crowded"
    setup.create_repo(repo_id)
    initial = setup.list_repo_commits(repo_id)
    assert len(initial) == 1

    def uploader(i: int) -> list[str]:
        api = busy_hub.api(token)  # one client per thread, as separate processes would have
        oids = []
        for r in range(ROUNDS):
            info = api.upload_file(path_or_fileobj=f"thread {i} round {r}\n".encode(), repo_id=repo_id,
                                   path_in_repo=f"t{i}/r{r}.txt", commit_message=f"thread {i} round {r}")
            oids.append(info.oid)
        return oids

    results = run_all(uploader, THREADS)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], f"{errors}\n{busy_hub.log()[-5000:]}"
    commit_oids = [oid for r in results for oid in r]
    assert len(set(commit_oids)) == THREADS * ROUNDS

    files = set(setup.list_repo_files(repo_id))
    expected = {f"t{i}/r{r}.txt" for i in range(THREADS) for r in range(ROUNDS)}
    assert files == expected | {".gitattributes"}
    for i, r in [(0, 0), (THREADS - 1, ROUNDS - 1), (3, 1)]:
        path = busy_hub.get(f"/{repo_id}/resolve/main/t{i}/r{r}.txt", token)
        assert path.status_code == 200 and path.content == f"thread {i} round {r}\n".encode()

    commits = setup.list_repo_commits(repo_id)
    assert len(commits) == 1 + THREADS * ROUNDS
    assert commits[-1].commit_id == initial[0].commit_id
    assert {c.commit_id for c in commits[:-1]} == set(commit_oids)
    assert setup.model_info(repo_id).sha == commits[0].commit_id

    path = bare_repo_dir(busy_hub, commits[0].commit_id)
    result = fsck(path)
    assert result.returncode == 0, result.stderr
    # history is linear: every commit has exactly one parent, the one before it
    log = subprocess.run(["git", "-C", str(path), "log", "--format=%H %P", "main"], capture_output=True, text=True,
                         check=True, timeout=60).stdout.splitlines()
    assert len(log) == 1 + THREADS * ROUNDS
    for newer, older in zip(log, log[1:]):
        assert newer.split()[1:] == [older.split()[0]]


def test_concurrent_commits_on_the_same_parent(busy_hub):
    token = busy_hub.user("racer")
    setup = busy_hub.api(token)
    repo_id = "racer/contended"
    setup.create_repo(repo_id)
    parent = setup.model_info(repo_id).sha
    before = setup.list_repo_commits(repo_id)

    def committer(i: int):
        api = busy_hub.api(token)
        return api.create_commit(repo_id, operations=[
            CommitOperationAdd(path_in_repo=f"race/{i}.txt", path_or_fileobj=f"racer {i}\n".encode())],
            commit_message=f"racer {i}", parent_commit=parent)

    results = run_all(committer, THREADS)
    wins = [(i, r) for i, r in enumerate(results) if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1, results
    for e in losses:
        assert isinstance(e, HfHubHTTPError), repr(e)
        assert e.response.status_code == 412, (e.response.status_code, e.response.text)

    winner, info = wins[0]
    commits = setup.list_repo_commits(repo_id)
    assert len(commits) == len(before) + 1
    assert commits[0].commit_id == info.oid
    assert setup.model_info(repo_id).sha == info.oid
    race_files = [f for f in setup.list_repo_files(repo_id) if f.startswith("race/")]
    assert race_files == [f"race/{winner}.txt"]
    result = fsck(bare_repo_dir(busy_hub, info.oid))
    assert result.returncode == 0, result.stderr
