#!/usr/bin/env python
"""Model tree benchmark: the model page's sidebar data (models_registry.model_tree) at 100k repositories.

    python bench/model_tree.py [--repos 100000] [--biggest 20000] [--runs 300]
                               [--database-url postgresql+psycopg://...]

Not part of the test suite. Target (issue #22): the model page stays under 50 ms at p95 at 100,000
repositories with the model tree added; this measures the tree's own share, in-process.

  * seeding: `modelhub db upgrade` creates the schema (SQLite in a temp folder, or a fresh database
    on the --database-url server, dropped afterwards); --repos repositories are bulk-inserted with
    their repo_tags, as a commit stores them (cards.derive_tags of a front matter naming a base).
    One base, `bench/base-0000`, has --biggest derivatives (fine-tunes, adapters, quantizations;
    3% private); the others are spread over 2,000 bases, most with a handful; every repository
    also carries a few ordinary tags, so the tag index holds ~6 rows per repository.
  * measured, --runs times each, wall time p50/p95: ModelTrees.derived_counts for the biggest base,
    a base with ~10 derivatives and an id nobody names, as a visitor and as a member of the owner
    organization (the private ones counted); ModelTrees.of for a derived model (its base looked up).
    Baseline: Repos.get of one repository, which every model page already does.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from benchkit import pct, table  # noqa: E402

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models_registry import cards  # noqa: E402
from models_registry.permissions import Principal  # noqa: E402
from models_registry.model_tree import parents_in_tags  # noqa: E402
from models_registry.tables import ModelLink, Repository, RepoTag  # noqa: E402

RELATIONS = ["finetune"] * 7 + ["adapter"] * 2 + ["quantized"]
ORDINARY_TAGS = ["transformers", "pytorch", "safetensors", "license:apache-2.0", "text-generation", "en", "zh"]


def seed(reg, n: int, biggest: int, rng: random.Random) -> None:
    repos, tags, links = [], [], []
    bases = [f"bench/base-{i:04d}" for i in range(2000)]
    for pk in range(1, n + 1):
        if pk <= len(bases):
            ns, name, meta = "bench", bases[pk - 1].split("/")[1], {}
        else:
            base = bases[0] if pk <= len(bases) + biggest else bases[int(rng.paretovariate(1.2)) % len(bases)]
            ns, name = f"user{pk % 5000:04d}", f"model-{pk:06d}"
            relation = rng.choice(RELATIONS)
            meta = {"base_model": base, "base_model_relation": relation}
        meta["tags"] = rng.sample(ORDINARY_TAGS, 4)
        derived, _, _ = cards.derive_tags(meta)
        private = rng.random() < 0.03
        if private:
            ns = "bench"  # the member principal below sees these
        repos.append({"id": pk, "repo_type": "model", "namespace": ns, "name": name, "private": private,
                      "storage_key": uuid.UUID(int=rng.getrandbits(128)).hex, "disabled": False,
                      "default_branch": "main", "downloads": 0, "downloads_all_time": 0, "likes": 0,
                      "card_data": meta, "tags": derived, "trending_score": 0.0})
        tags += [{"repo_id": pk, "tag": t} for t in dict.fromkeys(derived)]
        links += [{"repo_id": pk, "base_id": b, "relation": r, "public": not private}
                  for r, b in parents_in_tags(derived)]
    with reg.db.engine.begin() as conn:
        for k in range(0, len(repos), 5000):
            conn.execute(insert(Repository.__table__), repos[k:k + 5000])
        for k in range(0, len(tags), 20000):
            conn.execute(insert(RepoTag.__table__), tags[k:k + 20000])
        for k in range(0, len(links), 20000):
            conn.execute(insert(ModelLink.__table__), links[k:k + 20000])
        conn.execute(text("ANALYZE"))  # the planner's statistics, as a live database keeps them


def timed(fn, runs: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=int, default=100_000)
    ap.add_argument("--biggest", type=int, default=20_000, help="derivatives of the most derived base")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--database-url", default=None, help="a PostgreSQL server (a fresh database is made on it)")
    args = ap.parse_args()
    rng = random.Random(42)
    tmp = Path(tempfile.mkdtemp(prefix="bench-model-tree-"))
    env = {**os.environ, "MODELHUB_DATA_DIR": str(tmp)}
    admin_engine, db_name = None, None
    if args.database_url:
        db_name = f"bench_model_tree_{os.getpid()}"
        admin_engine = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as c:
            c.execute(text(f"CREATE DATABASE {db_name}"))
        env["MODELHUB_DATABASE_URL"] = make_url(args.database_url).set(database=db_name).render_as_string(False)
    try:
        subprocess.run([sys.executable, "-m", "hub", "db", "upgrade"], env=env, check=True, cwd=REPO_ROOT,
                       capture_output=True)
        os.environ.update(env)
        from hub import create_app
        from hub.wiring import services_of

        app = create_app({"DATA_DIR": str(tmp), "SEARCH_WORKER": False, "AUTO_MIGRATE": False,
                          **({"DATABASE_URL": env["MODELHUB_DATABASE_URL"]} if db_name else {})})
        reg = services_of(app).registry
        t0 = time.perf_counter()
        seed(reg, args.repos, args.biggest, rng)
        print(f"seeded {args.repos} repositories in {time.perf_counter() - t0:.1f} s "
              f"({reg.db.engine.dialect.name})")
        trees = reg.model_trees
        member = Principal(user_id=1, name="someone", org_roles={"bench": "write"})
        small = next(b for b in (f"bench/base-{i:04d}" for i in range(1999, 0, -1))
                     if 5 <= sum(trees.derived_counts(b, None).values()) <= 20)
        derived = reg.repos.get("model", "user2001/model-002001", None)
        cases = {
            "Repos.get (baseline)": lambda: reg.repos.get("model", "bench/base-0000", None),
            f"derived_counts, {args.biggest} derivatives, visitor": lambda: trees.derived_counts("bench/base-0000", None),
            f"derived_counts, {args.biggest} derivatives, member": lambda: trees.derived_counts("bench/base-0000", member),
            f"derived_counts, {small} (few)": lambda: trees.derived_counts(small, None),
            "derived_counts, nobody's base": lambda: trees.derived_counts("bench/no-such-base", None),
            "ModelTrees.of a derived model": lambda: trees.of(derived, None),
        }
        print("counts of the biggest base (visitor):", trees.derived_counts("bench/base-0000", None))
        rows = []
        base_p95 = None
        for label, fn in cases.items():
            ms = timed(fn, args.runs)
            p95 = pct(ms, 95)
            base_p95 = base_p95 or p95
            rows.append([label, f"{pct(ms, 50):.2f}", f"{p95:.2f}", f"{p95 / base_p95:.1f}x"])
        print(table([["query", "p50 ms", "p95 ms", "p95 vs baseline"], *rows]))
    finally:
        if admin_engine is not None:
            if "reg" in locals():
                reg.close()
            with admin_engine.connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
