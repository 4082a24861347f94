"""Followed mirrors: which local repositories copy which upstream ones, when they sync, what happened.

Rules (KohakuHub's, adapted):
- One sync per repository at a time, across processes: `sync` takes a non-blocking lock named after
  the local repository id (`mirror_records.lock_name`) and skips the mirror if someone else holds it
  (a second `sync run` started by cron while the first is still busy skips it and says so). After
  taking the lock, due-ness is checked again, so a mirror synced by the other process a moment ago
  is skipped too.
- Nothing is half-applied: `pull_repository` stores every object before it moves any ref; a failed
  run is recorded (history and the mirror's last status) and the branches stay as they were. Only
  the sync moves a mirror's refs (`pull_repository` writes refs directly and then calls
  `Commits.after_push`); every other write is refused (`read_only.py`).
- After a successful run, its LFS checks are recorded (`trust.py`) and the upstream's license and
  gating are compared with what an admin accepted (`alerts.py`).
- The upstream token of a followed mirror is stored in the database as given, because `sync run`
  must use it unattended; it is never shown back (listings say only whether there is one). Anyone
  who can read the database can read it: give mirrors a read-only token of an account that can
  read nothing else, or use on-demand mirroring, whose token lives in the server's configuration.
- Mirrors keep the upstream's ids: a missing owner becomes an organization without members
  (`ensure_mirror_namespace`), created in the transaction that makes a first pull's repository
  visible, so a pull that fails or is killed leaves no namespace behind either.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from .. import names
from ..errors import BadRequest, Conflict, NotFound, RegistryError
from ..records import RepoView
from ..tables import Mirror, MirrorRun, Organization, Repository, User, utcnow
from .mirror_records import MirrorView, Outcome, RunView
from .report import SyncReport

if TYPE_CHECKING:
    from .alerts import UpstreamAlerts
    from .trust import TrustRecords

log = logging.getLogger(__name__)

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """"90s", "15m", "1h", "1h30m", "2d" or plain seconds -> seconds (at least 1)."""
    t = (text or "").strip().lower()
    if t.isdigit():
        seconds = int(t)
    else:
        parts = _DURATION.findall(t)
        if not parts or _DURATION.sub("", t).strip():
            raise BadRequest(f"Invalid duration {text!r}: use e.g. 30s, 15m, 1h, 1h30m or 2d")
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < 1:
        raise BadRequest("The interval must be at least one second")
    return seconds


def format_duration(seconds: int | None) -> str:
    if not seconds:
        return "-"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def row_named(s, repo_type: str, repo_id: str) -> Mirror | None:
    """The mirror row of `repo_id` (ns/name, any case), in the caller's session."""
    if repo_id.count("/") != 1:
        return None
    ns, name = repo_id.split("/")
    return s.scalar(select(Mirror).where(Mirror.repo_type == repo_type, func.lower(Mirror.namespace) == ns.lower(),
                                         func.lower(Mirror.name) == name.lower()))


def row_for_repo(s, repo_pk: int) -> Mirror | None:
    """The mirror row that keeps the local repository `repo_pk`, in the caller's session."""
    return s.scalar(select(Mirror).where(Mirror.repo_pk == repo_pk))


