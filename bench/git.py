#!/usr/bin/env python
"""Git-over-HTTP benchmark: `git clone` of a model repository from a real `modelhub serve`, against
`git clone file://` of the same bare repository, in the same run.

    python bench/git.py [--small-files 500] [--lfs-mib 200] [--runs 3] [--workers 2] [--tmpdir DIR]
                        [--trace]

Not part of the test suite. Target (from the issue): a clone over HTTP of a repository with 500 small
files and one 200 MiB LFS file takes at most 2x the time of a local `git clone file://` of the same
bare repository.

Set-up (untimed): a fresh server (tests.support.live.start_hub) in a temp dir, a user and write token,
a public repo `bench/git-clone`; then the real `git` + `git-lfs` (sandboxed HOME, as in
tests/support/gitutil.py) clone it, `git lfs track "*.bin"`, commit --small-files text files of varied
size and content (some in nested directories: configs/, tokenizer/, src/..., eval/...) plus one
random --lfs-mib MiB `weights.bin`, and push over HTTP with the token in the URL (git-lfs uploads the
object through the hub's LFS batch API from its pre-push hook), so the repo is what a pushed model
repository looks like on the server: a bare repo under <data>/repos/<key[:2]>/<key>.git and the
object under <data>/lfs/<oid[:2]>/<oid[2:4]>/<oid>.

Measured, per run (median of --runs reported; the order of HTTP and file:// alternates per run, and
dirty pages are flushed with os.sync() before each timed step):

  * http full:   `git clone http://127.0.0.1:PORT/bench/git-clone` (anonymous, the repo is public)
                 with the LFS smudge filter on: git objects + LFS batch + download + checkout. This is
                 what a user waits for.
  * file full:   `git -c lfs.url=file://<shadow> clone file://<bare repo>` with the smudge filter on.
  * http objects / file objects: the same two clones with GIT_LFS_SKIP_SMUDGE=1 (git objects and the
                 checkout of pointer files only).
  * http LFS / file LFS: `git lfs pull` inside those skip-smudge clones (the LFS part alone).
  * cp:          `cp <data>/lfs/../<oid> <clone>/weights.bin` after the skip-smudge file:// clone.

Choice of the LFS baseline. The server's bare repo holds no LFS objects itself (they live in the hub's
blob store, <data>/lfs), so a plain `git clone file://<bare>` would fail to smudge. The main baseline
makes them available the way a local git-lfs remote has them: a "shadow" bare repo whose
`lfs/objects` is a symlink to <data>/lfs (same <oid[:2]>/<oid[2:4]>/<oid> layout), passed as
`lfs.url=file://<shadow>`. git-lfs then uses its built-in standalone file transfer agent
(lfs-standalone-file), so the local clone does exactly the client-side work the HTTP clone does
(copy into .git/lfs/objects, sha256 verification, smudge into the work tree) minus the network and
the server: the ratio isolates what HTTP and the hub cost, which is what the target is about. The
bare minimum - skip-smudge file:// clone + a single `cp` of the object into the work tree - is
reported as a stricter, informational baseline ("file objects + cp").

Also printed: per-run lines, the server's CPU seconds (gunicorn master + workers + the git processes
they spawn) during the HTTP clone, load average before/after and the core count. --trace runs one
extra HTTP clone with GIT_TRACE_PERFORMANCE / GIT_TRACE (git-lfs) / GIT_TRACE_CURL and prints a
time line of the requests and processes, to see where the time goes.

Everything lives under one tempfile.mkdtemp() (under --tmpdir if given), removed at the end. Exit
status 0 unless something errored (a missed target is reported, not fatal).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from benchkit import make_random_file, table, tree_cpu  # noqa: E402

from tests.support.gitutil import Git, file_sha256, remote_url  # noqa: E402
from tests.support.live import LiveHub, start_hub  # noqa: E402

MiB = 1024 * 1024
TARGET = 2.0
REPO_ID = "bench/git-clone"
LFS_NAME = "weights.bin"
SKIP = {"GIT_LFS_SKIP_SMUDGE": "1"}
WORDS = ("the model weights tokenizer layer attention head hidden size vocab embedding config train eval "
         "dataset batch learning rate warmup decay optimizer adam gradient checkpoint epoch loss accuracy "
         "precision recall transformer encoder decoder softmax dropout norm residual feed forward token "
         "sequence length position rotary bias scale float bfloat16 shard index license readme").split()
DIRS = ("", "", "configs", "tokenizer", "src/modeling", "src/modeling/layers", "src/utils", "eval/results",
        "eval/results/2024", "docs", "scripts", "onnx/meta")
EXTS = (".txt", ".json", ".py", ".md", ".yaml", ".cfg")


# ---------------------------------------------------------------------------------------------
# Process CPU accounting (server tree), as in bench/transfer.py

def children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def settle() -> None:
    os.sync()


# ---------------------------------------------------------------------------------------------
# Repository content

def small_files(n: int, seed: int = 1234) -> dict[str, bytes]:
    """n text files of varied size (80 B to ~24 KiB, mostly small) and content, some nested."""
    rnd = random.Random(seed)
    files: dict[str, bytes] = {"README.md": b"# git-clone benchmark\n\nA model repository pushed with git.\n"}
    i = 0
    while len(files) < n:
        d = DIRS[i % len(DIRS)]
        name = f"{rnd.choice(WORDS)}_{i:04d}{EXTS[i % len(EXTS)]}"
        path = f"{d}/{name}" if d else name
        size = int(min(24 * 1024, rnd.lognormvariate(7.0, 1.1))) + 80
        lines, total = [], 0
        while total < size:
            line = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 14)))
            line += f" {rnd.random():.6f} {i}\n"
            lines.append(line)
            total += len(line)
        files[path] = "".join(lines).encode()
        i += 1
    return files


def find_bare_repo(hub: LiveHub, head: str) -> Path:
    """The server's bare repository whose refs/heads/main is `head` (<data>/repos/<key[:2]>/<key>.git)."""
    for cand in sorted((hub.data_dir / "repos").glob("*/*.git")):
        got = subprocess.run(["git", "--git-dir", str(cand), "rev-parse", "refs/heads/main"],
                             capture_output=True, text=True)
        if got.returncode == 0 and got.stdout.strip() == head:
            return cand
    raise RuntimeError(f"no bare repo under {hub.data_dir / 'repos'} has main at {head}")


