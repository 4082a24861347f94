"""Garbage collection against writers (models_registry/storage_gc.py): an upload collected before its
commit is refused rather than referenced, and a writer that uses an object while the collector walks
the repositories keeps it. On the real registry (SQLite, local store)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest
from sqlalchemy import update

from models_registry.clock import utcnow
from models_registry.commits import AddLfsRef
from models_registry.errors import RegistryError
from models_registry.tables import LfsObject

NOW = dt.timedelta(0)


@pytest.fixture
def owner(new_writer):
    return new_writer("gc-owner")


@pytest.fixture
def repo(registry, owner):
    return registry.repos.create(owner, "model", "gc-owner", "m")


def stored(registry, repo, days_old: int = 0) -> str:
    """An uploaded object no commit names yet, last used `days_old` days ago."""
    data = os.urandom(5000)
    oid = hashlib.sha256(data).hexdigest()
    registry.commits.store_lfs_object(repo, registry.stager.from_bytes(data), oid, len(data))
    if days_old:
        then = utcnow() - dt.timedelta(days=days_old)
        with registry.db.session(write=True) as s:
            s.execute(update(LfsObject).where(LfsObject.oid == oid).values(created_at=then, used_at=then))
    return oid


def test_an_upload_collected_before_its_commit_is_refused(registry, owner, repo):
    oid = stored(registry, repo)
    report = registry.storage_gc.run(NOW)
    assert [o for o, _ in report.objects] == [oid]
    assert not registry.blobs.exists(oid)
    with pytest.raises(RegistryError):
        registry.commits.commit(owner, repo, "main", [AddLfsRef("w.bin", oid)], "names a freed object")
    assert registry.repos.resolve_revision(repo, "main") == repo.head_sha


def test_a_push_that_checks_an_object_during_the_walk_keeps_it(registry, owner, repo):
    checked, forgotten = stored(registry, repo, days_old=3), stored(registry, repo, days_old=3)

    def a_push_lands(_done: int) -> None:  # while the collector walks the repositories
        assert registry.commits.lfs_object_size(repo, checked) == 5000

    report = registry.storage_gc.run(dt.timedelta(days=1), progress=a_push_lands)
    assert [o for o, _ in report.objects] == [forgotten]
    assert registry.blobs.exists(checked) and not registry.blobs.exists(forgotten)
    registry.commits.commit(owner, repo, "main", [AddLfsRef("w.bin", checked)], "the push's commit")
    assert registry.storage_gc.run(NOW).objects == []  # now a ref reaches it