class FollowedMirrors:
    def __init__(self, registry, trust: TrustRecords, alerts: UpstreamAlerts) -> None:
        self.registry = registry
        self.db = registry.db
        self.locks = registry.locks
        self.trust = trust
        self.alerts = alerts
        # Replaceable for a different transport; looked up lazily (pull.py imports the storage stack).
        self.pull: Callable[..., SyncReport] | None = None

    def _pull(self) -> Callable[..., SyncReport]:
        if self.pull is None:
            from .pull import pull_repository

            return pull_repository
        return self.pull

    # ---- registration -----------------------------------------------------------------------
    def add(self, upstream_url: str, upstream_repo: str, local_repo: str, *, repo_type: str = "model",
            every: int | None = None, token: str | None = None, revision: str | None = None,
            origin: str = "followed") -> MirrorView:
        """Register (or update) a mirror. The first sync happens on the next `sync run`."""
        url = (upstream_url or "").strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url) or "@" in url.split("/")[2]:
            raise BadRequest(f"Invalid upstream URL {upstream_url!r}: expected http(s)://host[:port], no credentials")
        names.split_repo_id(upstream_repo)
        ns, name = names.split_repo_id(local_repo)
        names.validate_name(ns, "namespace")
        names.validate_name(name, "repository name")
        if revision is not None:
            names.validate_branch_name(revision)
        now = utcnow()
        with self.db.session(write=True) as s:
            repo = s.scalar(select(Repository).where(
                Repository.repo_type == repo_type, func.lower(Repository.namespace) == ns.lower(),
                func.lower(Repository.name) == name.lower()))
            m = row_named(s, repo_type, f"{ns}/{name}")
            if m is None and repo is not None and origin == "followed":
                raise Conflict(f"{repo.repo_id} already exists here and is not a mirror: mirror into a new "
                               "repository (a mirror is read-only, local commits would be lost)")
            if m is None and repo is None and self.registry.accounts.namespace_kind(ns) is None:
                names.validate_namespace(ns)  # it will be created at the first sync: refuse a reserved name now
            if m is None:
                m = Mirror(repo_type=repo_type, namespace=repo.namespace if repo else ns,
                           name=repo.name if repo else name, origin=origin, created_at=now)
                s.add(m)
            m.repo_pk = repo.id if repo is not None else m.repo_pk
            if origin == "followed" or m.origin != "followed":
                # A one-off pull into a followed mirror is recorded as a run; the mirror keeps its
                # upstream and schedule.
                m.upstream_url, m.upstream_repo, m.revision = url, upstream_repo, revision
                m.origin = origin
                m.interval_seconds = every
                m.next_due = now if every else None
                if token:
                    m.token = token
            s.flush()
            return MirrorView.of(m)

    def remove(self, repo_type: str, repo_id: str) -> None:
        """Stop mirroring: the repository stays, and becomes an ordinary writable one."""
        with self.db.session(write=True) as s:
            m = row_named(s, repo_type, repo_id)
            if m is None:
                raise NotFound(f"{repo_id} is not a mirror")
            s.delete(m)

    # ---- reading ----------------------------------------------------------------------------
    def get(self, repo_type: str, repo_id: str) -> MirrorView | None:
        with self.db.session() as s:
            m = row_named(s, repo_type, repo_id)
            return MirrorView.of(m) if m is not None else None

    def by_id(self, mirror_id: int) -> MirrorView | None:
        with self.db.session() as s:
            m = s.get(Mirror, mirror_id)
            return MirrorView.of(m) if m is not None else None

    def for_repo(self, repo: RepoView) -> MirrorView | None:
        with self.db.session() as s:
            m = row_for_repo(s, repo.id)
            return MirrorView.of(m) if m is not None else None

    def list(self) -> list[MirrorView]:
        with self.db.session() as s:
            return [MirrorView.of(m) for m in s.scalars(select(Mirror).order_by(Mirror.namespace, Mirror.name))]

    def due(self, now: dt.datetime | None = None) -> list[MirrorView]:
        now = now or utcnow()
        with self.db.session() as s:
            rows = s.scalars(select(Mirror).where(Mirror.interval_seconds.is_not(None), Mirror.next_due <= now)
                             .order_by(Mirror.next_due))
            return [MirrorView.of(m) for m in rows]

    def next_due_at(self) -> dt.datetime | None:
        with self.db.session() as s:
            return s.scalar(select(func.min(Mirror.next_due)).where(Mirror.interval_seconds.is_not(None)))

    def runs(self, mirror_id: int | None = None, limit: int = 50) -> list[RunView]:
        q = select(MirrorRun).order_by(desc(MirrorRun.id)).limit(limit)
        if mirror_id is not None:
            q = q.where(MirrorRun.mirror_id == mirror_id)
        with self.db.session() as s:
            return [RunView.of(r) for r in s.scalars(q)]

    # ---- syncing ----------------------------------------------------------------------------
    def run_due(self, progress_for: Callable[[MirrorView], Any] | None = None,
                report: Callable[[Outcome], None] | None = None, everything: bool = False) -> list[Outcome]:
        """Sync every mirror that is due (`everything`: every followed mirror, now), one after the other."""
        out = []
        todo = self.due() if not everything else [m for m in self.list() if m.interval_seconds]
        for m in todo:
            o = self.sync(m, progress_for(m) if progress_for else None,
                          trigger="manual" if everything else "schedule", only_if_due=not everything)
            out.append(o)
            if report:
                report(o)
        return out

    def sync(self, mirror: MirrorView, progress=None, *, trigger: str = "manual", only_if_due: bool = False,
             token: str | None = None) -> Outcome:
        """Pull the upstream into the mirror, unless another process is syncing it right now."""
        with self.locks.try_hold(mirror.lock_name) as got:
            if not got:
                return Outcome(mirror, "skipped", "another sync of this repository is running")
            with self.db.session() as s:
                row = s.get(Mirror, mirror.id)
                if row is None:
                    return Outcome(mirror, "skipped", "the mirror was removed")
                linked = s.get(Repository, row.repo_pk) if row.repo_pk is not None else None
                renamed = linked is not None and (linked.namespace, linked.name) != (row.namespace, row.name)
                mirror = MirrorView.of(row)
                if renamed:
                    mirror = replace(mirror, namespace=linked.namespace, name=linked.name)
                upstream_token = token or row.token
            if renamed:  # moved since (repos move): follow the repository, not its old name
                with self.db.session(write=True) as w:
                    moved = w.get(Mirror, mirror.id)
                    moved.namespace, moved.name = mirror.namespace, mirror.name
            if only_if_due and (mirror.interval_seconds is None or mirror.next_due is None
                                or mirror.next_due > utcnow()):
                return Outcome(mirror, "skipped", "synced by another process a moment ago")
            run_id = self._start_run(mirror, trigger)  # a missing namespace comes with the repository (pull.py)
            report: SyncReport | None = None
            error: str | None = None
            try:
                report = self._pull()(self.registry, mirror.upstream_url, mirror.upstream_repo, mirror.repo_id,
                                      revision=mirror.revision, token=upstream_token, progress=progress,
                                      create=True)
                if report.failed:
                    error = "; ".join(report.failed)
            except RegistryError as e:
                error = e.message
            except Exception as e:  # a bug or an I/O error: recorded, and the next mirror still syncs
                log.exception("sync of mirror %s failed", mirror.repo_id)
                error = f"{e.__class__.__name__}: {e}"
            return self._finish(mirror.id, run_id, report, error)

    def record_pull(self, upstream_url: str, src_repo: str, local_repo: str, report: SyncReport, *,
                    repo_type: str = "model", revision: str | None = None,
                    started_at: dt.datetime | None = None) -> MirrorView:
        """A one-off `modelhub sync pull` succeeded: record it as a mirror without a schedule
        (an existing followed mirror keeps its schedule), with its run and trust records."""
        m = self.add(upstream_url, src_repo, local_repo, repo_type=repo_type, revision=revision, origin="pull")
        run_id = self._start_run(m, "pull", started_at)
        return self._finish(m.id, run_id, report, "; ".join(report.failed) or None).mirror

    def _start_run(self, mirror: MirrorView, trigger: str, started_at: dt.datetime | None = None) -> int:
        with self.db.session(write=True) as s:
            run = MirrorRun(mirror_id=mirror.id, trigger=trigger, started_at=started_at or utcnow(), status="running",
                            git_objects=0, lfs_objects=0, bytes_transferred=0, skipped=0)
            s.add(run)
            row = s.get(Mirror, mirror.id)
            row.last_started_at = run.started_at
            s.flush()
            return run.id

    def _finish(self, mirror_id: int, run_id: int, report: SyncReport | None, error: str | None) -> Outcome:
        now = utcnow()
        with self.db.session(write=True) as s:
            row = s.get(Mirror, mirror_id)
            repo = s.get(Repository, row.repo_pk) if row.repo_pk is not None else \
                s.scalar(select(Repository).where(Repository.repo_type == row.repo_type,
                                                  Repository.namespace == row.namespace,
                                                  Repository.name == row.name))
            if repo is not None and row.repo_pk is None:
                row.repo_pk = repo.id
            run = s.get(MirrorRun, run_id)
            run.finished_at, run.status = now, "failed" if error else "ok"
            if report is not None:
                run.method = report.method
                run.refs_updated = {ref: list(v) for ref, v in report.refs_updated.items()}
                run.git_objects, run.lfs_objects = report.git_objects, report.lfs_objects
                run.bytes_transferred, run.skipped = report.bytes_transferred, report.skipped
            run.failures = error
            row.last_finished_at, row.last_status, row.last_error = now, run.status, error
            if row.interval_seconds:
                row.next_due = now + dt.timedelta(seconds=row.interval_seconds)
            if not error and repo is not None:
                row.last_synced_commit, row.last_synced_at = repo.head_sha, now
            repo_pk = row.repo_pk
            view = MirrorView.of(row)
        if error:
            log.warning("mirror %s: sync from %s failed: %s", view.repo_id, view.upstream_link, error)
            return Outcome(view, "failed", error, report, run_id)
        if report is not None and repo_pk is not None:
            self.trust.record_checks(view, repo_pk, report)
            self.alerts.review(view, repo_pk, report)
        return Outcome(self.by_id(mirror_id) or view, "ok", "", report, run_id)

    # ---- namespaces -------------------------------------------------------------------------
    def ensure_namespace(self, namespace: str) -> None:
        """Mirrors keep the upstream's ids: a missing owner becomes an organization without members."""
        with self.db.session(write=True) as s:
            ensure_mirror_namespace(s, namespace)


def ensure_mirror_namespace(s: Session, namespace: str) -> bool:
    """In the caller's transaction, so that it exists exactly when what needs it does (a pull's new
    repository, `Repos.create_filled`): if no user or organization has the name, in any case, an
    organization without members (owned by the system: only site admins manage it). Returns
    whether it created one."""
    lname = namespace.lower()
    taken = s.scalar(select(func.count()).select_from(User).where(func.lower(User.name) == lname)) or \
        s.scalar(select(func.count()).select_from(Organization).where(func.lower(Organization.name) == lname))
    if taken:
        return False
    names.validate_namespace(namespace)
    s.add(Organization(name=namespace, fullname=namespace))
    s.flush()
    return True
