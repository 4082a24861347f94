"""Plain-data records of mirrors, handed out by `Mirrors` so that no ORM object leaves a session:
a mirror, one of its sync runs, an upstream-change alert, an LFS check, what a sync did (`Outcome`)
and what the model page shows (`Trust`). Also the per-mirror lock's name, shared by the followed
mirrors' sync and on-demand mirroring (the same lock: one pull per repository, whoever starts it)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..tables import Mirror, MirrorRun
from .report import SyncReport

PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def lock_name(repo_type: str, repo_id: str) -> str:
    return "mirror-" + re.sub(r"[^a-z0-9._-]", "_", f"{repo_type}--{repo_id.replace('/', '--')}".lower())


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
