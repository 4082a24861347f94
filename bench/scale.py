#!/usr/bin/env python
"""Scale benchmark: listings, search and pages of a hub holding 100,000 and 1,000,000 repositories.

    python bench/scale.py [--repos 100000 1000000] [--requests 200] [--workers 2] [--real 20]
                          [--data-root DIR] [--no-index] [--seed 42]

Not part of the test suite. For each N in --repos:

  * seeding: bench/pages.py's seed() (bench/search.py's synthetic repositories, bulk rows through
    the registry's own tables, tags derived as a commit derives them, downloads and likes
    log-normally spread, authors with thousands of repositories; --real of them with git storage
    and a README card). With --data-root DIR the hub is kept in DIR/n-N and reused by the next run
    (the schema is brought up to date with `modelhub db upgrade`, timed: new indexes at N rows);
  * the search index: `modelhub index rebuild` (its default --procs: the CPUs), timed (docs/s),
    unless the reused hub was already indexed by this code's schema (--reindex: again anyway), or
    --no-index (then the search rows are skipped);
  * the server: `modelhub serve --workers W` (tests.support.live.start_hub), warmed up;
  * requests, one keep-alive client, every kind interleaved in a shuffled schedule, --requests each:
    `/api/models` sorted by downloads, likes, trendingScore, lastModified and by id; filtered by a
    common and a rare tag, a common and a rare task, a license, a big and a small author; deep
    pages by offset (`skip=10000`, information) and by the `Link: rel="next"` cursor found after
    walking 10,000 and 50,000 rows; `?search=` through the search index and `/models?search=`;
    the model page, an author's page, `/models`, `/models?p=500`, the home page;
    p50/p95/p99 per kind against `/api/health` (the floor: gunicorn, Flask, client, loopback);
  * SQL baseline of each listing kind: the statement the registry sends (models_registry/listing.py,
    the same page of 20), run in this process on the same database through SQLAlchemy, p50/p95;
  * each worker's RSS (VmRSS) after the requests; database and index size on disk.

Targets (issue #20, at 1,000,000): list/sort/filter p95 < 50 ms and deep pages as fast as page 1;
search p95 < 50 ms; model page p95 < 50 ms; worker RSS < 1 GiB; whoosh rebuild >= 1,000 docs/s.
Exit status 0 unless requests failed; missed targets are printed as MISSED.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
from benchkit import pct, table, tree_pids, verdict  # noqa: E402

import httpx2  # noqa: E402

from tests.support.live import start_hub  # noqa: E402

TARGET_MS = 50.0
RSS_TARGET = 1024 * 2**20


def _pages():
    spec = importlib.util.spec_from_file_location("bench_pages", REPO_ROOT / "bench" / "pages.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


pages = _pages()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def modelhub(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return pages.modelhub(data_dir, *args)


# ---------------------------------------------------------------------------------------------
# What is asked

def facts(data_dir: Path) -> dict:
    """Real values to ask for, read from the seeded database: common and rare tags, tasks, authors."""
    import sqlite3

    con = sqlite3.connect(f"file:{data_dir / 'modelhub.db'}?mode=ro", uri=True)
    try:
        tags = con.execute("SELECT tag, count(*) c FROM repo_tags WHERE tag NOT LIKE '%:%' GROUP BY tag "
                           "ORDER BY c DESC").fetchall()
        tasks = con.execute("SELECT pipeline_tag, count(*) c FROM repositories WHERE pipeline_tag IS NOT NULL "
                            "GROUP BY 1 ORDER BY c DESC").fetchall()
        authors = con.execute("SELECT namespace, count(*) c FROM repositories WHERE NOT private GROUP BY 1 "
                              "ORDER BY c DESC").fetchall()
    finally:
        con.close()
    rare_tag = next(t for t in reversed(tags) if t[1] >= 20)
    small_author = next(a for a in reversed(authors) if a[1] >= 3)
    return {"common_tag": tags[0], "rare_tag": rare_tag, "common_task": tasks[0], "rare_task": tasks[-1],
            "big_author": authors[0], "small_author": small_author}


def cursor_at(url: str, query: str, depth: int) -> str:
    """The `rel="next"` URL after `depth` rows of this listing, walked in pages of 1,000."""
    path = f"/api/models?{query}&limit=1000"
    with httpx2.Client(timeout=120) as s:
        for _ in range(depth // 1000):
            r = s.get(url + path)
            r.raise_for_status()
            path = r.headers["Link"].split(";")[0].strip("<>").removeprefix(url)
    return path.replace("limit=1000", "limit=20")


def kinds(url: str, f: dict, real: list[str], indexed: bool) -> dict[str, list[str]]:
    """Request kind -> the paths it cycles through."""
    k: dict[str, list[str]] = {"health": ["/api/health"]}
    for sort in ("downloads", "likes", "trendingScore", "lastModified", "id"):
        k[f"list sort={sort}"] = [f"/api/models?sort={sort}&limit=20"]
    k[f"list tag {f['common_tag'][0]} ({f['common_tag'][1]})"] = [f"/api/models?filter={f['common_tag'][0]}&sort=downloads&limit=20"]
    k[f"list tag {f['rare_tag'][0]} ({f['rare_tag'][1]})"] = [f"/api/models?filter={f['rare_tag'][0]}&sort=downloads&limit=20"]
    k[f"list task {f['common_task'][0]} ({f['common_task'][1]})"] = [f"/api/models?pipeline_tag={f['common_task'][0]}&sort=likes&limit=20"]
    k[f"list task {f['rare_task'][0]} ({f['rare_task'][1]})"] = [f"/api/models?pipeline_tag={f['rare_task'][0]}&sort=likes&limit=20"]
    k["list license=mit"] = ["/api/models?license=mit&sort=downloads&limit=20"]
    k[f"list author {f['big_author'][0]} ({f['big_author'][1]})"] = [f"/api/models?author={f['big_author'][0]}&sort=downloads&limit=20"]
    k[f"list author {f['small_author'][0]} ({f['small_author'][1]})"] = [f"/api/models?author={f['small_author'][0]}&sort=downloads&limit=20"]
    k["list skip=10000 (offset)"] = ["/api/models?sort=downloads&limit=20&skip=10000"]
    for depth in (10_000, 50_000):
        k[f"list cursor after {depth}"] = [cursor_at(url, "sort=downloads", depth)]
    if indexed:
        k["api ?search= (index)"] = [f"/api/models?search={w}&limit=20" for w in pages.SEARCH_WORDS]
        k["/models?search="] = [f"/models?search={w}" for w in pages.SEARCH_WORDS]
        k["/models"] = ["/models"]
        k["/models?p=300 (last page offered)"] = ["/models?p=300"]
        k["home /"] = ["/"]
    k["/licenses (counts)"] = ["/licenses"]
    k["model page"] = ["/" + r for r in real]
    k[f"author page {f['big_author'][0]}"] = ["/" + f["big_author"][0]]
    return k


# ---------------------------------------------------------------------------------------------
# Measuring

def measure(url: str, plan: dict[str, list[str]], per_kind: int, rng: random.Random) -> tuple[dict, dict]:
    sched = [(kind, paths[i % len(paths)]) for kind, paths in plan.items() for i in range(per_kind)]
    rng.shuffle(sched)
    ms: dict[str, list[float]] = {k: [] for k in plan}
    errors: dict[str, str] = {}
    with httpx2.Client(timeout=120) as s:
        for kind, path in sched:
            t0 = time.perf_counter()
            r = s.get(url + path)
            _ = r.content
            el = (time.perf_counter() - t0) * 1000
            if r.status_code == 200:
                ms[kind].append(el)
            else:
                errors.setdefault(kind, f"{path}: HTTP {r.status_code} {r.text[:200]}")
    return ms, errors


def sql_baseline(data_dir: Path, f: dict, n: int) -> dict[str, list[float]]:
    """The listing statements alone, in this process, on the same database (page of 21: the view asks
    for one more row to know whether a next page exists)."""
    os.environ["MODELHUB_DATA_DIR"] = str(data_dir)
    from hub import create_app
    from hub.wiring import services_of

    app = create_app({"DATA_DIR": str(data_dir), "SEARCH_WORKER": False, "AUTO_MIGRATE": False})
    reg = services_of(app).registry
    cases = {f"list sort={s}": dict(sort=s) for s in ("downloads", "likes", "trendingScore", "lastModified", "id")}
    cases[f"list tag {f['common_tag'][0]} ({f['common_tag'][1]})"] = dict(tags=[f["common_tag"][0]], sort="downloads")
    cases[f"list tag {f['rare_tag'][0]} ({f['rare_tag'][1]})"] = dict(tags=[f["rare_tag"][0]], sort="downloads")
    cases[f"list task {f['common_task'][0]} ({f['common_task'][1]})"] = dict(pipeline_tag=f["common_task"][0], sort="likes")
    cases[f"list task {f['rare_task'][0]} ({f['rare_task'][1]})"] = dict(pipeline_tag=f["rare_task"][0], sort="likes")
    cases["list license=mit"] = dict(tags=["license:mit"], sort="downloads")
    cases[f"list author {f['big_author'][0]} ({f['big_author'][1]})"] = dict(author=f["big_author"][0], sort="downloads")
    cases[f"list author {f['small_author'][0]} ({f['small_author'][1]})"] = dict(author=f["small_author"][0], sort="downloads")
    cases["list skip=10000 (offset)"] = dict(sort="downloads", offset=10000)
    out: dict[str, list[float]] = {}
    try:
        for kind, kw in cases.items():
            xs = []
            for _ in range(n):
                t0 = time.perf_counter()
                reg.repos.list("model", None, limit=21, **kw)
                xs.append((time.perf_counter() - t0) * 1000)
            out[kind] = xs
    finally:
        reg.close()
    return out


def rss_of_workers(master: int) -> list[int]:
    out = []
    for pid in tree_pids(master):
        if pid == master:
            continue
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) * 1024)
        except FileNotFoundError:
            pass
    return out


def size_of(path: Path) -> int:
    return pages.dir_size(path) if path.exists() else 0


# ---------------------------------------------------------------------------------------------

def run_one(n: int, args, root: Path) -> dict:
    data_dir = root / f"n-{n}"
    data_dir.mkdir(parents=True, exist_ok=True)
    mpath = data_dir / pages.MANIFEST
    manifest = json.loads(mpath.read_text()) if mpath.exists() else None
    steps: dict[str, float] = {}
    if manifest and manifest["repos"] == n and manifest["seed"] == args.seed:
        log(f"[{n}] reusing the hub seeded in {data_dir}")
        t0 = time.perf_counter()
        modelhub(data_dir, "db", "upgrade")
        steps["modelhub db upgrade (reused hub)"] = time.perf_counter() - t0
    else:
        if any(p.name != pages.MANIFEST for p in data_dir.iterdir()):
            raise SystemExit(f"{data_dir} holds something that is not a hub seeded with {n} repositories")
        log(f"[{n}] seeding ...")
        manifest = pages.seed(data_dir, n, args.seed, args.real, index=False)
        steps.update(manifest["timings"])
    from search_index.schema import SCHEMA_VERSION

    indexed = manifest.get("indexed_schema") == SCHEMA_VERSION and not args.reindex
    if not indexed and not args.no_index:
        log(f"[{n}] modelhub index rebuild ...")
        t0 = time.perf_counter()
        modelhub(data_dir, "index", "rebuild")
        el = time.perf_counter() - t0
        steps["modelhub index rebuild"] = el
        manifest["index_rebuild_s"] = el
        manifest["indexed_schema"] = SCHEMA_VERSION
        mpath.write_text(json.dumps(manifest, indent=1))
        indexed = True
    f = facts(data_dir)
    log(f"[{n}] asking for {f}")

    hub = start_hub(data_dir, workers=args.workers)
    try:
        time.sleep(2.0)
        plan = kinds(hub.url, f, manifest["real"], indexed)
        rng = random.Random(args.seed + n)
        log(f"[{n}] warming up ...")
        measure(hub.url, plan, 3, rng)
        log(f"[{n}] {args.requests} requests x {len(plan)} kinds ...")
        load = os.getloadavg()[0]
        ms, errors = measure(hub.url, plan, args.requests, rng)
        rss = rss_of_workers(hub.proc.pid)
    finally:
        hub.stop()
    log(f"[{n}] SQL baseline ...")
    sql = sql_baseline(data_dir, f, max(20, args.requests // 2))
    return {"n": n, "ms": ms, "errors": errors, "sql": sql, "rss": rss, "steps": steps, "load": load,
            "db_bytes": sum(p.stat().st_size for p in data_dir.glob("modelhub.db*")),
            "index_bytes": size_of(data_dir / "search"), "index_rebuild_s": manifest.get("index_rebuild_s"),
            "indexed": indexed}


def report(r: dict) -> int:
    n, ms = r["n"], r["ms"]
    h95 = pct(ms["health"], 95)
    print(f"\n## {n:,} repositories (database {r['db_bytes'] / 2**20:.0f} MiB, search index "
          f"{r['index_bytes'] / 2**20:.0f} MiB; load average {r['load']:.2f} when the requests began)")
    rows = [["kind", "p50", "p95", "p99", "p95 - health p95", "SQL alone p50 / p95", "target", "n"]]
    first = pct(ms["list sort=downloads"], 95)
    for kind, xs in ms.items():
        if not xs:
            rows.append([kind, "-", "-", "-", "-", "-", "ERRORS", "0"])
            continue
        p95 = pct(xs, 95)
        sql = r["sql"].get(kind)
        if kind == "health":
            target = "(baseline)"
        elif "offset" in kind:
            target = "(info)"
        elif "cursor" in kind:
            target = f"<= 1.5x page 1: {verdict(p95 <= 1.5 * first)}"
        else:
            target = f"< {TARGET_MS:.0f} ms: {verdict(p95 - h95 < TARGET_MS)}"
        rows.append([kind, f"{pct(xs, 50):.1f} ms", f"{p95:.1f} ms", f"{pct(xs, 99):.1f} ms",
                     "-" if kind == "health" else f"{p95 - h95:.1f} ms",
                     f"{statistics.median(sql):.1f} / {pct(sql, 95):.1f} ms" if sql else "-", target, str(len(xs))])
    print(table(rows))
    rss = r["rss"]
    print(f"worker RSS: {', '.join(f'{x / 2**20:.0f} MiB' for x in rss)} (target < 1 GiB: "
          f"{verdict(bool(rss) and max(rss) < RSS_TARGET)})")
    if r["index_rebuild_s"]:
        rate = n / r["index_rebuild_s"]
        print(f"index rebuild: {r['index_rebuild_s']:.0f} s, {rate:.0f} docs/s (names, tags and facets; card text "
              f"only for the git-backed repositories) (target >= 1000 docs/s: {verdict(rate >= 1000)})")
    for k, v in r["steps"].items():
        print(f"step: {k}: {v:.1f} s")
    for kind, e in r["errors"].items():
        print(f"ERROR {kind}: {e}")
    return 1 if r["errors"] else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--requests", type=int, default=200, help="requests per kind (default 200)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--real", type=int, default=20, help="git-backed repositories whose pages are requested")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-root", default=None, help="keep (and reuse) the seeded hubs in DIR/n-N")
    ap.add_argument("--no-index", action="store_true", help="skip the search index (and the search rows)")
    ap.add_argument("--reindex", action="store_true", help="rebuild (and time) the index of a reused hub again")
    args = ap.parse_args()
    os.environ.pop("MODELHUB_TEST_DATABASE_URL", None)  # the seeded SQLite database, not a fresh one
    os.environ.pop("MODELHUB_TEST_S3", None)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), repos {args.repos}, "
          f"{args.requests} requests/kind, {args.workers} workers, seed {args.seed}", flush=True)
    root = Path(args.data_root) if args.data_root else Path(tempfile.mkdtemp(prefix="modelhub-scale-"))
    status = 0
    try:
        for n in args.repos:
            status |= report(run_one(n, args, root))
    finally:
        if not args.data_root:
            shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
