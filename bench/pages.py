#!/usr/bin/env python
"""Page benchmark: the model page, the files page, the model list and home at 100k repositories,
under gunicorn.

    python bench/pages.py [--repos 100000] [--requests 500] [--workers 4] [--clients 4]
                          [--history 20] [--data-dir DIR] [--keep] [--profile DIR]

Not part of the test suite. Target (from the issue): pages answer fast at 100k repositories, the
model page and the list under 50 ms of server time at p95, measured with several gunicorn workers.

  * seeding: `modelhub db upgrade` creates the schema; the synthetic repositories of
    bench/search.py (names, tags, licenses, tasks, languages, regions, industries, downloads,
    likes, dates; 3% private) become card metadata (`card_data`), from which the tags, task and
    library are derived exactly as a commit derives them (models_registry.cards.derive_tags).
    Namespaces become users and organizations. Everything is bulk-inserted with SQLAlchemy core
    (users, organizations, memberships, repositories, repo_tags): these rows have no git storage
    (head_sha NULL) and their pages are never requested. `--real` (default 50) public repositories
    are created the normal way instead (Repos.create + Commits.commit of a README.md whose front
    matter is the same metadata and whose body is the generated card): only their model pages are
    requested. Each of them then gets the files of a model in `--history` more commits touching
    different files (config.json, an LFS model.safetensors, tokenizer/ files, notes/ files), so
    the files page's last commit per entry walks a real history and the sidebar's total size
    sums LFS sizes. Then `modelhub index rebuild` (the list and home read the search index).
  * server: `modelhub serve --workers N` (tests.support.live.start_hub) on that data folder,
    warmed up through fresh connections so that every worker has served every page kind.
  * latency, client side, over keep-alive connections (httpx2.Client): a shuffled schedule of
    --requests requests per page kind (the kinds interleaved, so that a load spike hits them all),
    first from one client thread, then from --clients threads (each with its own client). The
    baseline, in the same schedule, is /api/health (one `SELECT 1`: the floor of gunicorn +
    Flask + client + loopback); "p95 - health p95" is the estimate of the page's own server time.
  * server CPU per request (load-independent, information): per page kind, --cpu-requests
    sequential requests, the CPU time (utime+stime from /proc) of the gunicorn master and workers
    divided by the count, the idle rate (heartbeats, search-writer polling) subtracted.
  * last commit per entry, in-process after the server stopped: for every real repository, the
    files page's `Repos.last_changes` over its root entries on a fresh registry (the history walk)
    and again (remembered per commit: file_facts.py), and `Repos.total_size` likewise.
  * --profile DIR (diagnosis, after the server is stopped): the same page kinds in-process through
    hub.create_app(...).test_client() on the same data folder: wall and thread-CPU p50/p95 of
    --profile-requests requests, then as many again under cProfile, into DIR/<kind>.prof and
    DIR/<kind>.txt (top functions).

The search index only knows the card text of the --real repositories (the others have no README
to read), so `/models?search=` uses words found in names and tags (qwen, llama, gguf ...), and
card-text matching and highlighting are lighter than on a real hub: bench/search.py measures
full-card search at 100k in-process.

--data-dir DIR seeds into DIR (or, if DIR already holds a seeded hub of the same --repos/--seed,
reuses it); without it a temp dir is used and deleted unless --keep. Exit status 0 unless
something failed; missed targets are printed as MISSED.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import platform
import pstats
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from benchkit import cpu_of, pct, table, tree_pids  # noqa: E402

import httpx2  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from models_registry import cards, licenses  # noqa: E402
from models_registry.commits import AddFile  # noqa: E402
from models_registry.tables import Membership, Organization, Repository, RepoTag, User  # noqa: E402
from models_registry.permissions import Principal  # noqa: E402
from tests.support.live import LiveHub, start_hub  # noqa: E402

TARGET_MS = 50.0
MANIFEST = "bench-pages.json"
LAYOUT = 2  # seeded hubs of another layout (before: README only) are not reused
ADMIN = "bench-admin"
# Words people type to find a model by name; all occur in the generated names or tags.
SEARCH_WORDS = ["qwen", "llama", "chatglm", "baichuan", "deepseek", "mistral", "bert", "whisper", "resnet50",
                "yolov8", "stable", "clip", "instruct", "chat", "gguf", "medical", "finance", "lora", "base",
                "large", "internlm", "bge", "sdxl", "segformer"]
# Generated industries that are not in the card vocabulary (models_registry.cards.INDUSTRIES).
INDUSTRY_MAP = {"technology": "general", "geospatial": "environment"}


def _load_corpus():
    """bench/search.py, for its synthetic repositories (loaded under its own name: no `search` clash)."""
    spec = importlib.util.spec_from_file_location("bench_search_corpus", REPO_ROOT / "bench" / "search.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Seeding

def card_meta(d) -> dict:
    """The model-card front matter that derives back to this document's tags."""
    datasets = [t[len("dataset:"):] for t in d.tags if t.startswith("dataset:")]
    bases = [t[len("base_model:"):] for t in d.tags if t.startswith("base_model:")]
    derived = {d.library, d.task, *d.languages}
    free = [t for t in d.tags if ":" not in t and t not in derived]
    lics = [lic if licenses.is_known(lic) else "other" for lic in d.licenses]  # the card validator's rule
    lics = list(dict.fromkeys(lics))
    meta: dict = {"license": lics[0] if len(lics) == 1 else lics}
    if "other" in lics:
        meta["license_name"] = "bench-license"
        meta["license_link"] = "LICENSE"
    meta.update({"language": list(d.languages), "pipeline_tag": d.task, "library_name": d.library})
    if free:
        meta["tags"] = free
    if datasets:
        meta["datasets"] = datasets
    if bases:
        meta["base_model"] = bases[0]
    if d.regions:
        meta["region"] = list(d.regions)
    if d.industries:
        meta["industry"] = list(dict.fromkeys(INDUSTRY_MAP.get(i, i) for i in d.industries))
    return meta


