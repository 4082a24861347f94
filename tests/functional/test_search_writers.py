"""The index under load, on a server of its own with 4 workers (the default page size of 100):
concurrent writers, a rebuild under queries, a worker killed mid-flight, a restart."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tests.support.live import LiveHub, start_hub
from tests.support.waiting import poll

THREADS, PER_THREAD = 8, 5
WRITERS = [f"writer{i}" for i in range(THREADS)]
BAD_LOG_LINES = ("Traceback", "search index update failed", "LockError", "database is locked")


def server_errors(hub: LiveHub) -> str:
    """The server log's last traceback, if any (for the failure message of a 500)."""
    log = hub.log()
    at = log.rfind("Traceback")
    return log[max(0, at - 300):at + 4000] if at >= 0 else "(no traceback in the server log)"


def search(hub: LiveHub, q: str, **params) -> dict:
    r = hub.get("/api/search", params={"q": q, "limit": 100, **params})
    assert r.status_code == 200, (r.text, server_errors(hub))
    return r.json()


def ids(body: dict) -> list[str]:
    return [h["id"] for h in body["hits"]]


def backlog(hub: LiveHub) -> int:
    """Rows left in the search queue, read from the database the way the server reads it."""
    script = ("from hub import create_app\n"
              "from hub.wiring import services_of\n"
              "app = create_app({'SEARCH_WORKER': False})\n"
              "print(services_of(app).search.feed.backlog())\n")
    done = subprocess.run([sys.executable, "-c", script], env=hub.env, capture_output=True, text=True,
                          check=True, timeout=120)
    return int(done.stdout.strip().splitlines()[-1])


def workers_of(hub: LiveHub) -> set[int]:
    """gunicorn's worker processes: the children of the `modelhub serve` process."""
    out = set()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == hub.proc.pid:
            out.add(int(p.name))
    return out


def lock_holder(hub: LiveHub) -> int | None:
    """The pid holding the index's writer flock right now, from /proc/locks."""
    st = os.stat(hub.data_dir / "search" / "writer.lock")
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "FLOCK" in parts and "->" not in parts:
            i = parts.index("FLOCK")
            pid, dev_inode = int(parts[i + 3]), parts[i + 4]
            if int(dev_inode.rsplit(":", 1)[1]) == st.st_ino:
                return pid
    return None


def new_log(hub: LiveHub, start: int) -> str:
    return hub.log()[start:]


@pytest.fixture(scope="module")
def whub(tmp_path_factory) -> LiveHub:
    h = start_hub(tmp_path_factory.mktemp("search-hub"), workers=4)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def tokens(whub) -> dict[str, str]:
    return dict(zip(WRITERS, whub.users(*WRITERS)))


@pytest.fixture(scope="module")
def batch(whub, tokens):
    """8 threads, each creating 5 repositories and committing a card with a unique word to each."""
    log_start = len(whub.log())
    barrier = threading.Barrier(THREADS)

    def work(i: int) -> dict[str, str]:
        api = whub.api(tokens[WRITERS[i]])
        barrier.wait(timeout=60)
        out = {}
        for j in range(PER_THREAD):
            rid, word = f"{WRITERS[i]}/conc-{j}", f"concword{i}x{j}"
            api.create_repo(rid)
            api.upload_file(path_or_fileobj=f"# conc {j}\n\nconcshared {word}\n".encode(), path_in_repo="README.md",
                            repo_id=rid, commit_message=f"card {word}")
            out[word] = rid
        return out

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        words = {w: r for part in pool.map(work, range(THREADS)) for w, r in part.items()}
    assert len(words) == THREADS * PER_THREAD
    return words, log_start


def test_concurrent_writers_lose_no_document(whub, batch):
    words, log_start = batch
    body = poll(lambda: search(whub, "concshared"), lambda b: b["total"] == len(words))
    assert sorted(ids(body)) == sorted(words.values())
    for word, rid in words.items():
        assert ids(search(whub, word)) == [rid], word
    assert poll(lambda: backlog(whub), lambda n: n == 0) == 0  # the queue drained
    log = new_log(whub, log_start)
    for bad in BAD_LOG_LINES:
        assert bad not in log, log[max(0, log.find(bad) - 2000):log.find(bad) + 2000]


