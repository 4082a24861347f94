#!/usr/bin/env python
"""Sync benchmark: `modelhub sync pull` of a repository against `snapshot_download` of the same one.

    python bench/sync.py [--size-mib 1024] [--small-files 200] [--runs 2] [--tmpdir DIR]

Not part of the test suite. Starts two real servers (tests.support.live.start_hub): the upstream,
holding one repository with a `--size-mib` LFS file and `--small-files` small text files (uploaded
with HfApi.upload_folder, HF_HUB_DISABLE_XET=1), and the mirror, whose data folder the CLI pulls into.
Per run, in rotating order:
  * `snapshot_download` of the repository from the upstream into a fresh cache_dir (default workers);
  * `pull_repository(...)` in this process, on the mirror's registry (what `modelhub sync pull` runs),
    into a new local repository each run, so everything travels again;
  * for information, `python -m hub sync pull --from UPSTREAM owner/repo:mirror/cliN` as a subprocess
    (the operator's command: interpreter start-up and imports, about a second, included).
The ratio pull_repository / snapshot_download (both in-process) is the figure of merit (target <= 1.2). Everything lives under one
tempfile.mkdtemp() that is removed at the end. Exit status 0 unless something failed.
"""

from __future__ import annotations

import os
import sys

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.pop("HF_TOKEN", None)

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from huggingface_hub import HfApi, snapshot_download  # noqa: E402

from tests.support.live import start_hub  # noqa: E402

MiB = 1024 * 1024
TARGET = 1.2


def make_tree(root: Path, size_mib: int, small: int) -> None:
    (root / "weights").mkdir(parents=True)
    with open(root / "weights" / "model.safetensors.bin", "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MiB))
    for i in range(small):
        sub = root / "configs" / f"group{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"file{i}.json").write_text(json.dumps({"index": i, "pad": "x" * (512 + 17 * i)}) + "\n")
    (root / "README.md").write_text("---\nlicense: mit\n---\n# Sync benchmark\n")


def timed_snapshot(url: str, repo: str, cache: Path) -> float:
    os.sync()
    t = time.perf_counter()
    snapshot_download(repo, endpoint=url, cache_dir=str(cache), token=False)
    elapsed = time.perf_counter() - t
    shutil.rmtree(cache, ignore_errors=True)
    return elapsed


def mirror_registry(mirror):
    """The mirror's registry, opened in this process (as `modelhub` would open it)."""
    for key, value in mirror.env.items():
        if key.startswith("MODELHUB_"):
            os.environ[key] = value
    import logging

    from hub import create_app
    from hub.wiring import services_of

    registry = services_of(create_app({"SEARCH_WORKER": False})).registry
    # create_app turns on INFO logging: keep httpx2's per-request lines out of both measurements.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    return registry


def timed_pull_in_process(registry, url: str, repo: str, local: str) -> tuple[float, dict]:
    from models_registry.sync.pull import pull_repository

    os.sync()
    t = time.perf_counter()
    report = pull_repository(registry, url, repo, local)
    elapsed = time.perf_counter() - t
    if report.failed:
        raise RuntimeError(f"pull failed: {report.failed}")
    return elapsed, {"bytes_transferred": report.bytes_transferred, "git_objects": report.git_objects,
                     "lfs_objects": report.lfs_objects}


def timed_pull(mirror, url: str, repo: str, local: str) -> tuple[float, dict]:
    os.sync()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hub", "sync", "pull", "--from", url, f"{repo}:{local}", "--json"],
                          env=mirror.env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"sync pull failed:\n{proc.stderr}")
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small-files", type=int, default=200)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--tmpdir", default=None)
    args = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-sync-", dir=args.tmpdir))
    up = mirror = None
    try:
        print(f"load average before: {os.getloadavg()}")
        (base / "up").mkdir()
        (base / "mirror").mkdir()
        up = start_hub(base / "up")
        mirror = start_hub(base / "mirror")
        token = up.user("bench")
        mirror.user("mirror")
        repo = "bench/synced"
        make_tree(base / "tree", args.size_mib, args.small_files)
        api = HfApi(endpoint=up.url, token=token)
        api.create_repo(repo)
        t = time.perf_counter()
        api.upload_folder(repo_id=repo, folder_path=str(base / "tree"), commit_message="Benchmark data")
        print(f"uploaded {args.size_mib} MiB + {args.small_files} small files in {time.perf_counter() - t:.1f}s")
        shutil.rmtree(base / "tree")

        registry = mirror_registry(mirror)
        rows = []
        for run in range(args.runs):
            # Rotate the order, so that no variant always runs on the warmest (or busiest) machine.
            order = ["snapshot", "pull", "cli"][run % 3:] + ["snapshot", "pull", "cli"][:run % 3]
            result: dict = {}
            for what in order:
                if what == "snapshot":
                    result["snapshot"] = timed_snapshot(up.url, repo, base / f"cache{run}")
                elif what == "pull":
                    result["pull"], result["report"] = timed_pull_in_process(registry, up.url, repo, f"mirror/run{run}")
                else:
                    result["cli"], _ = timed_pull(mirror, up.url, repo, f"mirror/cli{run}")
            rep = result["report"]
            ratio = result["pull"] / result["snapshot"]
            rows.append(ratio)
            mib = rep["bytes_transferred"] / MiB
            print(f"run {run + 1}: snapshot_download {result['snapshot']:.2f}s "
                  f"({args.size_mib / result['snapshot']:.0f} MiB/s), pull_repository {result['pull']:.2f}s "
                  f"({mib / result['pull']:.0f} MiB/s, {rep['git_objects']} git objects, {rep['lfs_objects']} LFS), "
                  f"ratio {ratio:.2f} {'ok' if ratio <= TARGET else 'MISSED'}; "
                  f"`modelhub sync pull` {result['cli']:.2f}s (interpreter start-up included)")
        best = min(rows)
        print(f"best ratio pull/snapshot: {best:.2f} (target <= {TARGET}) {'ok' if best <= TARGET else 'MISSED'}")
        registry.close()
        print(f"load average after: {os.getloadavg()}")
        return 0
    finally:
        for hub in (up, mirror):
            if hub is not None:
                hub.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