def prepare(hub: LiveHub, git: Git, work: Path, n_small: int, lfs_mib: int) -> tuple[str, str, int]:
    """Create and push the repo; return (head, lfs oid, lfs size)."""
    token = hub.user("bench")
    hub.api(token).create_repo(REPO_ID)  # public
    push_url = remote_url(hub, REPO_ID, token)
    src = work / "src"
    git.run("clone", push_url, str(src))
    git.run("lfs", "install", "--local", cwd=src)
    git.run("lfs", "track", "*.bin", cwd=src)
    files = small_files(n_small)
    for rel, data in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    size = lfs_mib * MiB
    make_random_file(src / LFS_NAME, size)
    git.run("add", "-A", cwd=src, timeout=600)
    git.run("commit", "-q", "-m", f"{len(files)} small files and a {lfs_mib} MiB LFS file", cwd=src)
    t0 = time.perf_counter()
    git.run("push", "origin", "HEAD:main", cwd=src, timeout=1800)
    print(f"   pushed {len(files)} small files ({sum(map(len, files.values())) / 1024:.0f} KiB) and "
          f"{lfs_mib} MiB LFS over HTTP in {time.perf_counter() - t0:.1f} s", flush=True)
    oid = git.out("lfs", "ls-files", "--long", cwd=src).split()[0]
    if len(oid) != 64:
        raise RuntimeError(f"unexpected `git lfs ls-files --long` output: {oid!r}")
    head = git.head(src)
    shutil.rmtree(src)
    return head, oid, size


