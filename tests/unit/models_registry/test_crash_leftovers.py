"""What a killed writer leaves behind is recovered: git lock files (by the next writer under the
repository lock, and by the start-up sweep) and partial upload files (by the sweep, as soon as the
process that wrote them is gone). Checked with the real `git`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dulwich.file import FileLocked
from dulwich.objects import Blob

from models_registry.storage import GitStore, Stager
from models_registry.storage.gitrepo import FILE_MODE, INCOMING_REFS
from models_registry.storage.xet.store import XetStore

AUTHOR = "Ada <ada@users.noreply.modelhub>"


def git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "--git-dir", str(path), *args], capture_output=True, text=True, check=check,
                          env=env, timeout=60)


def assert_fsck_clean(path: Path) -> None:
    out = git(path, "fsck", "--full", "--strict", check=False)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


@pytest.fixture
def store(tmp_path) -> GitStore:
    return GitStore(tmp_path / "repos")


def commit(git_repo, content: bytes, parents: list[str], message: str = "m") -> str:
    tree = git_repo.write_tree({"a.txt": (FILE_MODE, git_repo.add_blob(content))})
    return git_repo.make_commit(tree, parents, AUTHOR, message)


@pytest.fixture
def key(store) -> str:
    store.init("k1").close()
    with store.writing("k1") as g:
        assert g.set_ref("refs/heads/main", commit(g, b"one", []), None)
    return "k1"


def locks_in(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*.lock"))


def test_a_ref_lock_left_by_a_dead_writer_is_recovered_by_the_next_writer(store, key):
    path = store.path_for(key)
    (path / "refs" / "heads" / "main.lock").write_bytes(b"")  # kill -9 between lock and rename
    with store.open(key) as plain, pytest.raises(FileLocked):
        plain.set_ref("refs/heads/main", plain.ref_sha("refs/heads/main"), plain.ref_sha("refs/heads/main"))
    with store.writing(key) as g:
        head = g.ref_sha("refs/heads/main")
        new = commit(g, b"two", [head])
        assert g.set_ref("refs/heads/main", new, head)
    assert git(path, "rev-parse", "refs/heads/main").stdout.strip() == new
    assert locks_in(path) == []
    assert_fsck_clean(path)


def test_a_packed_refs_lock_is_recovered_when_a_packed_ref_is_deleted(store, key):
    path = store.path_for(key)
    with store.writing(key) as g:
        g.set_ref("refs/heads/dev", g.ref_sha("refs/heads/main"), None)
    git(path, "pack-refs", "--all")
    (path / "packed-refs.lock").write_bytes(b"")
    with store.writing(key) as g:
        assert g.delete_ref("refs/heads/dev")
    assert git(path, "show-ref", check=False).stdout.count("refs/heads/") == 1
    assert locks_in(path) == []


def _object_lock(path: Path, data: bytes) -> Path:
    sha = Blob.from_string(data).id.decode()
    (path / "objects" / sha[:2]).mkdir(exist_ok=True)
    lock = path / "objects" / sha[:2] / f"{sha[2:]}.lock"
    lock.write_bytes(b"half a zlib stream")
    return lock


def test_an_object_lock_of_a_dead_writer_is_written_beside_and_removed(store, key):
    path = store.path_for(key)
    _object_lock(path, b"two")
    with store.writing(key) as g:
        head = g.ref_sha("refs/heads/main")
        new = commit(g, b"two", [head])
        assert g.set_ref("refs/heads/main", new, head)
    assert git(path, "cat-file", "-p", f"{new}:a.txt").stdout == "two"
    assert locks_in(path) == []
    assert_fsck_clean(path)


def test_an_object_lock_a_running_pull_may_own_is_left_to_the_sweep(store, key):
    path = store.path_for(key)
    lock = _object_lock(path, b"three")
    with store.incoming(key), store.writing(key) as g:
        head = g.ref_sha("refs/heads/main")
        new = commit(g, b"three", [head])
        assert g.set_ref("refs/heads/main", new, head)
    assert git(path, "cat-file", "-p", f"{new}:a.txt").stdout == "three"
    assert lock.exists()
    assert store.sweep_locks() == (1, 1)
    assert locks_in(path) == []
    assert_fsck_clean(path)


def test_recover_ref_locks_lets_git_itself_write_again(store, key):
    path = store.path_for(key)
    (path / "refs" / "heads" / "main.lock").write_bytes(b"")
    (path / "HEAD.lock").write_bytes(b"")
    head = git(path, "rev-parse", "refs/heads/main").stdout.strip()
    assert git(path, "update-ref", "refs/heads/main", head, head, check=False).returncode != 0
    with store.writing(key) as g:
        assert not (path / "HEAD.lock").exists()  # the top-level ones at once, as the lock is taken
        assert g.recover_ref_locks() == 1
        git(path, "update-ref", "refs/heads/main", head, head)
    with store.open(key) as plain, pytest.raises(AssertionError):
        plain.recover_ref_locks()  # without the repository lock a lock file may be a live writer's


def test_sweep_skips_a_repository_being_written_and_keeps_what_a_pull_may_own(store, key):
    path = store.path_for(key)
    obj = path / "objects" / "ab" / f"{'c' * 38}.lock"
    obj.parent.mkdir(exist_ok=True)
    for lock in (path / "refs" / "heads" / "main.lock", obj,
                 path / INCOMING_REFS / "run1" / "heads" / "main.lock"):
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_bytes(b"")
    with store.locks.hold(key):  # a commit in progress
        assert store.sweep_locks() == (0, 1)
    assert len(locks_in(path)) == 3
    with store.incoming(key):  # a `sync pull` fetching objects and refs/mirror-incoming/
        assert store.sweep_locks() == (1, 1)
    assert locks_in(path) == [f"objects/ab/{'c' * 38}.lock", f"{INCOMING_REFS}/run1/heads/main.lock"]
    assert store.sweep_locks() == (2, 1)
    assert locks_in(path) == []


# ---- partial uploads ----------------------------------------------------------------------------

def _leave_partial_files(tmp_path: Path) -> None:
    """A process that starts an LFS upload and a xorb, then dies without cleaning up (os._exit)."""
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from models_registry.storage import Stager
        w = Stager(Path({str(tmp_path / "tmp")!r})).writer()
        w.write(b"half an upload")
        import tempfile
        from models_registry.storage import scratch_owner
        tempfile.mkstemp(prefix=scratch_owner.prefix("xorb"), dir={str(tmp_path / "xet" / "tmp")!r})
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_partial_uploads_of_a_dead_process_are_swept_at_once_a_live_ones_kept(tmp_path):
    stager = Stager(tmp_path / "tmp")
    xet = XetStore(tmp_path / "xet")
    _leave_partial_files(tmp_path)
    mine = stager.writer()
    mine.write(b"still arriving")
    dead = sorted(p.name for p in (tmp_path / "tmp").glob("stage-*") if p != mine.path)
    assert len(dead) == 1 and len(list((tmp_path / "xet" / "tmp").glob("xorb-*"))) == 1

    assert stager.sweep(max_age=6 * 3600) == 1  # no waiting for the age rule: its writer is gone
    assert xet.sweep(max_age=6 * 3600) == 1
    assert [p.name for p in (tmp_path / "tmp").glob("stage-*")] == [mine.path.name]
    mine.write(b" and done")
    staged = mine.finish()
    assert staged.path.read_bytes() == b"still arriving and done"


def test_a_reused_process_id_does_not_make_a_dead_writer_look_alive(tmp_path):
    from models_registry.storage import scratch_owner

    stager = Stager(tmp_path / "tmp")
    boot, pid, start = scratch_owner.owner_tag().split(".")
    same_pid_other_process = tmp_path / "tmp" / f"stage-{boot}.{pid}.{int(start) - 1}-x1"
    other_boot = tmp_path / "tmp" / f"stage-{'0' * 8 if boot != '0' * 8 else '1' * 8}.{pid}.{start}-x2"
    untagged = tmp_path / "tmp" / "stage-untagged"
    for path in (same_pid_other_process, other_boot, untagged):
        path.write_bytes(b"x")
    assert stager.sweep(max_age=3600) == 2
    assert untagged.exists()  # from before owners were named: only its age can tell
