"""Mirrors: local repositories kept as copies of upstream ones, the one way to read and change them.

`Mirrors` is the single entry object the registry builds (`registry.mirrors`) and every surface asks
(the `modelhub sync` commands, the admin API and page, the model page, on-demand mirroring, the
registry's write guard); it does no work itself. It builds one service per concern and answers each
public method with that service's bound method (composition, as `community.service.Community`;
community/README.md says why not mixins). Each module states its rules at its top:

- `followed.py`  – `FollowedMirrors`: register and remove mirrors, list them and their history, the
                   schedule (`due`, `run_due`), and `sync`: one sync per repository at a time
                   (per-mirror lock), nothing half-applied, the stored upstream token.
- `read_only.py` – `ReadOnlyGuard.check_writable`: a mirror takes no write except the sync's.
- `trust.py`     – `TrustRecords`: per-commit LFS checks against the upstream, "verified", and what
                   the model page shows (`trust`).
- `alerts.py`    – `UpstreamAlerts`: license and gating changes upstream held back until an admin
                   acknowledges them.
- `on_demand.py` – `OnDemand`: the `allowed` patterns and fetch-on-first-request (`MirrorBusy`).
- `mirror_records.py` – the plain-data records (`MirrorView`, `RunView`, `AlertView`, `CheckView`,
                   `Outcome`, `Trust`) and `lock_name`.
"""

from __future__ import annotations

from collections.abc import Callable

from .alerts import UpstreamAlerts
from .followed import FollowedMirrors
from .on_demand import OnDemand
from .read_only import ReadOnlyGuard
from .report import SyncReport
from .trust import TrustRecords


class Mirrors:
    """The mirrors of one hub, one attribute per concern, flat methods for the callers."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self.db = registry.db
        self.locks = registry.locks

        self.upstream_alerts = UpstreamAlerts(registry)
        self.trust_records = TrustRecords(registry.db, self.upstream_alerts)
        self.followed = FollowedMirrors(registry, self.trust_records, self.upstream_alerts)
        self.read_only = ReadOnlyGuard(registry.db)
        self.on_demand = OnDemand(self.followed)

        # The public surface, by concern: bound methods keep each one's signature, docstring and types.
        self.add = self.followed.add
        self.remove = self.followed.remove
        self.get = self.followed.get
        self.by_id = self.followed.by_id
        self.for_repo = self.followed.for_repo
        self.list = self.followed.list
        self.due = self.followed.due
        self.next_due_at = self.followed.next_due_at
        self.runs = self.followed.runs
        self.run_due = self.followed.run_due
        self.sync = self.followed.sync
        self.record_pull = self.followed.record_pull
        self.ensure_namespace = self.followed.ensure_namespace

        self.check_writable = self.read_only.check_writable

        self.checks = self.trust_records.checks
        self.trust = self.trust_records.trust

        self.alerts = self.upstream_alerts.list
        self.acknowledge = self.upstream_alerts.acknowledge

        self.is_ready = self.on_demand.is_ready
        self.fetch_on_demand = self.on_demand.fetch_on_demand
        self.start_on_demand = self.on_demand.start_on_demand

    @property
    def pull(self) -> Callable[..., SyncReport] | None:
        """The pull function every sync uses (None: `pull_repository`); replaceable for a different
        transport, and by tests."""
        return self.followed.pull

    @pull.setter
    def pull(self, fn: Callable[..., SyncReport] | None) -> None:
        self.followed.pull = fn

    @property
    def _inflight(self) -> set[str]:
        """The on-demand pulls this process is running (tests wait for it to empty)."""
        return self.on_demand._inflight
