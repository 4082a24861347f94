"""Repository locks on PostgreSQL (advisory locks) behave like the flock ones callers were written
for: holds of one name exclude each other (in one process too: they never nest), other names do
not, a killed holder releases at once, and no connection goes back to a pool still holding one.

Needs a real server: MODELHUB_TEST_DATABASE_URL (as the other PostgreSQL tests); each run gets a
database of its own, so that counting this module's locks and connections sees nobody else's."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from models_registry import locks as locks_module
from models_registry.db import Database
from models_registry.locks import APPLICATION_NAME, LockDir, PgLocks, advisory_key, open_locks
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from models_registry.storage import GitStore

TEST_DATABASE_URL = os.environ.get("MODELHUB_TEST_DATABASE_URL")
ROOT = Path(__file__).resolve().parents[3]
WAIT = 0.5  # how long "still waiting" must last to count as excluded


def postgres(test: Callable) -> Callable:
    """A test that needs a PostgreSQL server: skipped, saying why, on the embedded SQLite run."""
    skip = pytest.mark.skipif(not TEST_DATABASE_URL,
                              reason="MODELHUB_TEST_DATABASE_URL is not set: this run uses the embedded SQLite database")
    return pytest.mark.postgres(skip(test))


@pytest.fixture(scope="module")
def pg_url() -> str:
    from tests.support.live import _fresh_database_url

    url = _fresh_database_url(TEST_DATABASE_URL)
    assert url is not None
    return url


@pytest.fixture
def database(pg_url) -> Iterator[Database]:
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture
def locks(database) -> PgLocks:
    return PgLocks.for_database(database)


def advisory_locks(db: Database) -> int:
    """Advisory locks granted in this test's database, by anyone."""
    with db.engine.connect() as c:
        return c.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))


def lock_connections(db: Database) -> int:
    with db.engine.connect() as c:
        return c.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"
                             " AND datname = current_database()"), {"app": APPLICATION_NAME})


def hold_in_thread(locks: PgLocks, name: str, then: Callable[[], object]) -> threading.Thread:
    """Another holder in this process: takes `name` (waiting), runs `then`, releases."""
    def work() -> None:
        with locks.hold(name):
            then()

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t


@contextmanager
def holder_process(url: str, name: str) -> Iterator[subprocess.Popen]:
    """Another process holding `name` until a line arrives on its stdin (or it is killed)."""
    code = ("import sys\n"
            "from models_registry.db import Database\n"
            "from models_registry.locks import PgLocks\n"
            "with PgLocks.for_database(Database(sys.argv[1])).hold(sys.argv[2]):\n"
            "    print('held', flush=True)\n"
            "    sys.stdin.readline()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-c", code, url, name], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as proc:
        try:
            assert proc.stdout.readline().strip() == "held", "the holder process did not start"
            yield proc
        finally:
            proc.kill()


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("release\n")
    proc.stdin.flush()


def free_within(locks: PgLocks, name: str, seconds: float) -> float | None:
    """How long until `name` could be taken (None: not within `seconds`)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        with locks.try_hold(name) as got:
            if got:
                return time.monotonic() - start
        time.sleep(0.05)
    return None


# ---- keys -----------------------------------------------------------------------------------------

def test_keys_are_stable_signed_64_bit_numbers_of_the_name():
    # Pinned: every node of a cluster, whatever its Python or hub version, must compute the same key.
    assert advisory_key("abc") == -4193760093494391657
    keys = {advisory_key(n) for n in ("abc", "abc-incoming", "migrate", "sync-object-ab")}
    assert len(keys) == 4 and all(-2**63 <= k < 2**63 for k in keys)


# ---- exclusion --------------------------------------------------------------------------------------

@postgres
def test_two_holds_of_one_name_exclude_each_other_in_one_process(locks):
    order: list[str] = []
    with locks.hold("repo1"):
        with locks.try_hold("repo1") as again:
            assert again is False  # no nesting, as with flock: the same thread is a second holder
        waiter = hold_in_thread(locks, "repo1", lambda: order.append("second"))
        waiter.join(WAIT)
        assert waiter.is_alive(), "a second hold of the same name did not wait"
        order.append("first released")
    waiter.join(10)
    assert order == ["first released", "second"]


@postgres
def test_different_names_do_not_exclude_each_other(locks):
    with locks.hold("repo1"), locks.hold("repo1-incoming"):
        with locks.try_hold("repo2") as other:
            assert other is True
        other_hold = hold_in_thread(locks, "repo2", lambda: None)
        other_hold.join(10)
        assert not other_hold.is_alive(), "a hold of another name waited"


@postgres
def test_try_hold_yields_false_while_held_and_true_after(locks, database):
    with locks.hold("repo1"):
        with locks.try_hold("repo1") as got:
            assert got is False
    with locks.try_hold("repo1") as got:
        assert got is True
        assert advisory_locks(database) == 1
    assert advisory_locks(database) == 0


@postgres
def test_holds_exclude_each_other_across_processes(pg_url, locks):
    with holder_process(pg_url, "repo1") as proc:
        with locks.try_hold("repo1") as got:
            assert got is False
        taken = threading.Event()
        waiter = hold_in_thread(locks, "repo1", taken.set)
        assert not taken.wait(WAIT), "a hold did not wait for another process's"
        release(proc)
        assert taken.wait(10), "the hold did not get the lock once the other process released it"
        waiter.join(10)


@postgres
def test_a_holder_killed_with_sigkill_releases_within_seconds(pg_url, locks):
    with holder_process(pg_url, "repo1") as proc:
        with locks.try_hold("repo1") as got:
            assert got is False
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    took = free_within(locks, "repo1", 10)
    assert took is not None, "the killed holder's lock was not released within 10 s"
    assert took < 5


@postgres
def test_a_hold_waits_whatever_timeouts_the_database_sets(pg_url, database, locks):
    """An operator's statement_timeout must not turn a push queued behind another into an error."""
    name = pg_url.rsplit("/", 1)[1]
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET statement_timeout = '100ms'")
        c.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET lock_timeout = '100ms'")
    try:
        done = threading.Event()
        with locks.hold("repo1"):
            waiter = hold_in_thread(locks, "repo1", done.set)
            time.sleep(WAIT)  # well past both timeouts
        assert done.wait(10), "the waiting hold failed instead of waiting"
        waiter.join(10)
    finally:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql(f"ALTER DATABASE \"{name}\" RESET statement_timeout")
            c.exec_driver_sql(f"ALTER DATABASE \"{name}\" RESET lock_timeout")