# ---------------------------------------------------------------------------------------------
# Timed steps

@dataclass
class Run:
    t: dict[str, float] = field(default_factory=dict)  # seconds per step
    server_cpu: dict[str, float] = field(default_factory=dict)
    client_cpu: dict[str, float] = field(default_factory=dict)


class Bench:
    def __init__(self, hub: LiveHub, git: Git, work: Path, bare: Path, shadow: Path, oid: str, size: int,
                 head: str) -> None:
        self.hub, self.git, self.work, self.bare = hub, git, work, bare
        self.shadow_url = f"file://{shadow}"
        self.oid, self.size, self.head = oid, size, head
        self.http_url = f"{hub.url}/{REPO_ID}"
        self.file_url = f"file://{bare}"
        self.blob = hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid
        self.checked: set[str] = set()

    def _timed(self, run: Run, key: str, *args: str, cwd: Path | None = None, env: dict | None = None) -> None:
        settle()
        s0, c0 = tree_cpu(self.hub.proc.pid, reaped_children=True), children_cpu()
        t0 = time.perf_counter()
        self.git.run(*args, cwd=cwd, env=env, timeout=1800)
        run.t[key] = time.perf_counter() - t0
        run.client_cpu[key] = children_cpu() - c0
        run.server_cpu[key] = tree_cpu(self.hub.proc.pid, reaped_children=True) - s0

    def _check(self, key: str, dest: Path, materialized: bool) -> None:
        if self.git.head(dest) != self.head:
            raise RuntimeError(f"{key}: cloned HEAD differs")
        target = dest / LFS_NAME
        if materialized:
            if target.stat().st_size != self.size:
                raise RuntimeError(f"{key}: {LFS_NAME} is {target.stat().st_size} bytes, not {self.size}")
            if key not in self.checked:  # full hash once per kind, outside the timing
                if file_sha256(target) != self.oid:
                    raise RuntimeError(f"{key}: {LFS_NAME} content differs")
                self.checked.add(key)
        elif target.stat().st_size > 1024:
            raise RuntimeError(f"{key}: expected an LFS pointer in the work tree, got {target.stat().st_size} bytes")

    def http_full(self, run: Run, i: int) -> None:
        dest = self.work / f"http-full-{i}"
        self._timed(run, "http full", "clone", "-q", self.http_url, str(dest))
        self._check("http full", dest, True)
        shutil.rmtree(dest)

    def file_full(self, run: Run, i: int) -> None:
        dest = self.work / f"file-full-{i}"
        self._timed(run, "file full", "-c", f"lfs.url={self.shadow_url}", "clone", "-q", self.file_url, str(dest))
        self._check("file full", dest, True)
        shutil.rmtree(dest)

    def http_split(self, run: Run, i: int) -> None:
        dest = self.work / f"http-split-{i}"
        self._timed(run, "http objects", "clone", "-q", self.http_url, str(dest), env=SKIP)
        self._check("http objects", dest, False)
        self._timed(run, "http lfs", "lfs", "pull", cwd=dest)
        self._check("http lfs", dest, True)
        shutil.rmtree(dest)

    def file_split(self, run: Run, i: int) -> None:
        dest = self.work / f"file-split-{i}"
        self._timed(run, "file objects", "-c", f"lfs.url={self.shadow_url}", "clone", "-q", self.file_url,
                    str(dest), env=SKIP)
        self._check("file objects", dest, False)
        # cp: the bare minimum to materialize the file
        target = dest / LFS_NAME
        settle()
        t0 = time.perf_counter()
        subprocess.run(["cp", str(self.blob), str(target)], check=True)
        run.t["cp"] = time.perf_counter() - t0
        self._check("cp", dest, True)
        # git lfs pull through the standalone file agent (put the pointer back first; untimed)
        self.git.run("config", "lfs.url", self.shadow_url, cwd=dest)
        target.unlink()
        self.git.run("checkout", "-q", "--", LFS_NAME, cwd=dest, env=SKIP)
        self._check("file objects", dest, False)
        self._timed(run, "file lfs", "lfs", "pull", cwd=dest)
        self._check("file lfs", dest, True)
        shutil.rmtree(dest)

    def once(self, i: int) -> Run:
        run = Run()
        http = (self.http_full, self.http_split)
        local = (self.file_full, self.file_split)
        for step in (*http, *local) if i % 2 == 0 else (*local, *http):
            step(run, i)
        return run

    def trace(self) -> None:
        """One extra HTTP clone with git's and git-lfs's traces; prints a condensed time line."""
        dest = self.work / "http-trace"
        log = self.work / "trace.log"
        env = {"GIT_TRACE_PERFORMANCE": str(log), "GIT_TRACE": str(log), "GIT_TRACE_CURL": str(log),
               "GIT_TRACE_CURL_NO_DATA": "1", "GIT_TRANSFER_TRACE": str(log)}
        settle()
        t0 = time.perf_counter()
        self.git.run("clone", "-q", self.http_url, str(dest), env=env, timeout=1800)
        total = time.perf_counter() - t0
        shutil.rmtree(dest)
        print(f"\n== traced HTTP clone: {total:.2f} s; condensed trace ({log.name}):")
        keep = re.compile(r"(performance:|=> Send header: (GET|POST|PUT)|<= Recv header: HTTP/|"
                          r"run_command:|HTTP: (GET|POST)|tq:|xfer:|<= Recv header: Content-Length)")
        perf = re.compile(r"performance: ([0-9.]+) s")
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if keep.search(ln)
                 and "trace git-lfs: exec: git" not in ln
                 and not ((m := perf.search(ln)) and float(m.group(1)) < 0.005)]
        for ln in lines[:160]:
            print("   " + ln[:200])
        if len(lines) > 160:
            print(f"   ... {len(lines) - 160} more lines")


