"""Followed mirrors: which local repositories copy which upstream ones, when they sync, what happened.

Rules (KohakuHub's, adapted):
- A mirror is read-only here. Every write path (API commits and merges, branches and tags, git
  push, LFS uploads, page edits) asks `check_writable`; only the sync itself moves a mirror's refs
  (`pull_repository` writes refs directly and then calls `Commits.after_push`).
- One sync per repository at a time, across processes: `sync` takes a non-blocking lock named after
  the local repository id and skips the mirror if someone else holds it (a second `sync run` started
  by cron while the first is still busy skips it and says so). After taking the lock, due-ness is
  checked again, so a mirror synced by the other process a moment ago is skipped too.
- Nothing is half-applied: `pull_repository` stores every object before it moves any ref; a failed
  run is recorded (history and the mirror's last status) and the branches stay as they were.
- Trust: each run records, per mirrored commit, the upstream's sha256 of every LFS file and ours
  (`mirror_lfs_checks`). A revision is "verified" when it was checked and every check matches
  (a revision with no LFS file at all, once checked, is verified: there is nothing to disagree on).
- License and gating changes upstream are held back: the mirror keeps what an admin last accepted
  (`accepted_license`, `accepted_gated`, the upstream's values at the first sync). When a later sync
  sees different values, an alert is opened and logged, and the repository keeps *showing* the
  accepted values (its card metadata, license tags and gating are set back to them) until an admin
  acknowledges the alert; the files themselves (README.md) are the upstream's from the start.
  The window between the pull moving the ref and the override is one database write.
- The upstream token of a followed mirror is stored in the database as given, because `sync run`
  must use it unattended; it is never shown back (listings say only whether there is one). Anyone
  who can read the database can read it: give mirrors a read-only token of an account that can
  read nothing else, or use on-demand mirroring, whose token lives in the server's configuration.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import delete, desc, func, select

from .. import names
from ..dbutil import insert_ignore
from ..errors import BadRequest, Conflict, Forbidden, NotFound, RegistryError, RepoNotFound
from ..models import (Mirror, MirrorAlert, MirrorLfsCheck, MirrorRun, Organization, Repository, RepoTag, User,
                      utcnow)
from ..views import RepoView
from .report import SyncReport

log = logging.getLogger(__name__)

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
RETRY_FAILED_AFTER = 30  # seconds an on-demand failure is remembered before the upstream is asked again


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


def allowed(repo_id: str, patterns: list[str]) -> bool:
    """On-demand mirroring: is `repo_id` (ns/name) matched by one of the fnmatch patterns?"""
    return any(fnmatch.fnmatchcase(repo_id, p) for p in patterns if p)


def _license_of(card_data: dict | None) -> Any:
    lic = (card_data or {}).get("license")
    return lic if lic not in ("", []) else None


def _gated_of(value: Any) -> str | None:
    if value in (None, False, "", "false", "False"):
        return None
    if value is True:
        return "auto"
    return str(value)[:16]


@dataclass(frozen=True)
class MirrorView:
    id: int
    repo_type: str
    namespace: str
    name: str
    repo_pk: int | None
    upstream_url: str
    upstream_repo: str
    revision: str | None
    has_token: bool
    interval_seconds: int | None
    origin: str
    next_due: dt.datetime | None
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_status: str | None
    last_error: str | None
    last_synced_commit: str | None
    last_synced_at: dt.datetime | None
    lfs_checked_commit: str | None
    accepted_license: Any
    accepted_gated: str | None
    created_at: dt.datetime

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def upstream_link(self) -> str:
        return f"{self.upstream_url.rstrip('/')}/{PREFIX.get(self.repo_type, '')}{self.upstream_repo}"

    @property
    def lock_name(self) -> str:
        return lock_name(self.repo_type, self.repo_id)

    @classmethod
    def of(cls, m: Mirror) -> MirrorView:
        return cls(id=m.id, repo_type=m.repo_type, namespace=m.namespace, name=m.name, repo_pk=m.repo_pk,
                   upstream_url=m.upstream_url, upstream_repo=m.upstream_repo, revision=m.revision,
                   has_token=bool(m.token), interval_seconds=m.interval_seconds, origin=m.origin,
                   next_due=m.next_due, last_started_at=m.last_started_at, last_finished_at=m.last_finished_at,
                   last_status=m.last_status, last_error=m.last_error, last_synced_commit=m.last_synced_commit,
                   last_synced_at=m.last_synced_at, lfs_checked_commit=m.lfs_checked_commit,
                   accepted_license=m.accepted_license, accepted_gated=m.accepted_gated, created_at=m.created_at)


@dataclass(frozen=True)
class RunView:
    id: int
    mirror_id: int
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    method: str | None
    refs_updated: dict[str, Any]
    git_objects: int
    lfs_objects: int
    bytes_transferred: int
    skipped: int
    failures: str | None

    @classmethod
    def of(cls, r: MirrorRun) -> RunView:
        return cls(id=r.id, mirror_id=r.mirror_id, trigger=r.trigger, started_at=r.started_at,
                   finished_at=r.finished_at, status=r.status, method=r.method, refs_updated=dict(r.refs_updated or {}),
                   git_objects=r.git_objects or 0, lfs_objects=r.lfs_objects or 0,
                   bytes_transferred=r.bytes_transferred or 0, skipped=r.skipped or 0, failures=r.failures)


@dataclass(frozen=True)
class AlertView:
    id: int
    mirror_id: int
    repo_id: str
    kind: str
    old: Any
    new: Any
    created_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None


@dataclass(frozen=True)
class CheckView:
    commit: str
    path: str
    upstream_sha256: str | None
    sha256: str
    size: int

    @property
    def verified(self) -> bool:
        return self.upstream_sha256 is not None and self.upstream_sha256 == self.sha256


@dataclass
class Outcome:
    """What `sync` did with one mirror: status ok, failed or skipped (busy / no longer due)."""

    mirror: MirrorView
    status: str
    message: str = ""
    report: SyncReport | None = None
    run_id: int | None = None


@dataclass
class Trust:
    """What the model page shows about a mirror."""

    mirror: MirrorView
    verified: bool
    checks: list[CheckView] = field(default_factory=list)
    open_alerts: list[AlertView] = field(default_factory=list)


def lock_name(repo_type: str, repo_id: str) -> str:
    return "mirror-" + re.sub(r"[^a-z0-9._-]", "_", f"{repo_type}--{repo_id.replace('/', '--')}".lower())


class Mirrors:
    def __init__(self, registry) -> None:
        self.registry = registry
        self.db = registry.db
        self.locks = registry.locks
        # Replaceable for a different transport; looked up lazily (pull.py imports the storage stack).
        self.pull: Callable[..., SyncReport] | None = None
        self._inflight: set[str] = set()
        self._inflight_lock = threading.Lock()

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
            m = s.scalar(select(Mirror).where(
                Mirror.repo_type == repo_type, func.lower(Mirror.namespace) == ns.lower(),
                func.lower(Mirror.name) == name.lower()))
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
            m = self._row(s, repo_type, repo_id)
            if m is None:
                raise NotFound(f"{repo_id} is not a mirror")
            s.delete(m)

    # ---- reading ----------------------------------------------------------------------------
    @staticmethod
    def _row(s, repo_type: str, repo_id: str) -> Mirror | None:
        if repo_id.count("/") != 1:
            return None
        ns, name = repo_id.split("/")
        return s.scalar(select(Mirror).where(Mirror.repo_type == repo_type, func.lower(Mirror.namespace) == ns.lower(),
                                             func.lower(Mirror.name) == name.lower()))

    def get(self, repo_type: str, repo_id: str) -> MirrorView | None:
        with self.db.session() as s:
            m = self._row(s, repo_type, repo_id)
            return MirrorView.of(m) if m is not None else None

    def by_id(self, mirror_id: int) -> MirrorView | None:
        with self.db.session() as s:
            m = s.get(Mirror, mirror_id)
            return MirrorView.of(m) if m is not None else None

    def for_repo(self, repo: RepoView) -> MirrorView | None:
        with self.db.session() as s:
            m = s.scalar(select(Mirror).where(Mirror.repo_pk == repo.id))
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

    def alerts(self, open_only: bool = False, mirror_id: int | None = None) -> list[AlertView]:
        q = select(MirrorAlert, Mirror).join(Mirror, Mirror.id == MirrorAlert.mirror_id).order_by(desc(MirrorAlert.id))
        if open_only:
            q = q.where(MirrorAlert.acknowledged_at.is_(None))
        if mirror_id is not None:
            q = q.where(MirrorAlert.mirror_id == mirror_id)
        with self.db.session() as s:
            return [AlertView(a.id, a.mirror_id, f"{m.namespace}/{m.name}", a.kind, a.old, a.new, a.created_at,
                              a.acknowledged_by, a.acknowledged_at) for a, m in s.execute(q)]

    def checks(self, repo_pk: int, commit: str) -> list[CheckView]:
        with self.db.session() as s:
            rows = s.scalars(select(MirrorLfsCheck).where(MirrorLfsCheck.repo_pk == repo_pk,
                                                          MirrorLfsCheck.commit == commit)
                             .order_by(MirrorLfsCheck.path))
            return [CheckView(r.commit, r.path, r.upstream_sha256, r.sha256, r.size) for r in rows]

    def trust(self, repo: RepoView) -> Trust | None:
        """For the model page: None if `repo` is not a mirror."""
        m = self.for_repo(repo)
        if m is None:
            return None
        head = repo.head_sha
        checks = self.checks(repo.id, head) if head else []
        verified = bool(head) and m.lfs_checked_commit == head and all(c.verified for c in checks)
        return Trust(m, verified, checks, self.alerts(open_only=True, mirror_id=m.id))

    # ---- read-only --------------------------------------------------------------------------
    def check_writable(self, repo: RepoView) -> None:
        """Refuse any write to a mirror (the sync writes refs directly and never comes here)."""
        with self.db.session() as s:
            m = s.scalar(select(Mirror).where(Mirror.repo_pk == repo.id))
            link = MirrorView.of(m).upstream_link if m is not None else None
        if link is not None:
            raise Forbidden(f"This repository is a mirror of {link}; it is read-only here")

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
            self.ensure_namespace(mirror.namespace)
            run_id = self._start_run(mirror, trigger)
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
            self._record_checks(view, repo_pk, report)
            self._review_trust(view, repo_pk, report)
        return Outcome(self.by_id(mirror_id) or view, "ok", "", report, run_id)

    def _record_checks(self, mirror: MirrorView, repo_pk: int, report: SyncReport) -> None:
        rows = [{"repo_pk": repo_pk, "commit": commit, "path": c.path[:1000], "upstream_sha256": c.upstream_sha256,
                 "sha256": c.sha256, "size": c.size, "checked_at": utcnow()}
                for commit, checks in report.lfs_checks.items() for c in checks]
        with self.db.session(write=True) as s:
            for i in range(0, len(rows), 200):
                insert_ignore(s, MirrorLfsCheck, rows[i:i + 200])
            row = s.get(Mirror, mirror.id)
            repo = s.get(Repository, repo_pk)
            if repo is not None and repo.head_sha in report.lfs_checks:
                row.lfs_checked_commit = repo.head_sha
        bad = [f"{c.path} (upstream {c.upstream_sha256}, ours {c.sha256})"
               for checks in report.lfs_checks.values() for c in checks if not c.verified]
        if bad:
            log.warning("mirror %s: LFS files not verified against the upstream: %s", mirror.repo_id,
                        "; ".join(bad[:20]))

    # ---- license and gating -----------------------------------------------------------------
    def _review_trust(self, mirror: MirrorView, repo_pk: int, report: SyncReport) -> None:
        """Compare the upstream's license and gating with what was accepted; hold back changes."""
        with self.db.session(write=True) as s:
            row = s.get(Mirror, mirror.id)
            repo = s.get(Repository, repo_pk)
            upstream_license = _license_of(report.card_data) if report.card_data is not None else \
                _license_of(repo.card_data) if row.accepted_at is None else row.accepted_license
            upstream_gated = _gated_of(report.gated) if report.gated is not None else row.accepted_gated
            if row.accepted_at is None:
                row.accepted_license, row.accepted_gated, row.accepted_at = upstream_license, upstream_gated, utcnow()
            else:
                for kind, accepted, new in (("license", row.accepted_license, upstream_license),
                                            ("gating", row.accepted_gated, upstream_gated)):
                    self._alert(s, row, kind, accepted, new)
        self._show_accepted(repo_pk)

    def _alert(self, s, row: Mirror, kind: str, accepted: Any, new: Any) -> None:
        pending = s.scalar(select(MirrorAlert).where(MirrorAlert.mirror_id == row.id, MirrorAlert.kind == kind,
                                                     MirrorAlert.acknowledged_at.is_(None)))
        if new == accepted:
            if pending is not None:  # the upstream went back: nothing left to review
                pending.acknowledged_at, pending.acknowledged_by = utcnow(), "(upstream reverted)"
            return
        if pending is not None:
            if pending.new != new:
                pending.new = new
            return
        s.add(MirrorAlert(mirror_id=row.id, kind=kind, old=accepted, new=new, created_at=utcnow()))
        log.warning("mirror %s/%s: the upstream %s changed its %s from %r to %r; the change is held back until an "
                    "admin acknowledges it (modelhub sync alerts, or /admin/mirrors)", row.namespace, row.name,
                    row.upstream_repo, kind, accepted, new)

    def _show_accepted(self, repo_pk: int) -> None:
        """Make the repository show the accepted license and gating while alerts are open."""
        with self.db.session(write=True) as s:
            row = s.scalar(select(Mirror).where(Mirror.repo_pk == repo_pk))
            repo = s.get(Repository, repo_pk)
            if row is None or repo is None or row.accepted_at is None:
                return
            open_kinds = set(s.scalars(select(MirrorAlert.kind).where(MirrorAlert.mirror_id == row.id,
                                                                      MirrorAlert.acknowledged_at.is_(None))))
            repo.gated = row.accepted_gated
            if "license" not in open_kinds or _license_of(repo.card_data) == row.accepted_license:
                return
            card = dict(repo.card_data or {})
            if row.accepted_license is None:
                card.pop("license", None)
            else:
                card["license"] = row.accepted_license
            repo.card_data = card
            accepted = row.accepted_license if isinstance(row.accepted_license, list) else \
                [row.accepted_license] if row.accepted_license else []
            tags = [t for t in (repo.tags or []) if not t.startswith("license:")]
            tags += [f"license:{str(x).lower()}" for x in accepted]
            repo.tags = tags
            s.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
            insert_ignore(s, RepoTag, [{"repo_id": repo.id, "tag": t[:255]} for t in dict.fromkeys(tags)])

    def acknowledge(self, alert_id: int, admin: str) -> AlertView:
        """An admin accepts the upstream's new license or gating: it is shown from now on."""
        with self.db.session(write=True) as s:
            a = s.get(MirrorAlert, alert_id)
            if a is None:
                raise NotFound(f"No mirror alert {alert_id}")
            m = s.get(Mirror, a.mirror_id)
            if a.acknowledged_at is None:
                a.acknowledged_at, a.acknowledged_by = utcnow(), admin
                if a.kind == "license":
                    m.accepted_license = a.new
                else:
                    m.accepted_gated = a.new
                log.info("mirror %s/%s: %s accepted the upstream's %s %r", m.namespace, m.name, admin, a.kind, a.new)
            view = AlertView(a.id, a.mirror_id, f"{m.namespace}/{m.name}", a.kind, a.old, a.new, a.created_at,
                             a.acknowledged_by, a.acknowledged_at)
            repo_pk = m.repo_pk
        if repo_pk is not None:
            repo = self.registry.repos.by_id(repo_pk)
            if repo is not None and repo.head_sha and view.kind == "license":
                # Card metadata and tags again from the files, as any ref move would compute them.
                with self.registry.git.open(repo.storage_key) as git:
                    self.registry.commits.refresh_metadata(git, repo, f"refs/heads/{repo.default_branch}",
                                                           repo.head_sha)
            self._show_accepted(repo_pk)
        return view

    # ---- namespaces -------------------------------------------------------------------------
    def ensure_namespace(self, namespace: str) -> None:
        """Mirrors keep the upstream's ids: a missing owner becomes an organization without members
        (owned by the system: only site admins manage it)."""
        with self.db.session(write=True) as s:
            lname = namespace.lower()
            taken = s.scalar(select(func.count()).select_from(User).where(func.lower(User.name) == lname)) or \
                s.scalar(select(func.count()).select_from(Organization).where(func.lower(Organization.name) == lname))
            if not taken:
                names.validate_namespace(namespace)
                s.add(Organization(name=namespace, fullname=namespace))

    # ---- on-demand --------------------------------------------------------------------------
    def is_ready(self, repo_type: str, repo_id: str) -> bool:
        """Served locally: the repository exists and is not waiting for its first sync."""
        if repo_id.count("/") != 1:
            return True  # not a repository id: the normal path answers
        ns, name = repo_id.split("/")
        with self.db.session() as s:
            repo_pk = s.scalar(select(Repository.id).where(Repository.repo_type == repo_type,
                                                           Repository.namespace == ns, Repository.name == name))
            if repo_pk is None:
                return False
            m = self._row(s, repo_type, repo_id)
            return m is None or m.last_synced_commit is not None

    def fetch_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None,
                        wait: float) -> None:
        """Make `repo_id` local, mirroring it from the upstream (at most one pull at a time per
        repository across all workers). Returns once it is ready; raises RepoNotFound if the
        upstream has no such repository (or refuses it), MirrorBusy if it is not ready in `wait`."""
        asked = utcnow()
        recent = self.get(repo_type, repo_id)
        if recent is not None and recent.last_status == "failed" and recent.last_finished_at and \
                (asked - recent.last_finished_at).total_seconds() < RETRY_FAILED_AFTER:
            self._raise_failure(recent, repo_id)  # asked again at once: the upstream is not asked again yet
        self.start_on_demand(repo_type, repo_id, upstream_url, token)
        deadline = time.monotonic() + wait
        while True:
            if self.is_ready(repo_type, repo_id):
                return
            m = self.get(repo_type, repo_id)
            if m is not None and m.last_status == "failed" and m.last_finished_at and m.last_finished_at >= asked:
                self._raise_failure(m, repo_id)
            if time.monotonic() >= deadline:
                raise MirrorBusy(f"{repo_id} is being mirrored from {upstream_url}; try again in a moment",
                                 retry_after=5)
            time.sleep(0.2)

    @staticmethod
    def _raise_failure(m: MirrorView, repo_id: str) -> None:
        err = (m.last_error or "").lower()
        if "not found" in err or "no access" in err or "401" in err or "404" in err:
            raise RepoNotFound(f"Repository Not Found for url: {repo_id}.")
        raise MirrorBusy(f"Mirroring {repo_id} from the upstream failed; try again later",
                         retry_after=RETRY_FAILED_AFTER)

    def start_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None) -> None:
        """Start the on-demand pull in a background thread of this process (once per process; the
        lock makes it once across processes)."""
        key = lock_name(repo_type, repo_id)
        with self._inflight_lock:
            if key in self._inflight:
                return
            self._inflight.add(key)
        threading.Thread(target=self._pull_on_demand, args=(repo_type, repo_id, upstream_url, token, key),
                         name=f"mirror-{repo_id}", daemon=True).start()

    def _pull_on_demand(self, repo_type: str, repo_id: str, upstream_url: str, token: str | None, key: str) -> None:
        try:
            if self.is_ready(repo_type, repo_id):
                return
            m = self.get(repo_type, repo_id) or self.add(upstream_url, repo_id, repo_id, repo_type=repo_type,
                                                          origin="on-demand")
            o = self.sync(m, trigger="on-demand", token=token)
            if o.status == "ok":
                log.info("mirrored %s on demand from %s", repo_id, upstream_url)
        except Exception:
            log.exception("on-demand mirroring of %s failed", repo_id)
        finally:
            with self._inflight_lock:
                self._inflight.discard(key)


class MirrorBusy(RegistryError):
    """The repository is being mirrored (or the upstream failed just now): retry later."""

    status = 503