def create_repos(hub: LiveHub, token: str, names: list[str]) -> None:
    """Many repositories at once, in one subprocess through the registry (as `hub.users` makes users);
    the search feed queues them in the same transactions, and the server indexes them."""
    script = (
        "import json, sys\n"
        "from hub import create_app\n"
        "from hub.wiring import services_of\n"
        "app = create_app({'SEARCH_WORKER': False})\n"
        "reg = services_of(app).registry\n"
        "token, names = json.loads(sys.argv[1])\n"
        "p = reg.accounts.authenticate_token(token)\n"
        "for name in names:\n"
        "    reg.repos.create(p, 'model', p.name, name)\n"
        "reg.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps([token, names])], env=hub.env, capture_output=True,
                   text=True, check=True, timeout=120)


def test_search_listing_pages_past_the_default_page_size(whub, tokens):
    n = 105
    create_repos(whub, tokens[WRITERS[1]], [f"pagefill-{k:03d}" for k in range(n)])
    assert poll(lambda: search(whub, "pagefill")["total"], lambda t: t == n) == n
    got = [m.id for m in whub.api(None).list_models(search="pagefill")]
    assert len(got) == len(set(got)) == n  # the page size is 100: a second page must follow


def test_rebuild_while_searching_and_writing(whub, batch, tokens):
    words, _ = batch
    queries = ["concshared", "concword0x0", "concword7x4", "conc"]  # each at most one page of hits
    poll(lambda: search(whub, "concshared")["total"], lambda t: t == len(words))
    before = {q: search(whub, q) for q in queries}
    assert before["concshared"]["total"] == len(words)
    assert all(0 < b["total"] <= 100 for b in before.values()), {q: b["total"] for q, b in before.items()}
    expected = sorted(ids(before["concshared"]))
    gen_before = os.readlink(whub.data_dir / "search" / "current")
    repos_before = len(list(whub.api(None).list_models()))  # all public here: the database's count

    stop = threading.Event()
    seen: list[tuple[int, int, list[str]]] = []
    errors: list[BaseException] = []
    written: dict[str, str] = {}

    def query_loop():
        with httpx2.Client(follow_redirects=True) as session:
            while not stop.is_set():
                try:
                    r = session.get(f"{whub.url}/api/search", params={"q": "concshared", "limit": 100}, timeout=30)
                    body = r.json() if r.status_code == 200 else {}
                    seen.append((r.status_code, body.get("total", -1), sorted(ids(body)) if body else []))
                except Exception as e:  # reported below
                    errors.append(e)

    def write_loop():  # changes made while the rebuild holds the writer lock wait in the queue
        api = whub.api(tokens[WRITERS[2]])
        k = 0
        while not stop.is_set():
            rid, word = f"{WRITERS[2]}/during-rebuild-{k}", f"duringword{k}"
            try:
                api.create_repo(rid)
                api.upload_file(path_or_fileobj=f"# during\n\n{word}\n".encode(), path_in_repo="README.md",
                                repo_id=rid)
            except Exception as e:  # reported below
                errors.append(e)
                return
            written[word] = rid
            k += 1

    threads = [threading.Thread(target=query_loop) for _ in range(2)] + [threading.Thread(target=write_loop)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        done = whub.cli("index", "rebuild")
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert "indexing repositories" in done.stderr
    # the steps after the documents, which the bar cannot count, are announced
    assert "repos: writing the index" in done.stderr and "repos: decoding posting lists" in done.stderr
    m = re.search(r"indexed (\d+) repositories", done.stderr)
    assert m, done.stderr
    assert repos_before <= int(m.group(1)) <= repos_before + len(written)
    assert os.readlink(whub.data_dir / "search" / "current") != gen_before  # a new generation is live

    assert errors == []
    assert len(seen) >= 5, "the query loop barely ran during the rebuild"
    bad = [(s, t) for s, t, got in seen if s != 200 or t != len(words) or got != expected]
    assert bad == [], (bad[:5], server_errors(whub))
    after = {q: search(whub, q) for q in queries}
    for q in queries:
        assert after[q]["total"] == before[q]["total"], q
        assert sorted(ids(after[q])) == sorted(ids(before[q])), q
        assert after[q]["facets"] == before[q]["facets"], q
    for q in ("concword0x0", "concword7x4"):
        assert ids(after[q]) == ids(before[q])
    # nothing written during the rebuild was lost
    assert written
    for word, rid in written.items():
        assert poll(lambda: ids(search(whub, word)), lambda v: v == [rid]) == [rid], word


def test_a_killed_worker_does_not_stop_indexing(whub, tokens):
    log_start = len(whub.log())
    workers = workers_of(whub)
    assert len(workers) == 4, workers
    api = whub.api(tokens[WRITERS[0]])
    stop = threading.Event()
    committed: dict[str, str] = {}
    failed: list[str] = []

    def commits(t: int):
        k = 0
        while not stop.is_set():
            rid, word = f"{WRITERS[0]}/kill-{t}-{k}", f"killword{t}x{k}"
            try:
                api.create_repo(rid)
                api.upload_file(path_or_fileobj=f"# kill\n\n{word}\n".encode(), path_in_repo="README.md",
                                repo_id=rid)
                committed[word] = rid
            except Exception:  # a request on the killed worker: counted below
                failed.append(word)
            k += 1

    threads = [threading.Thread(target=commits, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    try:
        poll(lambda: len(committed), lambda n: n >= 2)
        # prefer the worker that is writing the index at this moment
        victim = poll(lambda: lock_holder(whub), lambda pid: pid in workers, timeout=3.0)
        if victim not in workers:
            victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        killed_at = len(committed)
        poll(lambda: len(committed), lambda n: n >= killed_at + 4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert len(failed) <= 4, failed  # at most the requests in flight on the killed worker
    # gunicorn replaces the worker
    respawned = poll(lambda: workers_of(whub), lambda w: len(w) == 4 and victim not in w, timeout=30)
    assert len(respawned) == 4 and victim not in respawned
    # everything committed before, during and after the kill is searchable
    for word, rid in list(committed.items()):
        assert poll(lambda: ids(search(whub, word)), lambda v: v == [rid]) == [rid], word
    for k in range(3):
        rid, word = f"{WRITERS[0]}/after-kill-{k}", f"afterkillword{k}"
        api.create_repo(rid)
        api.upload_file(path_or_fileobj=f"# after\n\n{word}\n".encode(), path_in_repo="README.md", repo_id=rid)
        assert poll(lambda: ids(search(whub, word)), lambda v: v == [rid]) == [rid], word
    log = new_log(whub, log_start)
    assert "search index update failed" not in log, log[-5000:]


def test_the_index_survives_a_restart(whub, tokens, batch):
    """Last in this file: it stops the module's server and starts another on the same data."""
    words, _ = batch
    before = poll(lambda: search(whub, "concshared"), lambda b: b["total"] == len(words))
    whub.stop()
    env = {"MODELHUB_DATABASE_URL": whub.env["MODELHUB_DATABASE_URL"]} if "MODELHUB_DATABASE_URL" in whub.env else {}
    again = start_hub(whub.data_dir, workers=2, env=env)
    try:
        first = search(again, "concshared")  # at once: nothing needs re-indexing
        assert first["total"] == len(words)
        assert sorted(ids(first)) == sorted(ids(before))
        assert first["facets"] == before["facets"]
        word, rid = next(iter(words.items()))
        assert ids(search(again, word)) == [rid]
        api = again.api(tokens[WRITERS[1]])
        api.upload_file(path_or_fileobj=b"# restarted\n\nrestartword\n", path_in_repo="README.md",
                        repo_id=f"{WRITERS[1]}/conc-0")
        assert poll(lambda: ids(search(again, "restartword")), lambda v: v == [f"{WRITERS[1]}/conc-0"]) \
            == [f"{WRITERS[1]}/conc-0"]
        assert ids(search(again, "concword1x0")) == []  # that card was replaced
        log = again.log()
        for bad in BAD_LOG_LINES:
            assert bad not in log, log
    finally:
        again.stop()
