"""Garbage collection of stored bytes: LFS objects and Xet xorbs that nothing needs any more.

Mark and sweep with a grace window, chosen over reference counts because what keeps an object alive
is git history (every ref of every repository: branches, tags, pull requests), which only a walk of
the repositories knows; counts kept beside it would have to follow every push, fetch, squash and
deletion exactly, and one miss frees live bytes. The walk costs time, not safety, and runs daily.

- Mark: at T0, walk every repository's refs for the LFS pointers they reach (`new_pointer_oids`).
- Sweep: an LFS object is garbage if no ref reached it and nobody used it since T0 - grace; a xorb,
  if no remaining Xet file uses it and nobody used it since T0 - xorb grace. Uploads not committed
  yet (pending) are younger than the grace window.

Xorbs wait longer (XORB_GRACE, 22 days) because clients remember them: the Xet client keeps the
shards of its own uploads for 21 days (xet-core's MDB_SHARD_LOCAL_CACHE_EXPIRATION) and the dedup
shards this hub hands out for 7 (`build_dedup_shard`), and names those xorbs in later uploads
without sending them again. A xorb freed sooner makes such an upload fail ("upload it again")
until the client's cache expires. Handing out a dedup shard marks its xorbs used for that reason.

Against writers that land while it runs, the sweep deletes each row *conditionally* in the database
(`used_at`/`created_at` still before the cutoff, no file still using the xorb), and every writer
marks the objects it counts on as used (`mark_used`, `mark_xorbs_used`) in the transaction before its
ref moves: whichever comes second sees the first (a row lock on PostgreSQL, one writer at a time on
SQLite). Either the commit's touch wins and the object stays, or the delete wins and the commit is
refused ("upload it again"), never a ref to missing bytes. Checks that only read (`lfs_object_size`,
for pushes and pulls) mark an object used when its mark is older than USE_REFRESH, so the grace
window must exceed that plus the longest push (the default is a day). Bytes go after their row, under
the object's lock, which an upload takes to record a fresh copy (`store_lfs_object`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select

from .clock import utcnow
from .db import Database
from .locks import Locks
from .storage import BlobStore, GitStore
from .storage.xet.store import XetStore
from .sync import gitcli
from .object_use import object_lock, unused_since, xorb_lock
from .tables import LfsObject, RepoLfsObject, XetChunk, XetFile, XetFileXorb, XetXorb

log = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(days=1)
XORB_GRACE = dt.timedelta(days=22)  # the Xet client's shard cache (21 days) and a day's margin


@dataclass
class GcReport:
    repositories: int = 0
    reachable: int = 0
    objects: list[tuple[str, int]] = field(default_factory=list)  # (oid, size) freed (or to free)
    xorbs: list[tuple[str, int]] = field(default_factory=list)  # (hash, stored bytes)
    kept_in_use: int = 0  # candidates a writer used while the sweep ran

    @property
    def freed_bytes(self) -> int:
        return sum(n for _, n in self.objects) + sum(n for _, n in self.xorbs)


class StorageGC:
    def __init__(self, db: Database, git: GitStore, blobs: BlobStore, xet: XetStore, locks: Locks) -> None:
        self.db = db
        self.git = git
        self.blobs = blobs
        self.xet = xet
        self.locks = locks

    def run(self, grace: dt.timedelta = DEFAULT_GRACE, dry_run: bool = False,
            progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None,
            xorb_grace: dt.timedelta = XORB_GRACE) -> GcReport:
        report = GcReport()
        start = utcnow()
        cutoff, xorb_cutoff = start - grace, start - xorb_grace
        live = self._reachable(report, progress, total)
        with self.db.session() as s:
            candidates = [(oid, size) for oid, size in s.execute(
                select(LfsObject.oid, LfsObject.size).where(unused_since(LfsObject.used_at, LfsObject.created_at, cutoff)))
                if oid not in live]
        for oid, size in candidates:
            if dry_run or self._collect_object(oid, cutoff):
                report.objects.append((oid, size))
            else:
                report.kept_in_use += 1
        # Xet files whose object is gone free their xorbs (a file still named by an object stays).
        with self.db.session() as s:
            xorbs = list(s.execute(select(XetXorb.hash, XetXorb.stored_bytes).where(
                unused_since(XetXorb.used_at, XetXorb.created_at, xorb_cutoff))))
        if dry_run:
            dead = {oid for oid, _ in report.objects}
            with self.db.session() as s:
                files = s.execute(select(XetFile.file_hash, XetFile.sha256, XetFile.created_at)).all()
                using = {fh for fh, sha, created in files if sha not in dead or created >= cutoff}
                used_xorbs = set(s.scalars(select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash.in_(using)))) \
                    if using else set()
            report.xorbs = [(h, n) for h, n in xorbs if h not in used_xorbs]
            return report
        self._drop_orphan_files(cutoff)
        for h, n in xorbs:
            if self._collect_xorb(h, xorb_cutoff):
                report.xorbs.append((h, n))
        return report

    def _reachable(self, report: GcReport, progress, total) -> set[str]:  # type: ignore[no-untyped-def]
        keys = list(self.git.keys())
        if total:
            total(len(keys))
        live: set[str] = set()
        for key in keys:
            path = self.git.path_for(key)
            tips = gitcli.out(path, "for-each-ref", "--format=%(objectname)").split()
            live.update(gitcli.new_pointer_oids(path, sorted(set(tips)), []))
            report.repositories += 1
            if progress:
                progress(1)
        report.reachable = len(live)
        return live

    def _collect_object(self, oid: str, cutoff: dt.datetime) -> bool:
        """Delete the object's row if it is still unused since `cutoff`, then its bytes."""
        with self.locks.hold(object_lock(oid)):
            with self.db.session(write=True) as s:
                # Locked (PostgreSQL) until this transaction ends: a writer marking it used waits, then
                # finds it gone; one that marked it first has moved used_at past the cutoff.
                still = s.execute(select(LfsObject.oid).where(
                    LfsObject.oid == oid, unused_since(LfsObject.used_at, LfsObject.created_at, cutoff))
                    .with_for_update()).first()
                if still is None:
                    return False
                s.execute(delete(RepoLfsObject).where(RepoLfsObject.oid == oid))
                s.execute(delete(LfsObject).where(LfsObject.oid == oid))
            self.blobs.delete(oid)
        return True

    def _drop_orphan_files(self, cutoff: dt.datetime) -> None:
        """Xet files (reconstructions) of objects that are gone, registered before the cutoff."""
        with self.db.session(write=True) as s:
            orphan = select(XetFile.file_hash).where(
                XetFile.created_at < cutoff, ~exists().where(LfsObject.oid == XetFile.sha256))
            hashes = list(s.scalars(orphan))
            if hashes:
                s.execute(delete(XetFileXorb).where(XetFileXorb.file_hash.in_(hashes)))
                s.execute(delete(XetFile).where(XetFile.file_hash.in_(hashes)))

    def _collect_xorb(self, h: str, cutoff: dt.datetime) -> bool:
        """Delete the xorb's row if still unused and no file uses it, then its bytes (as `_collect_object`)."""
        with self.locks.hold(xorb_lock(h)):
            with self.db.session(write=True) as s:
                still = s.execute(select(XetXorb.hash).where(
                    XetXorb.hash == h, unused_since(XetXorb.used_at, XetXorb.created_at, cutoff),
                    ~exists().where(XetFileXorb.xorb_hash == h)).with_for_update()).first()
                if still is None:
                    return False
                # The chunk index goes with it: dedup stops offering the xorb in this transaction.
                s.execute(delete(XetChunk).where(XetChunk.xorb_hash == h))
                s.execute(delete(XetXorb).where(XetXorb.hash == h))
            self.xet.delete_xorb(h)
        return True
