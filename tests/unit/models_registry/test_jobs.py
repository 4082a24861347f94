"""Cluster-wide background jobs (models_registry/jobs.py): one run per period across nodes, never two
at once, a failed run recorded, a run whose node died taken over. On a real migrated database of
each kind; two Registry objects on one database are two nodes (on PostgreSQL their leases are
advisory locks, which the database holds for them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from hub import migrate
from models_registry.jobs import Jobs
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from tests.support.databases import database_url
from models_registry.tables import BackgroundJob

DAY = dt.timedelta(days=1)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 5, 3, 0, 0)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def nodes(request, tmp_path) -> Iterator[tuple[Registry, Registry]]:
    url = database_url(request.param)
    a = Registry(RegistrySettings.for_data_dir(tmp_path / "a", database_url=url))
    migrate.upgrade(a.db)
    b = Registry(RegistrySettings.for_data_dir(tmp_path / "b", database_url=a.settings.database_url))
    if url is None:  # one machine: the same lock folder (two workers of one node)
        b.jobs.locks = a.jobs.locks
    yield a, b
    b.close()
    a.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def jobs_of(reg: Registry, clock: Clock) -> Jobs:
    return Jobs(reg.db, reg.jobs.locks, clock)


def test_one_run_per_period_whichever_node_asks(nodes, clock):
    a, b = (jobs_of(n, clock) for n in nodes)
    calls: list[str] = []
    first = a.run_if_due("stats-refresh", DAY, "node-a", lambda: calls.append("a") or "did a")
    assert (first.ran, first.reason, first.detail) == (True, "ok", "did a")
    clock.now += dt.timedelta(hours=23)
    second = b.run_if_due("stats-refresh", DAY, "node-b", lambda: calls.append("b"))
    assert (second.ran, second.reason) == (False, "not due")
    clock.now += dt.timedelta(hours=1)
    third = b.run_if_due("stats-refresh", DAY, "node-b", lambda: calls.append("b"))
    assert third.ran and calls == ["a", "b"]
    [job] = a.list()
    assert (job.name, job.runs, job.last_node, job.last_status) == ("stats-refresh", 2, "node-b", "ok")


def test_never_two_runs_at_once(nodes, clock):
    a, b = (jobs_of(n, clock) for n in nodes)
    seen: list = []

    def work() -> str:
        # While node A runs the job, node B is told so and does not run it (not "not due": the lease).
        seen.append(b.run_if_due("gc", DAY, "node-b", lambda: pytest.fail("ran twice at once")))
        return "done"

    assert a.run_if_due("gc", DAY, "node-a", work).ran
    assert [(o.ran, o.reason) for o in seen] == [(False, "running on another node")]


def test_a_failed_run_is_recorded_and_waits_for_the_next_period(nodes, clock):
    a, b = (jobs_of(n, clock) for n in nodes)

    def broken() -> None:
        raise RuntimeError("the store is away")

    out = a.run_if_due("gc", DAY, "node-a", broken)
    assert (out.ran, out.reason, out.detail) == (True, "failed", "the store is away")
    [job] = a.list()
    assert job.last_status == "failed" and "RuntimeError: the store is away" in job.last_detail
    assert b.run_if_due("gc", DAY, "node-b", lambda: None).reason == "not due"  # no tight retry loop


def test_a_run_whose_node_died_is_taken_over_at_once(nodes, clock):
    a, b = (jobs_of(n, clock) for n in nodes)
    with a.db.session(write=True) as s:  # what a node killed mid-run leaves: "running", its lease gone
        s.add(BackgroundJob(name="gc", last_started_at=clock.now, last_node="node-a", last_status="running",
                            runs=0))
    clock.now += dt.timedelta(minutes=5)
    out = b.run_if_due("gc", DAY, "node-b", lambda: "again")
    assert (out.ran, out.reason) == (True, "ok")
    [job] = b.list()
    assert (job.last_node, job.last_status, job.runs) == ("node-b", "ok", 1)
