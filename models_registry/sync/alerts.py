"""Upstream change alerts: license and gating changes upstream are held back until an admin
acknowledges them.

Rules:
- The mirror keeps what an admin last accepted (`accepted_license`, `accepted_gated`, the
  upstream's values at the first sync). When a later sync sees different values, an alert is opened
  and logged, and the repository keeps *showing* the accepted values (its card metadata, license
  tags and gating are set back to them) until an admin acknowledges the alert; the files themselves
  (README.md) are the upstream's from the start. The window between the pull moving the ref and the
  override is one database write.
- One open alert per mirror and kind: a further change updates it; the upstream going back to the
  accepted value closes it ("(upstream reverted)").
- Acknowledging accepts the upstream's new value: the card metadata and tags are computed from the
  files again, as any ref move would compute them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, desc, select

from ..dbutil import insert_ignore
from ..errors import NotFound
from ..tables import Mirror, MirrorAlert, Repository, RepoTag, utcnow
from .followed import row_for_repo
from .mirror_records import AlertView, MirrorView
from .report import SyncReport

log = logging.getLogger(__name__)


def _license_of(card_data: dict | None) -> Any:
    lic = (card_data or {}).get("license")
    return lic if lic not in ("", []) else None


def _gated_of(value: Any) -> str | None:
    if value in (None, False, "", "false", "False"):
        return None
    if value is True:
        return "auto"
    return str(value)[:16]


class UpstreamAlerts:
    def __init__(self, registry) -> None:
        self.registry = registry
        self.db = registry.db

    def list(self, open_only: bool = False, mirror_id: int | None = None) -> list[AlertView]:
        q = select(MirrorAlert, Mirror).join(Mirror, Mirror.id == MirrorAlert.mirror_id).order_by(desc(MirrorAlert.id))
        if open_only:
            q = q.where(MirrorAlert.acknowledged_at.is_(None))
        if mirror_id is not None:
            q = q.where(MirrorAlert.mirror_id == mirror_id)
        with self.db.session() as s:
            return [AlertView(a.id, a.mirror_id, f"{m.namespace}/{m.name}", a.kind, a.old, a.new, a.created_at,
                              a.acknowledged_by, a.acknowledged_at) for a, m in s.execute(q)]

    def review(self, mirror: MirrorView, repo_pk: int, report: SyncReport) -> None:
        """After a sync: compare the upstream's license and gating with what was accepted; hold back changes."""
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
            row = row_for_repo(s, repo_pk)
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
