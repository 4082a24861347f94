"""The download hot path's memory of what commits cannot change (models_registry/file_facts.py):
answers stay right when a branch moves, a path appears, or a sha from another repository is asked
for; the memory stays within its bound. On the real registry (SQLite, local store)."""

from __future__ import annotations

import pytest

from models_registry.commits import AddFile, DeletePath
from models_registry.errors import EntryNotFound, RevisionNotFound
from models_registry.file_facts import FileFacts


@pytest.fixture
def owner(new_writer):
    return new_writer("facts-owner")


def commit(reg, owner, repo, files: dict[str, bytes], delete: tuple[str, ...] = (), branch: str = "main") -> str:
    ops = [AddFile(p, reg.stager.from_bytes(d)) for p, d in files.items()] + [DeletePath(p) for p in delete]
    return reg.commits.commit(owner, repo, branch, ops, "change").sha


def read(reg, repo, rev: str, path: str) -> tuple[str, bytes]:
    f = reg.repos.resolve_file(repo, rev, path)
    return f.commit, reg.repos.read_regular(repo, f.blob_sha)


def test_a_moved_branch_and_a_new_path_are_seen_at_once(registry, owner):
    repo = registry.repos.create(owner, "model", "facts-owner", "m")
    first = commit(registry, owner, repo, {"config.json": b'{"v": 1}'})
    assert read(registry, repo, "main", "config.json") == (first, b'{"v": 1}')
    with pytest.raises(EntryNotFound):
        registry.repos.resolve_file(repo, "main", "tokenizer.json")  # remembered as absent at `first`
    second = commit(registry, owner, repo, {"config.json": b'{"v": 2}', "tokenizer.json": b"{}"})
    assert read(registry, repo, "main", "config.json") == (second, b'{"v": 2}')
    assert read(registry, repo, "main", "tokenizer.json") == (second, b"{}")
    assert read(registry, repo, first, "config.json") == (first, b'{"v": 1}')  # history keeps its answer
    with pytest.raises(EntryNotFound):
        registry.repos.resolve_file(repo, first, "tokenizer.json")
    third = commit(registry, owner, repo, {}, delete=("tokenizer.json",))
    with pytest.raises(EntryNotFound):
        registry.repos.resolve_file(repo, "main", "tokenizer.json")
    assert registry.repos.resolve_file(repo, "main", "config.json").commit == third


def test_tags_and_other_branches_resolve_as_before(registry, owner):
    repo = registry.repos.create(owner, "model", "facts-owner", "tags")
    first = commit(registry, owner, repo, {"a.txt": b"one"})
    registry.repos.create_tag(owner, repo, "v1", "main", "annotated: peeled on the way")
    registry.repos.create_branch(owner, repo, "dev", "main")
    commit(registry, owner, repo, {"a.txt": b"two"})
    assert read(registry, repo, "v1", "a.txt") == (first, b"one")
    assert read(registry, repo, "dev", "a.txt") == (first, b"one")
    assert read(registry, repo, "refs/heads/dev", "a.txt") == (first, b"one")
    assert read(registry, repo, "main", "a.txt")[1] == b"two"
    with pytest.raises(RevisionNotFound):
        registry.repos.resolve_file(repo, "no-such-branch", "a.txt")


def test_a_commit_of_another_repository_is_not_found_here(registry, owner):
    private = registry.repos.create(owner, "model", "facts-owner", "private", private=True)
    public = registry.repos.create(owner, "model", "facts-owner", "public")
    secret = commit(registry, owner, private, {"secret.txt": b"only here"})
    assert read(registry, private, secret, "secret.txt") == (secret, b"only here")  # now remembered
    with pytest.raises(RevisionNotFound):
        registry.repos.resolve_file(public, secret, "secret.txt")


def test_the_memory_stays_within_its_bounds():
    facts = FileFacts(max_files=3, max_blob_bytes=10)
    for i in range(5):
        facts.remember_file("key", f"{i:040x}", "a", ("sha", 1, None))
    assert [facts.file("key", f"{i:040x}", "a") is not None for i in range(5)] == [False, False, True, True, True]
    facts.remember_blob("x", b"123456")
    facts.remember_blob("y", b"123456")  # 12 bytes > 10: the older one goes
    assert (facts.blob("x"), facts.blob("y")) == (None, b"123456")
    facts.remember_blob("big", b"x" * (64 * 1024 + 1))  # beyond SMALL_BLOB: never kept
    assert facts.blob("big") is None and facts.blob("y") == b"123456"
