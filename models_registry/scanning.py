"""Security scanning of stored model files (issue #23): the queue, the scanner, the verdicts.

Every ref a commit, merge, push, mirror pull or import moves (`Commits.listeners`) queues the
files of the new commit that can run code when loaded (`pickle_scan.needs_scan`), one row per blob
in `file_scans` (keyed as safetensors_files: LFS sha256, or `git:<blob sha>`), so a blob shared by
many repositories or branches is scanned once. Queuing is one INSERT ... ON CONFLICT DO NOTHING:
the commit does not wait for a scan.

`drain` empties the queue under the cluster-wide lock "file-scanner" (an advisory lock on
PostgreSQL, `locks.py`): whichever node's scanner thread takes it scans, the others skip, and a node
that dies mid-scan frees the lock with its session; the rows it did not finish stay queued for the
next holder. Bytes are read through the blob store (local, S3, Xet) or git as a seekable stream;
picklescan reads only the pickles (torch.save's zip: its pickle members; the legacy format: its
first pickles, not the tensor data). Nothing is ever unpickled.

With `refuse_dangerous_uploads` (off by default), `check_upload` scans a file before it becomes
part of a commit, for every way in (API commit of regular and LFS/Xet files, git push), and refuses
a dangerous one; its verdict is recorded, so the scanner does not read it again.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select

from .db import Database
from .dbutil import insert_ignore
from .errors import BadRequest
from .locks import Locks
from .messages import N_
from .pickle_scan import DANGEROUS, SAFE, SAFE_FORMAT_SUFFIXES, SUSPICIOUS, Verdict, needs_scan, scan
from .records import FileEntry, RepoView
from .repos import Repos
from .settings import RegistrySettings
from .storage import BlobStore
from .tables import FileScan, Repository, utcnow

log = logging.getLogger(__name__)

QUEUED = "queued"
UNSCANNED = "unscanned"  # stored before scanning existed and not queued since (`modelhub scan`)
FLAGGED = (SUSPICIOUS, DANGEROUS)
BATCH = 50
LOCK = "file-scanner"


class DangerousFile(BadRequest):
    """A file whose imports would run dangerous code, refused because the site says so."""


@dataclass(frozen=True)
class ScanView:
    """The security status of one file, as the API and the pages show it."""

    status: str  # safe, suspicious, dangerous, queued or unscanned
    imports: list[dict[str, str]]  # [{"module", "name", "safety"}]
    scanned: bool  # False: safe by format, never read
    note: str | None = None
    # "pickle": can run code, so scanned; "weights": safetensors or GGUF, safe by format; "plain": anything else
    kind: str = "pickle"

    @property
    def highest(self) -> str:
        """The Hub's highestSafetyLevel of pickleImportScan: innocuous, suspicious or dangerous."""
        order = ("innocuous", "suspicious", "dangerous")
        return max((i["safety"] for i in self.imports), key=order.index, default="innocuous")

    @property
    def dangerous_imports(self) -> list[str]:
        return [f"{i['module']}.{i['name']}" for i in self.imports if i["safety"] == "dangerous"]

    @property
    def done(self) -> bool:
        return self.status not in (QUEUED, UNSCANNED)


    @property
    def flagged_imports(self) -> list[str]:
        """The imports that are not known to be harmless (suspicious and dangerous ones)."""
        return [f"{i['module']}.{i['name']}" for i in self.imports if i["safety"] != "innocuous"]


SAFE_WEIGHTS = ScanView(SAFE, [], scanned=False, kind="weights")
SAFE_PLAIN = ScanView(SAFE, [], scanned=False, kind="plain")


@dataclass(frozen=True)
class FlaggedFile:
    key: str
    status: str
    imports: list[dict[str, str]]
    note: str | None
    repo: RepoView | None
    path: str
    scanned_at: dt.datetime | None


def key_of(blob_sha: str, lfs_oid: str | None) -> str:
    return lfs_oid if lfs_oid else f"git:{blob_sha}"


def _view(row: FileScan) -> ScanView:
    return ScanView(row.status, list(row.imports or []), scanned=True, note=row.note)


def _imports_json(verdict: Verdict) -> list[dict[str, str]]:
    return [{"module": i.module, "name": i.name, "safety": i.safety} for i in verdict.imports]