def readme(d, meta: dict) -> bytes:
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{d.card_text}".encode()


def hub_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MODELHUB_DATA_DIR"] = str(data_dir)
    return env


def modelhub(data_dir: Path, *args: str, timeout: float = 7200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=hub_env(data_dir), capture_output=True,
                          text=True, check=True, timeout=timeout, cwd=REPO_ROOT)


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def model_files(reg, principal, repo, history: int, rng: random.Random) -> None:
    """A model's files in 1 + `history` commits touching different files: weights, config and
    tokenizer first, then notes (a folder) and the config now and then."""
    import numpy as np
    from safetensors.numpy import save

    weights = save({f"layers.{i}.weight": np.zeros((32, 32), np.float16) for i in range(8)})

    def commit(files: dict[str, bytes], message: str) -> None:
        reg.commits.commit(principal, repo, "main", [AddFile(p, reg.stager.from_bytes(d)) for p, d in files.items()],
                           message)

    commit({"config.json": b'{"model_type": "bench"}\n', "model.safetensors": weights,
            "tokenizer/tokenizer.json": b'{"version": "1.0"}\n', "tokenizer/special_tokens_map.json": b"{}\n"},
           "Add weights, config and tokenizer")
    for i in range(history):
        if i % 7 == 3:
            commit({"config.json": f'{{"model_type": "bench", "rev": {i}}}\n'.encode()}, f"Config revision {i}")
        else:
            commit({f"notes/note-{i % 4}.md": f"note {i} {rng.random()}\n".encode()}, f"Notes {i}")


