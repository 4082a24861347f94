"""Copy a hub's stored bytes (LFS objects, Xet xorbs) to another backend: `modelhub storage migrate`.

Verified: every LFS object goes through local staging, which hashes it, and is written to the
target only if its sha256 and size are the ones recorded; every xorb is received by the target's
own verifying path (`XetStore.receive_xorb`: each chunk decompressed and hashed, the xorb hash
checked). Resumable: what the target already holds at the right size is skipped, so an
interrupted run is simply run again. The hub keeps serving from the source meanwhile; switch
MODELHUB_STORAGE_URL once a run reports nothing left to copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from .db import Database
from .settings import S3Options
from .storage import Stager, open_blob_store
from .storage.blobs import BlobStore
from .storage.xet.store import XetStore
from .tables import LfsObject, XetXorb

BATCH = 500  # rows read per query


@dataclass
class MigrationReport:
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0  # already in the target
    xet_only: int = 0  # LFS rows whose bytes live in xorbs (copied with the xorbs)
    failed: list[str] = field(default_factory=list)  # absent from the source, or not the recorded bytes


def _rows(db: Database, column, *extra):  # type: ignore[no-untyped-def]
    """Primary keys (and `extra` columns) of a table in key order, a batch at a time."""
    last = ""
    while True:
        with db.session() as s:
            rows = s.execute(select(column, *extra).where(column > last).order_by(column).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


class StorageMigration:
    """`blobs` is the LFS store itself (Registry.blobs.inner), not its Xet-backed view."""

    def __init__(self, db: Database, blobs: BlobStore, xet: XetStore, stager: Stager, data_dir: Path) -> None:
        self.db, self.blobs, self.xet, self.stager, self.data_dir = db, blobs, xet, stager, data_dir

    def run(self, target_url: str, s3: S3Options, progress: Callable[[int], None] | None = None,
            total: Callable[[int], None] | None = None) -> MigrationReport:
        """Copy everything to `target_url`; `total(bytes)` is told the work once, `progress(bytes)`
        after each object."""
        target = open_blob_store(target_url, s3)
        remote = getattr(target, "objects", None)
        if remote is not None:
            remote.check()
        target_xet = XetStore(self.data_dir / "xet", remote)
        report = MigrationReport()
        if total is not None:
            with self.db.session() as s:
                lfs_bytes = int(s.scalar(select(func.coalesce(func.sum(LfsObject.size), 0))))
                xorb_bytes = int(s.scalar(select(func.coalesce(func.sum(XetXorb.stored_bytes), 0))))
            total(lfs_bytes + xorb_bytes)
        for oid, size in _rows(self.db, LfsObject.oid, LfsObject.size):
            self._copy_object(oid, int(size), target, report)
            if progress is not None:
                progress(int(size))
        for h, stored in _rows(self.db, XetXorb.hash, XetXorb.stored_bytes):
            self._copy_xorb(h, target_xet, report)
            if progress is not None:
                progress(int(stored))
        return report

    def _copy_object(self, oid: str, size: int, target: BlobStore, report: MigrationReport) -> None:
        if target.size(oid) == size:
            report.skipped += 1
            return
        if self.blobs.size(oid) is None:  # the inner store: bytes uploaded through Xet are in xorbs
            report.xet_only += 1
            return
        with self.blobs.open(oid) as f:
            staged = self.stager.from_stream(f, length=size)
        if staged.sha256 != oid or staged.size != size:
            staged.discard()
            report.failed.append(oid)  # the source holds other bytes under this name: not copied
            return
        target.put(staged)
        report.copied += 1
        report.copied_bytes += size

    def _copy_xorb(self, h: str, target: XetStore, report: MigrationReport) -> None:
        if target.has_xorb(h):
            report.skipped += 1
            return
        try:
            source = self.xet.open_xorb(h)
        except FileNotFoundError:
            report.failed.append(h)
            return
        with source:
            info = target.receive_xorb(h, source)
        report.copied += 1
        report.copied_bytes += info.stored_bytes