# ---------------------------------------------------------------------------------------------
# Report

def med(runs: list[Run], key: str, what: str = "t") -> float:
    return statistics.median(getattr(r, what)[key] for r in runs)


def format_run(i: int, n: int, r: Run) -> str:
    t = r.t
    return (f"run {i}/{n} | http full {t['http full']:.2f}s, file full {t['file full']:.2f}s"
            f" ({t['http full'] / t['file full']:.2f}x) | http objects {t['http objects']:.2f}s, file objects"
            f" {t['file objects']:.2f}s ({t['http objects'] / t['file objects']:.2f}x) | http lfs pull"
            f" {t['http lfs']:.2f}s, file lfs pull {t['file lfs']:.2f}s, cp {t['cp']:.2f}s"
            f" | server CPU s: full {r.server_cpu['http full']:.2f}, objects {r.server_cpu['http objects']:.2f},"
            f" lfs {r.server_cpu['http lfs']:.2f} | client CPU s: http full {r.client_cpu['http full']:.2f},"
            f" file full {r.client_cpu['file full']:.2f}")


def report(runs: list[Run], n_small: int, lfs_mib: int) -> str:
    n = len(runs)
    rows = [["metric", "value", "baseline", "ratio", "target"]]

    def row(label: str, key: str, base_label: str, base: float, target: bool = False) -> None:
        v = med(runs, key)
        ratio = v / base
        tgt = f"<= {TARGET:g}x {'ok' if ratio <= TARGET else 'MISSED'}" if target else "(info)"
        rows.append([label, f"{v:.2f} s", f"{base_label} {base:.2f} s", f"{ratio:.2f}", tgt])

    what = f"{n_small} files + {lfs_mib} MiB LFS"
    row(f"git clone over HTTP, {what} (median of {n})", "http full",
        "git clone file:// + lfs standalone", med(runs, "file full"), target=True)
    cp_base = statistics.median(r.t["file objects"] + r.t["cp"] for r in runs)
    row("  same, vs the bare minimum", "http full", "file:// objects + cp", cp_base)
    row(f"git objects only (GIT_LFS_SKIP_SMUDGE=1, {n_small} files)", "http objects",
        "git clone file:// skip-smudge", med(runs, "file objects"))
    row(f"LFS part alone: git lfs pull ({lfs_mib} MiB)", "http lfs",
        "git lfs pull, standalone file", med(runs, "file lfs"))
    row("  same, vs cp of the object", "http lfs", "cp", med(runs, "cp"))
    sc = med(runs, "http full", "server_cpu")
    rows.append(["server CPU during HTTP clone (incl. git)", f"{sc:.2f} s",
                 f"client CPU {med(runs, 'http full', 'client_cpu'):.2f} s", "-", "(info)"])
    rows.append(["client CPU, file:// clone", f"{med(runs, 'file full', 'client_cpu'):.2f} s", "-", "-", "(info)"])
    return table(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small-files", type=int, default=500, help="number of small text files (default 500)")
    ap.add_argument("--lfs-mib", type=int, default=200, help="size of the LFS file in MiB (default 200)")
    ap.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--tmpdir", default=None,
                    help="where to create the temp dir (default: the system's; /dev/shm takes the disk out)")
    ap.add_argument("--trace", action="store_true",
                    help="one extra traced HTTP clone (GIT_TRACE_PERFORMANCE, GIT_TRACE, GIT_TRACE_CURL)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="modelhub-bench-git-", dir=args.tmpdir))
    hub: LiveHub | None = None
    try:
        free = shutil.disk_usage(root).free
        need = args.lfs_mib * MiB * 8
        if free < need:
            print(f"warning: {free / MiB:.0f} MiB free under {root}, about {need / MiB:.0f} MiB needed", flush=True)
        versions = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
        versions += ", " + subprocess.run(["git", "lfs", "version"], capture_output=True, text=True).stdout.strip()
        print(f"{versions}; {os.cpu_count()} CPUs; temp dir {root}", flush=True)
        load_before = os.getloadavg()
        (root / "hub-data").mkdir()
        print(f"== starting the server ({args.workers} workers), pushing the repo ...", flush=True)
        hub = start_hub(root / "hub-data", workers=args.workers)
        git = Git(root / "git-home", lfs=True)
        git.run("lfs", "install", "--skip-repo")
        head, oid, size = prepare(hub, git, root, args.small_files, args.lfs_mib)
        bare = find_bare_repo(hub, head)
        pack_kib = sum(p.stat().st_size for p in (bare / "objects").rglob("*") if p.is_file()) / 1024
        print(f"   bare repo {bare} ({pack_kib:.0f} KiB of git objects), LFS object {oid[:12]}...", flush=True)
        shadow = root / "lfs-shadow.git"
        subprocess.run(["git", "init", "-q", "--bare", str(shadow)], check=True)
        (shadow / "lfs").mkdir()
        (shadow / "lfs" / "objects").symlink_to(hub.data_dir / "lfs")
        bench = Bench(hub, git, root / "clones", bare, shadow, oid, size, head)
        (root / "clones").mkdir()
        runs: list[Run] = []
        for i in range(args.runs):
            r = bench.once(i)
            runs.append(r)
            print(format_run(i + 1, args.runs, r), flush=True)
        if args.trace:
            bench.trace()
        load_after = os.getloadavg()
    finally:
        if hub is not None:
            hub.stop()
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(report(runs, args.small_files, args.lfs_mib))
    cpus = os.cpu_count() or 1
    print(f"\nload average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {cpus} CPUs")
    if max(load_before[0], load_after[0]) > 0.5 * cpus:
        print("warning: other processes were using the CPUs; wall-clock numbers are noisy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
