"""Shared fixtures: a real `modelhub serve` on a free port, users with tokens, the real HF client.

Set MODELHUB_TEST_DATABASE_URL to run the whole suite against another database (CI runs it once
more against PostgreSQL); each server started here then gets a fresh schema of its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before huggingface_hub is imported anywhere: no telemetry calls, no user-level token or cache.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_ENDPOINT", None)
os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
# A Hugging Face home of this test process's own (the hubs it starts inherit it). Why: hf_xet
# remembers, per endpoint URL, which xorbs the server holds (its shard cache). A hub of a later
# test, or of a later run, on a port an earlier hub had would be sent shards naming xorbs it never
# received, and refuse them: nine sync tests failed so in one CI run, on a port a run before had used.
for _name in ("HF_XET_CACHE", "HF_HUB_CACHE", "HF_ASSETS_CACHE", "HF_TOKEN_PATH"):
    os.environ.pop(_name, None)
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="modelhub-tests-hf-home-")
atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)

import pytest  # noqa: E402

from tests.support.live import LiveHub, start_hub  # noqa: E402


MAX_TEST_PROCESSES = 4


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto` (setup.cfg): one test process per CPU, at most MAX_TEST_PROCESSES.

    Why a cap: every process starts its own servers (two gunicorn workers each), git and browsers;
    beyond a few, more processes mostly add contention, not speed.
    """
    return max(1, min(MAX_TEST_PROCESSES, len(os.sched_getaffinity(0))))


@pytest.fixture(scope="session")
def hub(tmp_path_factory) -> LiveHub:
    """One multi-worker server for the whole session (small page sizes, to exercise pagination)."""
    # Posting limits are tested on servers of their own; here many tests post as one user.
    h = start_hub(tmp_path_factory.mktemp("hub"), workers=2,
                  env={"MODELHUB_PAGE_SIZE": "7", "MODELHUB_TREE_PAGE_SIZE": "5",
                       "MODELHUB_POSTS_PER_MINUTE": "1000", "MODELHUB_POSTS_PER_HOUR": "10000"})
    yield h
    h.stop()


@pytest.fixture
def hf_cache(tmp_path):
    """A private HF cache folder per test."""
    return str(tmp_path / "hf-cache")
