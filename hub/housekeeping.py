"""The background jobs a serving hub runs on its own, once across the cluster (models_registry/jobs.py).

Every serving worker of every node runs this thread; each job's lease and its record of the last run
decide which one does the work, so adding nodes adds no duplicate runs and needs no cron:

- `stats-refresh` (daily): the 30-day download and trending counters, which age by the day.
- `sweep-<node>` (hourly): partial uploads a killed process left in this node's own scratch
  folder (each node has its own, so the job is per node).
- `webhook-log-prune` (daily): webhook deliveries finished more than 30 days ago.
- `storage-gc` (daily, only with MODELHUB_STORAGE_GC=1): `modelhub storage gc` with its default
  grace windows. Off by default, as Gitea's LFS cleanup is: it deletes bytes, and a backup taken
  while it runs may name objects it frees (docs/deploy.md).

`sync run` stays a command of its own (`modelhub sync run --every 1m`, on any number of nodes): a sync
can take hours, which has no place in a web worker; it syncs each mirror once per period anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from community.webhooks import Webhooks
from models_registry.jobs import JobOutcome
from models_registry.registry import Registry

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0
STATS_EVERY = dt.timedelta(days=1)
UPLOADS_SWEEP_EVERY = dt.timedelta(hours=1)
STORAGE_GC_EVERY = dt.timedelta(days=1)
WEBHOOK_LOG_EVERY = dt.timedelta(days=1)


class Housekeeping:
    def __init__(self, registry: Registry, node: str, check_seconds: float = CHECK_SECONDS,
                 storage_gc: bool = False, webhooks: Webhooks | None = None) -> None:
        self.registry = registry
        self.webhooks = webhooks
        self.node = node
        self.check_seconds = check_seconds
        self.storage_gc = storage_gc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def jobs(self) -> list[tuple[str, dt.timedelta, Callable[[], object]]]:
        reg = self.registry
        jobs: list[tuple[str, dt.timedelta, Callable[[], object]]] = [
            ("stats-refresh", STATS_EVERY, lambda: f"refreshed {reg.engagement.refresh_all()} repositories"),
            (f"sweep-{self.node}"[:64], UPLOADS_SWEEP_EVERY,
             lambda: f"removed {reg.sweep_uploads()} partial uploads"),
        ]
        if self.webhooks is not None:
            hooks = self.webhooks
            jobs.append(("webhook-log-prune", WEBHOOK_LOG_EVERY,
                         lambda: f"deleted {hooks.prune_log()} old webhook deliveries"))
        if self.storage_gc:
            jobs.append(("storage-gc", STORAGE_GC_EVERY, self._storage_gc))
        return jobs

    def _storage_gc(self) -> str:
        report = self.registry.storage_gc.run()
        return (f"freed {len(report.objects)} objects and {len(report.xorbs)} xorbs "
                f"({report.freed_bytes} bytes) of {report.repositories} repositories")

    def run_due(self) -> list[JobOutcome]:
        return [self.registry.jobs.run_if_due(name, every, self.node, work) for name, every, work in self.jobs()]

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.check_seconds):  # not at once: a starting node has enough to do
            try:
                for outcome in self.run_due():
                    if outcome.ran:
                        log.info("background job %s: %s %s", outcome.name, outcome.reason, outcome.detail or "")
            except Exception:  # the database may be briefly away: try again next time
                log.exception("background jobs check failed; retrying")
