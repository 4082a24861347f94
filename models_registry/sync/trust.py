"""Trust records: which mirrored LFS files are known to be the upstream's, and what the model page
shows about a mirror.

Rules:
- Each run records, per mirrored commit, the upstream's sha256 of every LFS file and ours
  (`mirror_lfs_checks`); files that disagree are logged.
- A revision is "verified" when it was checked and every check matches (a revision with no LFS file
  at all, once checked, is verified: there is nothing to disagree on).
- The model page of a mirror shows whether its head is verified, the checks, and the open
  license/gating alerts (`alerts.py`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ..dbutil import insert_ignore
from ..records import RepoView
from ..tables import Mirror, MirrorLfsCheck, Repository, utcnow
from .alerts import UpstreamAlerts
from .followed import row_for_repo
from .mirror_records import CheckView, MirrorView, Trust
from .report import SyncReport

log = logging.getLogger(__name__)


class TrustRecords:
    def __init__(self, db, alerts: UpstreamAlerts) -> None:
        self.db = db
        self.alerts = alerts

    def record_checks(self, mirror: MirrorView, repo_pk: int, report: SyncReport) -> None:
        """After a sync: store its LFS checks; the head is checked if the run checked it."""
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

    def checks(self, repo_pk: int, commit: str) -> list[CheckView]:
        with self.db.session() as s:
            rows = s.scalars(select(MirrorLfsCheck).where(MirrorLfsCheck.repo_pk == repo_pk,
                                                          MirrorLfsCheck.commit == commit)
                             .order_by(MirrorLfsCheck.path))
            return [CheckView(r.commit, r.path, r.upstream_sha256, r.sha256, r.size) for r in rows]

    def trust(self, repo: RepoView) -> Trust | None:
        """For the model page: None if `repo` is not a mirror."""
        with self.db.session() as s:
            row = row_for_repo(s, repo.id)
            m = MirrorView.of(row) if row is not None else None
        if m is None:
            return None
        head = repo.head_sha
        checks = self.checks(repo.id, head) if head else []
        verified = bool(head) and m.lfs_checked_commit == head and all(c.verified for c in checks)
        return Trust(m, verified, checks, self.alerts.list(open_only=True, mirror_id=m.id))