def seed(data_dir: Path, n: int, seed_value: int, real_n: int, index: bool = True,
         history: int | None = None) -> dict:
    """Fill data_dir with n repositories (real_n of them with git storage) and, with `index`, index them
    (bench/scale.py times the rebuild itself). With `history`, the real repositories also get a
    model's files in 1 + `history` commits (model_files); without, a README only (scale.py)."""
    corpus = _load_corpus()
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    modelhub(data_dir, "db", "upgrade")
    timings["schema (modelhub db upgrade)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    docs = corpus.make_docs(n, seed_value)
    timings["generate documents"] = time.perf_counter() - t0
    log(f"generated {n} documents in {timings['generate documents']:.1f} s")

    from hub import create_app  # after the schema exists (and with MODELHUB_* as the server sees them)
    from hub.wiring import services_of

    os.environ["MODELHUB_DATA_DIR"] = str(data_dir)
    app = create_app({"DATA_DIR": str(data_dir), "SEARCH_WORKER": False, "AUTO_MIGRATE": False})
    reg = services_of(app).registry
    rng = random.Random(seed_value + 7)
    try:
        # -- accounts -----------------------------------------------------------------------
        t0 = time.perf_counter()
        reg.accounts.create_user(ADMIN, "bench-admin-password", is_admin=True)
        with reg.db.session() as s:
            admin_id = s.scalar(select(User.id).where(User.name == ADMIN))
        principal = Principal(user_id=admin_id, name=ADMIN, is_admin=True)
        namespaces = sorted({d.namespace for d in docs})
        well_known = set(corpus.WELL_KNOWN_ORGS)
        orgs = [ns for ns in namespaces if ns in well_known or rng.random() < 0.4]
        org_set = set(orgs)
        users = [ns for ns in namespaces if ns not in org_set]
        # Every organization needs an admin: people who own nothing yet.
        owners = [f"member{i:05d}" for i in range(max(1, len(orgs) // 3))]
        now = corpus.dt.datetime(2025, 6, 1)
        with reg.db.engine.begin() as conn:
            conn.execute(insert(User.__table__), [
                {"name": u, "fullname": u, "email": None, "password_hash": "!bench", "is_admin": False,
                 "is_moderator": False, "created_at": now - corpus.dt.timedelta(days=rng.uniform(0, 1500))}
                for u in users + owners])
            conn.execute(insert(Organization.__table__), [
                {"name": o, "fullname": o, "created_at": now - corpus.dt.timedelta(days=rng.uniform(0, 1500))}
                for o in orgs])
            uid = dict(conn.execute(select(User.name, User.id)).all())
            oid = dict(conn.execute(select(Organization.name, Organization.id)).all())
            conn.execute(insert(Membership.__table__), [
                {"org_id": oid[o], "user_id": uid[rng.choice(owners)], "role": "admin"} for o in orgs])
        timings["accounts (core insert)"] = time.perf_counter() - t0

        # -- repositories -------------------------------------------------------------------
        public = [i for i, d in enumerate(docs) if not d.private]
        real_idx = set(rng.sample(public, min(real_n, len(public))))
        t0 = time.perf_counter()
        repo_rows, tag_rows = [], []
        for i, d in enumerate(docs):
            if i in real_idx:
                continue
            meta = card_meta(d)
            tags, task, library = cards.derive_tags(meta)
            repo_rows.append({
                "id": d.pk, "repo_type": "model", "namespace": d.namespace, "name": d.name,
                "storage_key": uuid.UUID(int=rng.getrandbits(128)).hex, "private": d.private,
                "gated": rng.choice(["auto", "manual"]) if rng.random() < 0.03 else None, "disabled": False,
                "default_branch": "main", "head_sha": None, "created_at": d.created_at,
                "last_modified": d.last_modified, "downloads": d.downloads,
                "downloads_all_time": d.downloads * rng.randint(1, 30), "likes": d.likes, "card_data": meta,
                "tags": tags, "pipeline_tag": task, "library_name": library, "card_warnings": None,
                "safetensors": None, "parameter_count": None, "trending_score": d.trending,
            })
            tag_rows += [{"repo_id": d.pk, "tag": t[:255]} for t in dict.fromkeys(tags)]
        with reg.db.engine.begin() as conn:
            for k in range(0, len(repo_rows), 5000):
                conn.execute(insert(Repository.__table__), repo_rows[k:k + 5000])
            for k in range(0, len(tag_rows), 20000):
                conn.execute(insert(RepoTag.__table__), tag_rows[k:k + 20000])
        timings[f"{len(repo_rows)} repositories + {len(tag_rows)} repo_tags (core insert)"] = \
            time.perf_counter() - t0
        log(f"inserted {len(repo_rows)} repositories and {len(tag_rows)} tag rows in "
            f"{time.perf_counter() - t0:.1f} s")

        # -- the repositories whose pages are requested: real git storage, a README card ----
        t0 = time.perf_counter()
        real: list[str] = []
        card_bytes: list[int] = []
        for i in sorted(real_idx):
            d = docs[i]
            meta = card_meta(d)
            data = readme(d, meta)
            repo = reg.repos.create(principal, "model", d.namespace, d.name)
            reg.commits.commit(principal, repo, "main", [AddFile("README.md", reg.stager.from_bytes(data))],
                               "Add model card")
            if history is not None:
                model_files(reg, principal, repo, history, rng)
            with reg.db.engine.begin() as conn:  # popularity and dates as generated
                conn.execute(update(Repository.__table__).where(Repository.id == repo.id).values(
                    downloads=d.downloads, downloads_all_time=d.downloads * 10, likes=d.likes,
                    trending_score=d.trending, created_at=d.created_at, last_modified=d.last_modified,
                    gated="auto" if rng.random() < 0.1 else None))
            real.append(repo.repo_id)
            card_bytes.append(len(data))
        files_note = f", {1 + history} commits of files" if history is not None else ""
        timings[f"{len(real)} real repositories (create, README{files_note})"] = time.perf_counter() - t0
        log(f"created {len(real)} git-backed repositories in {time.perf_counter() - t0:.1f} s")
    finally:
        reg.close()

    # -- the search index -------------------------------------------------------------------
    if index:
        t0 = time.perf_counter()
        out = modelhub(data_dir, "index", "rebuild")
        timings["modelhub index rebuild"] = time.perf_counter() - t0
        log(f"index rebuilt in {timings['modelhub index rebuild']:.1f} s: {out.stderr.strip().splitlines()[-1]}")
    timings["seeding total"] = time.perf_counter() - t_all

    manifest = {
        "repos": n, "seed": seed_value, "layout": LAYOUT if history is not None else 1, "history": history,
        "real": real, "card_bytes": card_bytes, "timings": timings,
        "users": len(users) + len(owners) + 1, "orgs": len(orgs),
        "db_bytes": sum(p.stat().st_size for p in data_dir.glob("modelhub.db*")),
        "index_bytes": dir_size(data_dir / "search") if (data_dir / "search").exists() else 0,
    }
    (data_dir / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


# ---------------------------------------------------------------------------------------------
# Requests

KINDS = ["health", "model page", "files page", "/models", "/models?search=", "/models?license&task", "/models?p=3", "home /"]


class Paths:
    def __init__(self, rng: random.Random, real: list[str]) -> None:
        self.rng = rng
        self.real = list(real)
        self._cycle: list[str] = []

    def next_model(self) -> str:
        if not self._cycle:  # every real repository once per round, in a random order
            self._cycle = list(self.real)
            self.rng.shuffle(self._cycle)
        return "/" + self._cycle.pop()

    def path(self, kind: str) -> str:
        if kind == "health":
            return "/api/health"
        if kind == "model page":
            return self.next_model()
        if kind == "files page":  # the last commit of each entry, total size, download buttons
            return self.next_model() + "/tree/main"
        if kind == "/models":
            return "/models"
        if kind == "/models?search=":
            return "/models?search=" + self.rng.choice(SEARCH_WORDS)
        if kind == "/models?license&task":
            return "/models?license=mit&task=text-generation"
        if kind == "/models?p=3":
            return "/models?p=3"
        if kind == "home /":
            return "/"
        raise ValueError(kind)


def schedule(rng: random.Random, real: list[str], per_kind: int) -> list[tuple[str, str]]:
    paths = Paths(rng, real)
    out = [(k, paths.path(k)) for k in KINDS for _ in range(per_kind)]
    rng.shuffle(out)
    return out


class Results:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: dict[str, int] = {k: 0 for k in KINDS}
        self.first_error: str | None = None
        self.lock = threading.Lock()
        self.wall = 0.0

    def add(self, kind: str, ms: float, status: int, path: str) -> None:
        with self.lock:
            if status == 200:
                self.ms[kind].append(ms)
            else:
                self.errors[kind] += 1
                self.first_error = self.first_error or f"{path}: HTTP {status}"


def _one(session: httpx2.Client, url: str, kind: str, path: str, res: Results) -> None:
    t0 = time.perf_counter()
    try:
        r = session.get(url + path, timeout=60)
        _ = r.content
        status = r.status_code
    except httpx2.HTTPError as e:
        status = -1
        res.first_error = res.first_error or f"{path}: {e!r}"
    res.add(kind, (time.perf_counter() - t0) * 1000, status, path)


def run_sequential(url: str, sched: list[tuple[str, str]]) -> Results:
    res = Results()
    t0 = time.perf_counter()
    with httpx2.Client(follow_redirects=True) as s:
        for kind, path in sched:
            _one(s, url, kind, path, res)
    res.wall = time.perf_counter() - t0
    return res


def run_concurrent(url: str, sched: list[tuple[str, str]], clients: int) -> Results:
    res = Results()
    todo: queue.Queue = queue.Queue()
    for item in sched:
        todo.put(item)

    def client() -> None:
        with httpx2.Client(follow_redirects=True) as s:
            while True:
                try:
                    kind, path = todo.get_nowait()
                except queue.Empty:
                    return
                _one(s, url, kind, path, res)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res.wall = time.perf_counter() - t0
    return res


def warm_up(url: str, real: list[str], workers: int, rng: random.Random) -> None:
    """Every kind through fresh connections from several threads: each worker's first requests
    (imports, templates, searcher, jieba) stay out of the timings."""
    paths = Paths(rng, real)
    items = [paths.path(k) for k in KINDS for _ in range(6 * workers)] + ["/" + r for r in real]
    # Each files page a few times per worker: what file_facts remembers is per process, and the
    # timed passes measure pages seen before (the first walk of each is timed in-process below).
    items += [f"/{r}/tree/main" for r in real for _ in range(2 * workers)]
    rng.shuffle(items)
    todo: queue.Queue = queue.Queue()
    for p in items:
        todo.put(p)
    bad: list[str] = []

    def client() -> None:
        while True:
            try:
                p = todo.get_nowait()
            except queue.Empty:
                return
            r = httpx2.get(url + p, follow_redirects=True, timeout=120, headers={"Connection": "close"})
            if r.status_code != 200:
                bad.append(f"{p}: HTTP {r.status_code}")

    threads = [threading.Thread(target=client) for _ in range(2 * workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if bad:
        raise RuntimeError(f"warm-up requests failed: {bad[:5]}")
    # The pages are what they should be.
    page = httpx2.get(url + "/" + real[0], follow_redirects=True, timeout=60).text
    assert real[0].split("/")[1] in page, "model page without the repository's name"
    listing = httpx2.get(url + "/models", follow_redirects=True, timeout=60).text
    assert "model-list" in listing, "/models without a model list"
    assert "data-total-size" in page, "model page without the total size"
    files = httpx2.get(url + f"/{real[0]}/tree/main", follow_redirects=True, timeout=60).text
    assert files.count('class="last-change"><a href=') >= 5 and 'class="download"' in files, \
        "files page without the last commit per entry or download buttons"


# ---------------------------------------------------------------------------------------------
# Server CPU


def cpu_pass(hub: LiveHub, real: list[str], per_kind: int, rng: random.Random) -> tuple[dict[str, float], float]:
    """Server CPU ms per request of each kind (idle rate subtracted), and the idle rate (CPU s/s)."""
    pids = tree_pids(hub.proc.pid)
    c0, t0 = cpu_of(pids), time.perf_counter()
    time.sleep(3.0)
    idle = (cpu_of(pids) - c0) / (time.perf_counter() - t0)
    paths = Paths(rng, real)
    out = {}
    with httpx2.Client(follow_redirects=True) as s:
        for kind in KINDS:
            items = [paths.path(kind) for _ in range(per_kind)]
            c0, t0 = cpu_of(pids), time.perf_counter()
            for p in items:
                s.get(hub.url + p, timeout=60).content
            el = time.perf_counter() - t0
            out[kind] = max(0.0, (cpu_of(pids) - c0 - idle * el)) / per_kind * 1000
    return out, idle


# ---------------------------------------------------------------------------------------------
# In-process diagnosis

def profile_in_process(data_dir: Path, real: list[str], per_kind: int, out_dir: Path, rng: random.Random
                       ) -> dict[str, tuple[list[float], list[float]]]:
    from hub import create_app
    from hub.wiring import services_of
    from search_index.analysis import warm_up as jieba_warm_up

    out_dir.mkdir(parents=True, exist_ok=True)
    app = create_app({"DATA_DIR": str(data_dir), "SEARCH_WORKER": False, "AUTO_MIGRATE": False})
    logging_quiet()
    jieba_warm_up()
    client = app.test_client()
    paths = Paths(rng, real)
    timings: dict[str, tuple[list[float], list[float]]] = {}
    for kind in KINDS:
        for _ in range(5):
            client.get(paths.path(kind)).close()
        ms, cpu = [], []
        for _ in range(per_kind):
            p = paths.path(kind)
            c0, t0 = time.thread_time(), time.perf_counter()
            r = client.get(p)
            _ = r.data
            t1, c1 = time.perf_counter(), time.thread_time()
            assert r.status_code == 200, (p, r.status_code)
            ms.append((t1 - t0) * 1000)
            cpu.append((c1 - c0) * 1000)
        timings[kind] = (ms, cpu)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(per_kind):
            client.get(paths.path(kind)).close()
        prof.disable()
        slug = "".join(c if c.isalnum() else "_" for c in kind).strip("_") or "home"
        prof.dump_stats(str(out_dir / f"{slug}.prof"))
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf)
        st.sort_stats("cumulative").print_stats(40)
        st.sort_stats("tottime").print_stats(25)
        (out_dir / f"{slug}.txt").write_text(buf.getvalue())
    services_of(app).registry.close()
    return timings


def last_commit_walks(data_dir: Path, real: list[str]) -> dict[str, list[float]]:
    """ms per real repository: the files page's last commit per root entry and the total size,
    first on a fresh registry (history walk, tree walk), then again (remembered per commit)."""
    from hub import create_app
    from hub.wiring import services_of

    app = create_app({"DATA_DIR": str(data_dir), "SEARCH_WORKER": False, "AUTO_MIGRATE": False})
    reg = services_of(app).registry
    out: dict[str, list[float]] = {k: [] for k in ("last commit, first view", "last commit, seen before",
                                                   "total size, first view", "total size, seen before")}
    try:
        for rid in real:
            repo = reg.repos.get("model", rid, None)
            head = reg.repos.resolve_revision(repo, "main")
            paths = [e.path for e in reg.repos.tree(repo, head, "", recursive=False)]
            for label in ("first view", "seen before"):
                t0 = time.perf_counter()
                found = reg.repos.last_changes(repo, head, paths)
                out[f"last commit, {label}"].append((time.perf_counter() - t0) * 1000)
                assert len(found) == len(paths), (rid, paths, list(found))
                t0 = time.perf_counter()
                reg.repos.total_size(repo, head)
                out[f"total size, {label}"].append((time.perf_counter() - t0) * 1000)
    finally:
        reg.close()
    return out


def logging_quiet() -> None:
    import logging

    logging.getLogger().setLevel(logging.WARNING)


# ---------------------------------------------------------------------------------------------
# Report

def latency_table(res: Results, cpu: dict[str, float] | None = None) -> str:
    h95 = pct(res.ms["health"], 95)
    rows = [["page", "p50", "p95", "p99", "p95 - health p95", f"target ({TARGET_MS:.0f} ms)", "n", "errors",
             "server CPU/req"]]
    for kind in KINDS:
        xs = res.ms[kind]
        p95 = pct(xs, 95)
        if kind == "health":
            est, verdict = "-", "(baseline)"
        else:
            est = f"{p95 - h95:.1f} ms"
            verdict = "ok" if p95 - h95 < TARGET_MS else "MISSED"
        rows.append([kind, f"{pct(xs, 50):.1f} ms", f"{p95:.1f} ms", f"{pct(xs, 99):.1f} ms", est, verdict,
                     str(len(xs)), str(res.errors[kind]), f"{cpu[kind]:.1f} ms" if cpu else "-"])
    return table(rows)


def _terminated(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=int, default=100_000, help="repositories to seed (default 100000)")
    ap.add_argument("--requests", type=int, default=500,
                    help="requests per page kind, in each of the two passes (default 500)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    ap.add_argument("--clients", type=int, default=4, help="client threads of the concurrent pass (default 4)")
    ap.add_argument("--real", type=int, default=50, help="git-backed repositories whose pages are requested")
    ap.add_argument("--history", type=int, default=20,
                    help="commits of files after the README in each real repository (default 20)")
    ap.add_argument("--cpu-requests", type=int, default=100, help="requests per kind of the CPU pass (0: skip)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", default=None, help="seed into (or reuse a seeded hub in) this folder")
    ap.add_argument("--tmpdir", default=None, help="where to create the temp data folder")
    ap.add_argument("--keep", action="store_true", help="keep the temp data folder")
    ap.add_argument("--profile", metavar="DIR", default=None,
                    help="after the server runs, time and cProfile each page kind in-process into DIR")
    ap.add_argument("--profile-requests", type=int, default=50,
                    help="requests per kind of the in-process timing, and again of the profile (default 50)")
    args = ap.parse_args()

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), repos {args.repos}, "
          f"requests {args.requests}/kind, workers {args.workers}, clients {args.clients}, seed {args.seed}",
          flush=True)
    # SIGTERM (a killed run) still stops the server and removes the temp folder.
    signal.signal(signal.SIGTERM, _terminated)
    # A fresh PostgreSQL database per start_hub() would leave the seeded one behind.
    os.environ.pop("MODELHUB_TEST_DATABASE_URL", None)
    if args.data_dir:
        data_dir, temp = Path(args.data_dir).resolve(), False
        data_dir.mkdir(parents=True, exist_ok=True)
    else:
        data_dir, temp = Path(tempfile.mkdtemp(prefix="modelhub-pages-bench-", dir=args.tmpdir)), True
    hub = None
    rng = random.Random(args.seed + 1)
    try:
        mpath = data_dir / MANIFEST
        manifest = json.loads(mpath.read_text()) if mpath.exists() else None
        if (manifest and manifest["repos"] == args.repos and manifest["seed"] == args.seed
                and manifest.get("layout") == LAYOUT and manifest.get("history") == args.history):
            log(f"reusing the hub seeded in {data_dir}")
        elif any(data_dir.iterdir()):
            raise SystemExit(f"{data_dir} is not empty and holds no hub seeded with --repos {args.repos} "
                             f"--seed {args.seed} --history {args.history} (layout {LAYOUT})")
        else:
            log(f"seeding {args.repos} repositories into {data_dir} ...")
            manifest = seed(data_dir, args.repos, args.seed, args.real, history=args.history)
        real = manifest["real"]

        load_before = os.getloadavg()
        t0 = time.perf_counter()
        hub = start_hub(data_dir, workers=args.workers)
        log(f"server up in {time.perf_counter() - t0:.1f} s ({hub.url}); warming up ...")
        time.sleep(2.0)  # the workers' search threads load jieba and check the index
        warm_up(hub.url, real, args.workers, rng)

        log(f"single client: {args.requests} requests x {len(KINDS)} kinds ...")
        single = run_sequential(hub.url, schedule(rng, real, args.requests))
        log(f"  {single.wall:.1f} s\n{latency_table(single)}")  # now too: a long run may be cut short
        log(f"{args.clients} clients: {args.requests} requests x {len(KINDS)} kinds ...")
        conc = run_concurrent(hub.url, schedule(rng, real, args.requests), args.clients)
        log(f"  {conc.wall:.1f} s\n{latency_table(conc)}")
        cpu, idle = ({}, 0.0)
        if args.cpu_requests > 0:
            log(f"server CPU pass: {args.cpu_requests} requests per kind ...")
            cpu, idle = cpu_pass(hub, real, args.cpu_requests, rng)
            log("  " + ", ".join(f"{k} {v:.1f} ms" for k, v in cpu.items()))
        load_after = os.getloadavg()
        hub.stop()
        hub = None

        log("last commit per entry and total size, in-process ...")
        walks = last_commit_walks(data_dir, real)
        inproc = None
        if args.profile:
            log(f"in-process timings and profiles into {args.profile} ...")
            inproc = profile_in_process(data_dir, real, args.profile_requests, Path(args.profile), rng)
    finally:
        if hub is not None:
            hub.stop()
        if temp and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temp:
            log(f"kept {data_dir}")

    # -- report --------------------------------------------------------------------------------
    print()
    print(f"seeded hub: {manifest['repos']} repositories ({len(real)} with git storage; README cards of "
          f"{min(manifest['card_bytes'])}-{max(manifest['card_bytes'])} bytes), {manifest['users']} users, "
          f"{manifest['orgs']} organizations; database {manifest['db_bytes'] / 2**20:.0f} MiB, "
          f"search index {manifest['index_bytes'] / 2**20:.0f} MiB")
    rows = [["seeding step", "seconds"]]
    rows += [[k, f"{v:.1f}"] for k, v in manifest["timings"].items()]
    print(table(rows))
    print()
    print(f"single client, keep-alive, {args.workers} gunicorn workers ({single.wall:.0f} s, "
          f"{sum(len(v) for v in single.ms.values()) / single.wall:.0f} req/s):")
    print(latency_table(single, cpu or None))
    print()
    print(f"{args.clients} concurrent clients, keep-alive, {args.workers} gunicorn workers ({conc.wall:.0f} s, "
          f"{sum(len(v) for v in conc.ms.values()) / conc.wall:.0f} req/s):")
    print(latency_table(conc, cpu or None))
    if cpu:
        print(f"\nserver CPU/req: CPU time of the gunicorn master and workers over {args.cpu_requests} sequential "
              f"requests per kind, idle rate ({idle * 1000:.0f} ms/s) subtracted")
    print(f"\nfiles page data per real repository, in-process ({len(real)} repositories, {manifest['history'] + 3} "
          "commits each; root entries):")
    rows = [["step", "p50", "p95", "max", "n"]]
    for k, xs in walks.items():
        rows.append([k, f"{pct(xs, 50):.2f} ms", f"{pct(xs, 95):.2f} ms", f"{max(xs):.2f} ms", str(len(xs))])
    print(table(rows))
    if inproc:
        print("\nin-process (hub.create_app().test_client(), no gunicorn, no network), information:")
        rows = [["page", "wall p50", "wall p95", "CPU p50", "CPU p95", "n"]]
        for kind in KINDS:
            ms, c = inproc[kind]
            rows.append([kind, f"{pct(ms, 50):.1f} ms", f"{pct(ms, 95):.1f} ms", f"{pct(c, 50):.1f} ms",
                         f"{pct(c, 95):.1f} ms", str(len(ms))])
        print(table(rows))
        print(f"profiles: {args.profile}/<kind>.prof and .txt")
    for res, label in ((single, "single"), (conc, "concurrent")):
        if res.first_error:
            print(f"{label}: first error: {res.first_error}")
    print(f"\nload average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs "
          f"(client and server share them)")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("warning: other processes were using the CPUs; wall-clock latencies are inflated, "
              "the server CPU/req column much less so")
    failed = sum(single.errors.values()) + sum(conc.errors.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
