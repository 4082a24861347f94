"""A crash never takes a repository out of service: concurrent committers against a real
`modelhub serve`, `kill -9` of the whole process group several times, restart. Afterwards every
acknowledged commit is reachable, `git fsck --full` is clean, the API's head is git's, and every
repository takes a new commit, also one that rewrites content being written at the moment of a kill.

Where a kill lands is chance, so the leftovers it can make are also laid down by hand exactly as a
killed writer leaves them (a ref's lock file, an object's, packed-refs', a half-received LFS upload):
once while the server runs (the next writer must recover them as it meets them) and once before a
restart (the start-up sweep must remove them)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import httpx2
from dulwich.objects import Blob

from tests.support.live import LiveHub, start_hub
from tests.support.waiting import poll

SEED = 1704
REPOS = 3
COMMITTERS = 6
KILLS = 4
USER = "crasher"
# Contents whose blobs a killed writer was writing (their lock files are laid down by hand).
AT_THE_KILL = b"written at the moment of the kill\n"
WHILE_SERVING = b"being written when the writer died\n"


def content(i: int, r: int) -> bytes:
    return f"committer {i} round {r}\n".encode()


def commit(hub: LiveHub, token: str, repo_id: str, files: dict[str, bytes], summary: str) -> str | None:
    """The new commit's id if the server acknowledged it, None if the connection broke."""
    lines = [{"key": "header", "value": {"summary": summary, "description": ""}}]
    lines += [{"key": "file", "value": {"content": base64.b64encode(data).decode(), "path": path,
                                        "encoding": "base64"}} for path, data in files.items()]
    try:
        resp = hub.commit_ndjson(token, repo_id, "\n".join(json.dumps(x) for x in lines).encode())
    except httpx2.TransportError:  # the server died under the request (refused, reset, cut short)
        return None
    assert resp.status_code == 200, (resp.status_code, resp.text)  # never a 500, before or after a crash
    return resp.json()["commitOid"]


class Committers:
    """COMMITTERS threads committing small files round-robin over the repositories until stopped."""

    def __init__(self, hub: LiveHub, token: str, repo_ids: list[str], start_round: int) -> None:
        self.acked: list[tuple[str, str, bytes, str]] = []  # repo, path, content, commit
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(hub, token, repo_ids, i, start_round))
                        for i in range(COMMITTERS)]
        for t in self.threads:
            t.start()

    def _run(self, hub: LiveHub, token: str, repo_ids: list[str], i: int, r: int) -> None:
        while not self.stop.is_set():
            repo_id, path = repo_ids[(i + r) % len(repo_ids)], f"c{i}/r{r}.txt"
            sha = commit(hub, token, repo_id, {path: content(i, r)}, f"committer {i} round {r}")
            if sha is None:
                return
            self.acked.append((repo_id, path, content(i, r), sha))
            r += 1

    def join(self) -> list[tuple[str, str, bytes, str]]:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=120)
        return self.acked


def start_partial_lfs_upload(hub: LiveHub, token: str, repo_id: str) -> threading.Thread:
    """An LFS PUT that announces 64 MiB and sends it slowly: at the kill, a half-written staging file."""
    size = 64 << 20
    oid = f"{random.Random(SEED).getrandbits(256):064x}"
    batch = hub.request("POST", f"/{repo_id}.git/info/lfs/objects/batch", token,
                        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]},
                        headers={"Accept": "application/vnd.git-lfs+json"})
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]

    def send() -> None:
        host, port = hub.host_port.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.putrequest("PUT", href[len(hub.url):])
            conn.putheader("Content-Length", str(size))
            conn.putheader("Content-Type", "application/octet-stream")
            conn.endheaders()
            for _ in range(size // (1 << 20) - 1):
                conn.send(b"\1" * (1 << 20))
                time.sleep(0.02)
        except OSError:
            pass  # the server was killed
        finally:
            conn.close()

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def repo_dirs(hub: LiveHub) -> list[Path]:
    return sorted((hub.data_dir / "repos").glob("*/*.git"))


def git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "--git-dir", str(path), *args], capture_output=True, text=True, check=check,
                          env=env, timeout=120)


def dir_of(hub: LiveHub, head: str) -> Path:
    found = [p for p in repo_dirs(hub) if git(p, "rev-parse", "refs/heads/main").stdout.strip() == head]
    assert len(found) == 1, (head, found)
    return found[0]


def leave_lock_files(path: Path, reused: bytes) -> list[Path]:
    """What a writer killed at the wrong moment leaves: the branch's lock, packed-refs', and the lock
    of an object the next commit writes again (the blob of `reused`)."""
    sha = Blob.from_string(reused).id.decode()
    locks = [path / "refs" / "heads" / "main.lock", path / "packed-refs.lock",
             path / "objects" / sha[:2] / f"{sha[2:]}.lock"]
    for lock in locks:
        lock.parent.mkdir(exist_ok=True)
        lock.write_bytes(b"x\x9c half-written")
    return locks


def moved_behind_the_database(path: Path) -> str:
    """A branch moved by a writer killed before it told the database (and the search index)."""
    for stale in (path / "refs" / "heads" / "main.lock", path / "packed-refs.lock"):
        stale.unlink(missing_ok=True)  # the kill may have caught a writer here: git would refuse to move
    head = git(path, "rev-parse", "refs/heads/main").stdout.strip()
    tree = git(path, "rev-parse", f"{head}^{{tree}}").stdout.strip()
    env_commit = ["-c", "user.name=Killed Writer", "-c", "user.email=killed@example.com"]
    new = git(path, *env_commit, "commit-tree", tree, "-p", head, "-m", "the ref moved, then the kill").stdout.strip()
    git(path, "update-ref", "refs/heads/main", new, head)
    return new


