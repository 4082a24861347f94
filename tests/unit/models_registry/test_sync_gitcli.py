"""The git plumbing of sync (models_registry/sync/gitcli.py) on real bare repositories, and the
parts of the remote client that need no server (URL checks, throttling)."""

from __future__ import annotations

import time

import pytest

from models_registry.storage import GitStore
from models_registry.storage.gitrepo import FILE_MODE
from models_registry.storage.lfs import Pointer
from models_registry.sync import gitcli
from models_registry.sync.transfer import _Digest, _Throttle
from models_registry.sync.upstream import Remote, SyncError

AUTHOR = "Ada <ada@users.noreply.modelhub>"
P1 = Pointer("a" * 64, 1234)
P2 = Pointer("b" * 64, 99)


@pytest.fixture
def repo(tmp_path):
    store = GitStore(tmp_path / "repos")
    with store.init("k1") as r:
        yield r


def commit(repo, files: dict[str, bytes], parents: list[str]) -> str:
    tree = repo.write_tree({p: (FILE_MODE, repo.add_blob(d)) for p, d in files.items()})
    return repo.make_commit(tree, parents, AUTHOR, "c")


def test_lfs_pointers_per_commit_and_only_new_ones(repo):
    c1 = commit(repo, {"a.bin": P1.encode(), "notes.txt": b"not a pointer\n", "big.txt": b"x" * 5000}, [])
    c2 = commit(repo, {"a.bin": P1.encode(), "dir/b.bin": P2.encode()}, [c1])
    per_commit = gitcli.lfs_pointers(repo.path, [c1, c2])
    assert per_commit == {c1: [("a.bin", P1)], c2: [("a.bin", P1), ("dir/b.bin", P2)]}
    assert gitcli.new_pointer_oids(repo.path, [c2], [c1]) == {P2.oid: P2}
    assert gitcli.new_pointer_oids(repo.path, [c2], []) == {P1.oid: P1, P2.oid: P2}


def test_new_commits_refs_and_ancestry(repo):
    c1 = commit(repo, {"f": b"1"}, [])
    c2 = commit(repo, {"f": b"2"}, [c1])
    other = commit(repo, {"f": b"3"}, [c1])
    assert gitcli.new_commits(repo.path, [c2], [c1]) == [c2]
    assert gitcli.new_commits(repo.path, [c2], []) == [c1, c2]
    assert gitcli.is_ancestor(repo.path, c1, c2) and not gitcli.is_ancestor(repo.path, other, c2)
    assert repo.set_ref("refs/heads/dev", other, None)
    assert gitcli.refs(repo.path, "refs/heads/dev") == {"refs/heads/dev": other}
    # commit + tree + blob "2" (the tree of c1 and blob "1" are known)
    assert gitcli.count_objects(repo.path, [c2], [c1]) == 3


def test_remote_refuses_bad_urls_and_tokens_in_urls():
    with pytest.raises(SyncError, match="Invalid hub URL"):
        Remote("ftp://example.com", "a/b")
    with pytest.raises(SyncError, match="not in the URL"):
        Remote("https://user:secret@example.com", "a/b")
    r = Remote("https://example.com/", "a/b", token="t0k")
    try:
        assert r.git_url == "https://example.com/a/b.git"
        env = r.git_env()
        assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader" and env["GIT_CONFIG_VALUE_0"] == "Authorization: Bearer t0k"
        assert env["GIT_TERMINAL_PROMPT"] == "0"
        # Signed links on another host get only their own headers, never our token.
        assert r.action_headers({"href": "https://cdn.example.net/x?sig=1", "header": {"a": "b"}}) == {"a": "b"}
        assert r.action_headers({"href": "https://example.com/x", "header": {}}) == {"authorization": "Bearer t0k"}
    finally:
        r.close()


def test_throttle_keeps_under_the_rate():
    t = _Throttle(1_000_000)
    start = time.monotonic()
    for _ in range(4):
        t.wait(100_000)
    assert time.monotonic() - start >= 0.35


def test_digest_matches_hashlib():
    import hashlib

    data = [b"x" * 3_000_000, b"y" * 10, b"\x00" * 9000]
    d = _Digest(sum(map(len, data)))
    for chunk in data:
        d.update(chunk)
    sha256, sha1 = d.finish()
    whole = b"".join(data)
    assert sha256 == hashlib.sha256(whole).hexdigest()
    assert sha1 == hashlib.sha1(b"blob %d\x00" % len(whole) + whole).hexdigest()
    assert d.head == whole[:8000]