class Scanning:
    def __init__(self, settings: RegistrySettings, db: Database, repos: Repos, blobs: BlobStore,
                 locks: Locks) -> None:
        self.settings = settings
        self.db = db
        self.repos = repos
        self.blobs = blobs
        self.locks = locks
        # Set when this process queued something: its scanner thread (hub/scan_worker.py) wakes at once.
        self.queued = threading.Event()

    # ---- queueing ---------------------------------------------------------------------------
    def on_ref_moved(self, repo: RepoView, ref: str, old: str | None, new: str | None) -> None:
        """Commits listener: queue the scannable files of the commit a ref moved to."""
        if new is not None:
            self.queue_commit(repo, new)

    def queue_commit(self, repo: RepoView, commit: str) -> int:
        """Queue every scannable file of `commit` not scanned or queued yet; returns how many."""
        with self.repos.open_git(repo) as git:
            items = [(p, i) for p, i in git.files(commit).items() if needs_scan(p)]
            if not items:
                return 0
            infos = self.repos.blob_infos(git, [i.sha for _, i in items])
        rows = {}
        for path, item in items:
            size, lfs = infos[item.sha]
            key = key_of(item.sha, lfs.oid if lfs else None)
            rows.setdefault(key, {"key": key, "status": QUEUED, "repo_id": repo.id, "path": path[:1000],
                                  "queued_at": utcnow()})
        with self.db.session() as s:
            known = set(s.scalars(select(FileScan.key).where(FileScan.key.in_(list(rows)))))
        fresh = [r for k, r in rows.items() if k not in known]
        if fresh:
            with self.db.session(write=True) as s:
                insert_ignore(s, FileScan, fresh)
            self.queued.set()
        return len(fresh)

    def queue_all(self, repos: list[RepoView] | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Queue what the default branch of each repository (None: every one) holds; `modelhub scan`."""
        queued = 0
        for repo in repos if repos is not None else self.repos.each():
            if repo.head_sha:
                queued += self.queue_commit(repo, repo.head_sha)
            if progress:
                progress(1)
        return queued

    def count_repos(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Repository)) or 0

    def pending(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(FileScan).where(FileScan.status == QUEUED)) or 0

    # ---- scanning ---------------------------------------------------------------------------
    def drain(self, wait: bool = False, progress: Callable[[int], None] | None = None) -> int:
        """Scan queued files until none is left, if this process gets the scanner lock (`wait`:
        wait for it, as `modelhub scan` does); returns how many it scanned."""
        lock: AbstractContextManager[bool] = (_held(self.locks.hold(LOCK)) if wait
                                              else self.locks.try_hold(LOCK))
        done = 0
        with lock as got:
            if not got:
                return 0
            while True:
                with self.db.session() as s:
                    batch = [(r.key, r.path, r.repo_id) for r in s.scalars(
                        select(FileScan).where(FileScan.status == QUEUED).order_by(FileScan.queued_at)
                        .limit(BATCH))]
                if not batch:
                    return done
                for key, path, repo_id in batch:
                    self._record(key, self._scan_stored(key, path, repo_id))
                    done += 1
                    if progress:
                        progress(1)

    def _scan_stored(self, key: str, path: str, repo_id: int | None) -> Verdict:
        try:
            with self._open(key, repo_id) as f:
                return scan(f, path)
        except FileNotFoundError:
            return Verdict(SUSPICIOUS, [], "its bytes are missing from storage: not scanned")
        except Exception as e:  # a store briefly away: noted, and `modelhub scan` queues it again
            log.exception("scanning %s (%s) failed", key, path)
            return Verdict(SUSPICIOUS, [], f"scan failed: {type(e).__name__}: {e}"[:500])

    def _open(self, key: str, repo_id: int | None) -> AbstractContextManager[BinaryIO]:
        if not key.startswith("git:"):
            if not self.blobs.exists(key):
                raise FileNotFoundError(key)
            return self.blobs.open(key)
        repo = self.repos.by_id(repo_id) if repo_id is not None else None
        if repo is None:
            raise FileNotFoundError(key)
        with self.repos.open_git(repo) as git:
            return nullcontext(io.BytesIO(git.read_blob(key[4:])))

    def _record(self, key: str, verdict: Verdict, path: str | None = None, repo_id: int | None = None) -> None:
        with self.db.session(write=True) as s:
            row = s.get(FileScan, key)
            if row is None:
                row = FileScan(key=key, path=(path or "")[:1000], repo_id=repo_id, queued_at=utcnow())
                s.add(row)
            row.status, row.imports, row.note, row.scanned_at = verdict.status, _imports_json(verdict), verdict.note, utcnow()

    # ---- the upload rule --------------------------------------------------------------------
    def check_upload(self, path: str, key: str, opener: Callable[[], AbstractContextManager[BinaryIO]],
                     repo_id: int | None = None) -> None:
        """Refuse a dangerous file on its way into a commit, when the site refuses them. The one
        check for the API commit (regular, LFS and Xet files) and git push alike."""
        if not self.settings.refuse_dangerous_uploads or not needs_scan(path):
            return
        with self.db.session() as s:
            row = s.get(FileScan, key)
            view = _view(row) if row is not None and row.status != QUEUED else None
        if view is None:
            with opener() as f:
                verdict = scan(f, path)
            if verdict.status != DANGEROUS:  # a refused file lands nowhere: no row names it as seen here
                self._record(key, verdict, path, repo_id)
            view = ScanView(verdict.status, _imports_json(verdict), scanned=True, note=verdict.note)
        if view.status == DANGEROUS:
            raise DangerousFile(N_("%(path)s was refused: loading it would run dangerous code (%(imports)s), and "
                                   "this hub refuses such files", path=path,
                                   imports=", ".join(view.dangerous_imports) or "unknown"))

    # ---- reading verdicts -------------------------------------------------------------------
    def status_of(self, entries: list[FileEntry]) -> dict[str, ScanView]:
        """path -> security status of each file entry (directories are left out)."""
        keys = {e.path: key_of(e.oid, e.lfs.oid if e.lfs else None) for e in entries
                if e.type == "file" and needs_scan(e.path)}
        rows: dict[str, ScanView] = {}
        wanted = list(set(keys.values()))
        with self.db.session() as s:
            for i in range(0, len(wanted), 500):
                for row in s.scalars(select(FileScan).where(FileScan.key.in_(wanted[i:i + 500]))):
                    rows[row.key] = _view(row)
        out = {}
        for e in entries:
            if e.type != "file":
                continue
            if e.path in keys:
                out[e.path] = rows.get(keys[e.path], ScanView(UNSCANNED, [], scanned=False))
            else:
                out[e.path] = SAFE_WEIGHTS if e.path.lower().endswith(SAFE_FORMAT_SUFFIXES) else SAFE_PLAIN
        return out

    def dangerous_files(self, repo: RepoView) -> dict[str, ScanView]:
        """The files of the default branch found dangerous (the model page's banner)."""
        if not repo.head_sha:
            return {}
        with self.repos.open_git(repo) as git:
            items = [(p, i) for p, i in git.files(repo.head_sha).items() if needs_scan(p)]
            if not items:
                return {}
            infos = self.repos.blob_infos(git, [i.sha for _, i in items])
        entries = [FileEntry(p, "file", i.sha, infos[i.sha][0], infos[i.sha][1]) for p, i in items]
        return {p: v for p, v in self.status_of(entries).items() if v.status == DANGEROUS}

    def flagged(self, status: str | None = None, limit: int = 200) -> list[FlaggedFile]:
        """Files found suspicious or dangerous across the hub, the most recent first (admin area)."""
        wanted = [status] if status in FLAGGED else list(FLAGGED)
        with self.db.session() as s:
            rows = s.scalars(select(FileScan).where(FileScan.status.in_(wanted))
                             .order_by(FileScan.scanned_at.desc()).limit(limit)).all()
            repos = {r.id: RepoView.of(r) for r in s.scalars(
                select(Repository).where(Repository.id.in_({r.repo_id for r in rows if r.repo_id})))}
            return [FlaggedFile(r.key, r.status, list(r.imports or []), r.note, repos.get(r.repo_id), r.path,
                                r.scanned_at) for r in rows]


class _held(AbstractContextManager[bool]):
    """A waiting lock as a try_hold-shaped context: it is always got."""

    def __init__(self, inner: AbstractContextManager[None]) -> None:
        self.inner = inner

    def __enter__(self) -> bool:
        self.inner.__enter__()
        return True

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)
