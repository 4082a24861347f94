"""Background work that must run once across the cluster, whichever node gets to it first.

Each job runs under a lease: its named lock (`locks.py`), which is a PostgreSQL advisory lock when
the database is PostgreSQL, so it lives in the database, every node sees it, and it ends with its
holder's session (a node killed mid-job frees it at once, with no expiry to wait out or to outlive).
On the embedded default it is an flock, as there is only one machine. The lease alone would let a
second node run the job again right after the first finished, so the job's last run is recorded in
`background_jobs`, and `run_if_due` runs it only when that is older than the job's period: checked
under the lease, a period holds one run across all nodes.

Why not time-limited lease rows (holder, expires_at): a long job must then renew its row, and one
that stalls past expiry runs twice; a session lock has neither problem.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from .clock import utcnow
from .db import Database
from .locks import Locks
from .tables import BackgroundJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobView:
    name: str
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_node: str | None
    last_status: str | None
    last_detail: str | None
    runs: int

    @classmethod
    def of(cls, row: BackgroundJob) -> JobView:
        return cls(row.name, row.last_started_at, row.last_finished_at, row.last_node, row.last_status,
                   row.last_detail, row.runs)


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ran: bool
    reason: str  # "ok", "failed: ...", "running on another node", "not due"
    detail: str | None = None


class Jobs:
    def __init__(self, db: Database, locks: Locks, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db = db
        self.locks = locks
        self.clock = clock

    def run_if_due(self, name: str, every: dt.timedelta, node: str, work: Callable[[], object]) -> JobOutcome:
        """Run `work` if no node ran job `name` within `every` and none is running it now. What
        `work` returns is recorded as the run's detail; what it raises, as its failure (a failed
        run counts as a run: the job is retried next period, not in a tight loop across nodes)."""
        with self.locks.try_hold(f"job-{name}") as got:
            if not got:
                return JobOutcome(name, False, "running on another node")
            now = self.clock()
            with self.db.session(write=True) as s:
                row = s.get(BackgroundJob, name)
                if row is None:
                    row = BackgroundJob(name=name, runs=0)
                    s.add(row)
                elif (row.last_status != "running"  # "running" with the lease free: its node died mid-run
                      and row.last_started_at is not None and now - row.last_started_at < every):
                    return JobOutcome(name, False, "not due")
                row.last_started_at, row.last_finished_at, row.last_node = now, None, node
                row.last_status, row.last_detail = "running", None
            try:
                detail = work()
            except Exception as e:  # recorded and logged; the caller's loop goes on
                log.exception("background job %s failed", name)
                self._finish(name, "failed", f"{type(e).__name__}: {e}")
                return JobOutcome(name, True, "failed", str(e))
            text = None if detail is None else str(detail)
            self._finish(name, "ok", text)
            return JobOutcome(name, True, "ok", text)

    def _finish(self, name: str, status: str, detail: str | None) -> None:
        with self.db.session(write=True) as s:
            row = s.get(BackgroundJob, name)
            row.last_finished_at, row.last_status, row.last_detail = self.clock(), status, (detail or "")[:2000] or None
            row.runs += 1

    def list(self) -> list[JobView]:
        with self.db.session() as s:
            return [JobView.of(r) for r in s.scalars(select(BackgroundJob).order_by(BackgroundJob.name))]