# ---- connections ----------------------------------------------------------------------------------

@pytest.fixture
def pooled(pg_url) -> Iterator[Engine]:
    """A one-connection pool: whatever a hold gives back is what the next checkout gets."""
    engine = create_engine(pg_url, poolclass=QueuePool, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def pooled_connection_holds_nothing(engine: Engine) -> bool:
    with engine.connect() as c:
        return c.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                             " AND pid = pg_backend_pid()")) == 0


@postgres
def test_an_exception_inside_a_hold_releases_the_lock_and_its_connection(locks, database, pooled):
    with pytest.raises(RuntimeError), locks.hold("repo1"):
        assert lock_connections(database) == 1
        raise RuntimeError("the commit failed")
    assert advisory_locks(database) == 0
    assert lock_connections(database) == 0  # the lock engine keeps no connection (NullPool)
    pooled_locks = PgLocks(pooled)
    with pytest.raises(RuntimeError), pooled_locks.hold("repo1"):
        raise RuntimeError("the commit failed")
    assert pooled_connection_holds_nothing(pooled)
    with locks.try_hold("repo1") as got:
        assert got is True


@postgres
def test_a_failed_unlock_drops_the_connection_instead_of_pooling_it(monkeypatch, caplog, database, pooled):
    pooled_locks = PgLocks(pooled)
    monkeypatch.setattr(locks_module, "_UNLOCK", text("SELECT 1 / 0 = :key"))  # an unlock that fails
    with caplog.at_level(logging.ERROR, logger="models_registry.locks"), pooled_locks.hold("repo1"):
        pass  # the work succeeded; a failed release is logged, not raised
    assert "releasing lock 'repo1' failed" in caplog.text
    assert pooled_connection_holds_nothing(pooled)
    assert advisory_locks(database) == 0


@postgres
def test_a_holder_whose_connection_was_killed_ends_cleanly(locks, database):
    """The server (or an operator) ended the lock's session mid-hold: the lock is gone already;
    leaving the hold must neither raise nor keep the broken connection."""
    with locks.hold("repo1"):
        with database.engine.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE application_name = :app AND datname = current_database()"),
                      {"app": APPLICATION_NAME})
    assert free_within(locks, "repo1", 5) is not None


# ---- the callers' use ---------------------------------------------------------------------------

@postgres
def test_a_pull_writing_its_own_refs_sees_a_pull_running(tmp_path, locks):
    """GitStore.writing asks whether a `sync pull` runs with try_hold(<key>-incoming); the pull that
    asks holds that lock itself, so the answer must be no (the holds must not nest)."""
    store = GitStore(tmp_path / "repos", locks)
    key = "ab12cd"
    store.init(key).close()
    with store.incoming(key), store.writing(key) as git:
        with git._pulls_idle() as idle:
            assert idle is False
    with store.writing(key) as git, git._pulls_idle() as idle:
        assert idle is True


@postgres
def test_the_sweep_skips_a_repository_another_holder_writes(tmp_path, locks, pg_url):
    store = GitStore(tmp_path / "repos", locks)
    key = "ab12cd"
    store.init(key).close()
    stale = store.path_for(key) / "refs" / "heads" / "main.lock"
    stale.write_bytes(b"")
    with holder_process(pg_url, key) as proc:  # a commit in progress on another node
        assert store.sweep_locks() == (0, 1)
        assert stale.exists()
        release(proc)
    assert free_within(locks, key, 10) is not None
    assert store.sweep_locks() == (1, 1)
    assert not stale.exists()


@postgres
def test_the_registry_takes_advisory_locks_on_postgresql(tmp_path, pg_url):
    reg = Registry(RegistrySettings.for_data_dir(tmp_path, pg_url))
    try:
        assert isinstance(reg.locks, PgLocks)
        assert reg.git.locks is reg.locks and reg.repos.locks is reg.locks
    finally:
        reg.close()


def test_the_registry_takes_flock_on_sqlite(tmp_path):
    reg = Registry(RegistrySettings.for_data_dir(tmp_path))
    try:
        assert isinstance(reg.locks, LockDir) and reg.locks.root == tmp_path.resolve() / "locks"
        assert reg.git.locks is reg.locks and reg.repos.locks is reg.locks
    finally:
        reg.close()


def test_open_locks_chooses_by_the_database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert isinstance(open_locks(db, tmp_path / "locks"), LockDir)
    finally:
        db.dispose()
