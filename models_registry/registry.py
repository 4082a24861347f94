"""The registry's composition root: one object wiring settings, database, storage and services."""

from __future__ import annotations

from .access import TransferAccess
from .accounts import Accounts
from .commits import Commits
from .db import Database
from .engagement import Engagement
from .gating import Gating
from .grants import Grants
from .jobs import Jobs
from .lfs_files import LfsFiles
from .locks import open_locks
from .model_tree import ModelTrees
from .repos import Repos
from .scanning import Scanning
from .settings import RegistrySettings
from .storage import GitStore, Stager, open_blob_store
from .storage.xet.blobs import XetBackedBlobStore
from .storage.xet.store import XetStore
from .storage_gc import StorageGC
from .storage_migration import StorageMigration
from .xet import Xet
from .sync.mirrors import Mirrors


class Registry:
    def __init__(self, settings: RegistrySettings) -> None:
        self.settings = settings
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database_url)
        # Cluster-wide on PostgreSQL (several nodes share the repositories), flock on one machine.
        self.locks = open_locks(self.db, data / "locks")
        self.git = GitStore(settings.repos_dir, self.locks)
        self.jobs = Jobs(self.db, self.locks)  # cluster-wide background work, once per period
        blobs = open_blob_store(settings.storage_url, settings.s3)
        # On object storage, xorbs live beside the LFS objects (same bucket and prefix).
        self.xet = Xet(self.db, XetStore(data / "xet", getattr(blobs, "objects", None)), self.locks)
        self.blobs = XetBackedBlobStore(blobs, self.xet)
        self.stager = Stager(data / "tmp")
        self.storage_migration = StorageMigration(self.db, blobs, self.xet.store, self.stager, data)
        self.storage_gc = StorageGC(self.db, self.git, self.blobs, self.xet.store, self.locks)
        self.accounts = Accounts(self.db)
        self.repos = Repos(settings, self.db, self.git, self.blobs, self.locks, self.accounts)
        self.scanning = Scanning(settings, self.db, self.repos, self.blobs, self.locks)
        self.commits = Commits(settings, self.db, self.git, self.blobs, self.repos, self.scanning)
        self.commits.listeners.append(self.scanning.on_ref_moved)  # every moved ref queues its new files
        self.engagement = Engagement(self.db)
        self.model_trees = ModelTrees(self.db, self.repos)
        self.gating = Gating(self.db)
        self.access = TransferAccess(self.repos, self.gating)
        self.lfs_files = LfsFiles(self.db, self.git, self.repos, self.commits, self.access)
        self.grants = Grants(self.db, self.accounts, self.access)
        self.mirrors = Mirrors(self)
        self.repos.write_guards.append(self.mirrors.check_writable)  # mirrors are read-only

    def health(self) -> dict[str, str]:
        """What /api/health and the status page report: the database answers, and which one it is.
        (A failure raises: the caller answers 500, which is what a monitor looks for.)"""
        with self.db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "database": self.db.engine.dialect.name}

    def sweep_uploads(self) -> int:
        """Remove what stopped processes left of unfinished uploads (LFS staging files, xorbs
        being received); `modelhub serve` calls it at start. Interrupted `sync pull` downloads
        are kept: the next pull resumes them."""
        max_age = self.settings.stale_upload_hours * 3600
        return self.stager.sweep(max_age) + self.xet.sweep(max_age)

    def close(self) -> None:
        self.db.dispose()