def partial_uploads(hub: LiveHub) -> list[str]:
    return sorted(p.name for p in [*(hub.data_dir / "tmp").glob("stage-*"),
                                   *(hub.data_dir / "xet" / "tmp").glob("xorb-*")])


def test_repeated_kill_9_loses_no_acknowledged_commit_and_every_repository_takes_commits(tmp_path):
    rng = random.Random(SEED)
    hub = start_hub(tmp_path, workers=2)
    token = hub.user(USER)
    repo_ids = [f"{USER}/crash-{n}" for n in range(REPOS)]
    for repo_id in repo_ids:
        hub.api(token).create_repo(repo_id)
    acked: list[tuple[str, str, bytes, str]] = []
    try:
        for kill in range(KILLS):
            committers = Committers(hub, token, repo_ids, start_round=kill * 1000)
            upload = start_partial_lfs_upload(hub, token, repo_ids[0]) if kill == 0 else None
            poll(lambda: len(committers.acked), lambda n: n >= 3 * COMMITTERS, timeout=60)
            time.sleep(rng.uniform(0.0, 0.4))
            if upload is not None:
                assert partial_uploads(hub), "the slow upload should be half-written by now"
            hub.kill()
            acked += committers.join()
            if upload is not None:
                upload.join(timeout=60)
            if kill == KILLS - 1:  # and a kill at the worst moments, certainly
                moved_behind_the_database(repo_dirs(hub)[0])
                for path in repo_dirs(hub):
                    leave_lock_files(path, AT_THE_KILL)
            hub = hub.restart()
            hub.wait_for_start_up_sweep()
            assert partial_uploads(hub) == []  # their writer is dead: no need to wait 6 hours
            assert list((hub.data_dir / "repos").rglob("*.lock")) == []
            log = hub.log()
            assert "Traceback" not in log, log[-5000:]
        assert len(acked) >= KILLS * 3 * COMMITTERS

        # The database's head is git's, also where a kill fell between the two (before any new commit).
        heads = {rid: hub.api(token).model_info(rid).sha for rid in repo_ids}
        assert {m.id: m.sha for m in hub.api(token).list_models(author=USER, full=True)} == heads

        # Leftovers met while serving: the next commit of each repository recovers them.
        for rid in repo_ids:
            leave_lock_files(dir_of(hub, heads[rid]), WHILE_SERVING)
        for rid in repo_ids:
            assert commit(hub, token, rid, {"after/kill.txt": AT_THE_KILL, "after/serving.txt": WHILE_SERVING},
                          "after the crashes") is not None

        api = hub.api(token)
        for rid in repo_ids:
            sha = api.model_info(rid).sha
            path = dir_of(hub, sha)
            assert git(path, "rev-parse", "refs/heads/main").stdout.strip() == sha
            fsck = git(path, "fsck", "--full", "--strict", check=False)
            assert fsck.returncode == 0 and not fsck.stderr.strip(), fsck.stderr
            reachable = set(git(path, "rev-list", "refs/heads/main").stdout.split())
            mine = [a for a in acked if a[0] == rid]
            assert {a[3] for a in mine} <= reachable  # every acknowledged commit survived
            files = set(api.list_repo_files(rid))
            assert {a[1] for a in mine} <= files
            for _rid, file_path, data, _sha in mine[:: max(1, len(mine) // 5)]:
                assert hub.get(f"/{rid}/resolve/main/{file_path}", token).content == data
            assert hub.get(f"/{rid}/resolve/main/after/kill.txt", token).content == AT_THE_KILL
            assert hub.get(f"/{rid}/resolve/main/after/serving.txt", token).content == WHILE_SERVING
        for path in repo_dirs(hub):
            assert git(path, "fsck", "--full", "--strict", check=False).returncode == 0
        assert list((hub.data_dir / "repos").rglob("*.lock")) == []
        assert "Traceback" not in hub.log()
    finally:
        hub.stop()


def test_a_push_recovers_a_ref_lock_a_dead_writer_left(tmp_path):
    """git receive-pack cannot recover a lock file itself: the hub does it first, under the lock."""
    from tests.support.gitutil import Git, remote_url

    (tmp_path / "hub").mkdir()
    hub = start_hub(tmp_path / "hub", workers=1)
    try:
        token = hub.user(USER)
        rid = f"{USER}/pushed"
        hub.api(token).create_repo(rid)
        path = dir_of(hub, hub.api(token).model_info(rid).sha)
        hub.wait_for_start_up_sweep()
        locks = leave_lock_files(path, b"pushed while a lock was left\n")
        g = Git(tmp_path / "home", lfs=False)
        work = tmp_path / "work"
        g.clone(remote_url(hub, rid, token), work)
        (work / "pushed.txt").write_bytes(b"pushed while a lock was left\n")
        g.run("add", "pushed.txt", cwd=work)
        g.run("commit", "-m", "push after a crash", cwd=work)
        g.run("push", "origin", "main", cwd=work)
        pushed = g.out("rev-parse", "HEAD", cwd=work)
        assert hub.api(token).model_info(rid).sha == pushed
        assert not locks[0].exists() and not locks[1].exists()  # the ref locks; git wrote the object itself
        assert git(path, "fsck", "--full", "--strict", check=False).returncode == 0
    finally:
        hub.stop()
