"""Background jobs of serving hubs (hub/housekeeping.py, models_registry/jobs.py): every worker of
every node checks them, and each runs once per period across all of them. One node with two
workers on SQLite; with PostgreSQL (MODELHUB_TEST_DATABASE_URL) also two nodes on one database."""

from __future__ import annotations

import os
import time

import pytest

from tests.support.live import LiveHub, start_hub
from tests.support.waiting import poll

FAST = {"MODELHUB_JOBS_CHECK_SECONDS": "0.5"}


def jobs(hub: LiveHub) -> dict[str, tuple[str, str, int]]:
    """name -> (node, status, runs), from `modelhub jobs list`."""
    out = hub.cli("jobs", "list")
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines() if line.strip()]
    return {r[0]: (r[2], r[3], int(r[4].split()[0])) for r in rows}


def node_id(hub: LiveHub) -> str:
    return (hub.data_dir / "search" / "node-id").read_text().strip()


def test_one_node_with_two_workers_runs_each_job_once(tmp_path):
    hub = start_hub(tmp_path, workers=2, env=FAST)
    try:
        me = node_id(hub)
        done = poll(lambda: jobs(hub), lambda j: {"stats-refresh", f"sweep-{me}"} <= set(j), timeout=30)
        assert done["stats-refresh"] == (me, "ok", 1)
        time.sleep(2)  # four more checks by each worker: nothing is due for a day (stats) or an hour (sweep)
        again = jobs(hub)
        assert again["stats-refresh"][2] == 1 and again[f"sweep-{me}"][2] == 1
        assert "storage-gc" not in again  # it deletes bytes: only when asked (MODELHUB_STORAGE_GC=1)
        assert "Traceback" not in hub.log()
    finally:
        hub.stop()


def test_storage_gc_runs_daily_when_asked(tmp_path):
    hub = start_hub(tmp_path, workers=2, env={**FAST, "MODELHUB_STORAGE_GC": "1"})
    try:
        done = poll(lambda: jobs(hub), lambda j: "storage-gc" in j, timeout=30)
        assert done["storage-gc"] == (node_id(hub), "ok", 1)
        out = hub.cli("jobs", "list").stdout
        assert "freed 0 objects and 0 xorbs" in out, out
        time.sleep(2)
        assert jobs(hub)["storage-gc"][2] == 1
    finally:
        hub.stop()


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("MODELHUB_TEST_DATABASE_URL"),
                    reason="MODELHUB_TEST_DATABASE_URL is not set: two nodes need a shared PostgreSQL database")
def test_two_nodes_run_a_cluster_job_once_and_their_own_sweeps_each(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_hub(tmp_path / "a", workers=2, env=FAST)
    try:
        b = start_hub(tmp_path / "b", workers=2, env={**FAST, "MODELHUB_DATABASE_URL": a.env["MODELHUB_DATABASE_URL"]})
        try:
            ids = {node_id(a), node_id(b)}
            wanted = {"stats-refresh"} | {f"sweep-{n}" for n in ids}
            done = poll(lambda: jobs(a), lambda j: wanted <= set(j), timeout=30)
            time.sleep(2)
            again = jobs(b)
            assert again["stats-refresh"][2] == 1 and again["stats-refresh"][0] in ids
            assert all(again[f"sweep-{n}"] == (n, "ok", 1) for n in ids), (done, again)
        finally:
            b.stop()
    finally:
        a.stop()
