#!/usr/bin/env python
"""Xet benchmark: a large upload through the stock client over Xet beside the same upload over git-LFS,
and how much of a 1%-modified re-upload reaches the server.

    python bench/xet.py [--size-mib 1024] [--runs 3] [--workers 2] [--change-pct 1] [--tmpdir DIR]

Not part of the test suite. One fresh server (tests.support.live.start_hub, with
MODELHUB_REGULAR_UPLOAD_MAX=1 MiB so that the file is an LFS-mode file), then per run, each with a
new random file (so neither path can skip anything):

  * Xet: HfApi.upload_file in a fresh client process with hf_xet active (HF_HUB_DISABLE_XET unset)
    and an empty HF_HOME (no local chunk cache), timed inside the process around upload_file;
  * LFS: the same file to another repository with HF_HUB_DISABLE_XET=1 (sha256, batch, PUT, verify,
    commit), timed the same way. The order of the two alternates from run to run.

Beside wall time, the CPU seconds of each upload on both sides (the machine is shared, so CPU is
the steadier number): the client process's (process_time around upload_file, hf_xet's threads
included) and the server's (utime + stime of the gunicorn master and workers, from /proc).

Dedup, once per run: --change-pct of the file (one contiguous block in the middle) is rewritten with
new random bytes and uploaded to a third repository by a client with an empty HF_HOME, so that only
the server's global dedup API can spare it the unchanged bytes. Measured: xorb bytes the server
stored for it (every new xorb is also a xorb the client had to send), against the file size.

Everything lives under one tempfile.mkdtemp() that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from benchkit import make_random_file, table, tree_cpu, verdict  # noqa: E402

from tests.support.live import LiveHub, start_hub  # noqa: E402

MiB = 1024 * 1024
SPEED_TARGET = 1.0  # Xet MiB/s / LFS MiB/s
DEDUP_TARGET = 0.05  # bytes moved / file size, for a 1%-modified file

UPLOAD = """
import json, sys, time
from huggingface_hub import HfApi
from huggingface_hub.utils import _runtime
endpoint, token, repo_id, path, want_xet = sys.argv[1:6]
assert _runtime.is_xet_available() == (want_xet == "1"), "unexpected Xet availability"
api = HfApi(endpoint=endpoint, token=token)
t0, c0 = time.perf_counter(), time.process_time()
api.upload_file(path_or_fileobj=path, path_in_repo="weights.bin", repo_id=repo_id)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}))
"""


def modify_middle(path: Path, size: int, pct: float) -> int:
    n = max(1, int(size * pct / 100))
    with open(path, "r+b") as f:
        f.seek(size // 2 - n // 2)
        f.write(os.urandom(n))
    return n


def upload(hub: LiveHub, token: str, repo_id: str, path: Path, home: Path, xet: bool) -> tuple[float, float, float]:
    """(wall seconds, client CPU seconds, server CPU seconds) of one upload."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    os.sync()
    server0 = tree_cpu(hub.proc.pid)
    done = subprocess.run([sys.executable, "-c", UPLOAD, hub.url, token, repo_id, str(path), "1" if xet else "0"],
                          env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"upload ({'xet' if xet else 'lfs'}) failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["seconds"], out["cpu"], tree_cpu(hub.proc.pid) - server0


def download(hub: LiveHub, token: str, repo_id: str, dest: Path, rng: str | None = None) -> float:
    """GET .../resolve/main/weights.bin streamed into dest in 10 MiB blocks; seconds taken."""
    import httpx2

    headers = {"Authorization": f"Bearer {token}"}
    if rng:
        headers["Range"] = rng
    dest.unlink(missing_ok=True)  # truncating the last 1 GiB download inside the timing cost ~0.3 s
    os.sync()
    t0 = time.perf_counter()
    with httpx2.stream("GET", f"{hub.url}/{repo_id}/resolve/main/weights.bin", headers=headers,
                       follow_redirects=True, timeout=600) as r:
        r.raise_for_status()
        with open(dest, "wb") as f:
            for block in r.iter_bytes(10 * MiB):
                f.write(block)
    return time.perf_counter() - t0


def xorb_bytes(hub: LiveHub) -> int:
    root = hub.data_dir / "xet" / "xorbs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix != ".idx")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=3, help="runs; medians are reported (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--change-pct", type=float, default=1.0, help="share of the file rewritten for the dedup run")
    ap.add_argument("--tmpdir", default=None, help="where to create the temp dir (default: the system's)")
    args = ap.parse_args()
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="modelhub-xet-bench-", dir=args.tmpdir))
    xet_s: list[float] = []
    lfs_s: list[float] = []
    cpu: dict[str, list[tuple[float, float]]] = {"xet": [], "lfs": []}  # (client, server) CPU seconds
    dedup: list[float] = []
    dedup_s: list[float] = []
    dl = {"xet": [], "lfs": [], "xet-range": [], "lfs-range": []}
    try:
        need = size * (3 * args.runs + 2)
        if shutil.disk_usage(root).free < need:
            print(f"warning: about {need / MiB:.0f} MiB of free space needed under {root}", flush=True)
        data_dir = root / "server"
        data_dir.mkdir()
        hub = start_hub(data_dir, workers=args.workers, env={"MODELHUB_REGULAR_UPLOAD_MAX": str(MiB)})
        try:
            token = hub.users("bench")[0]
            api = hub.api(token)
            load_before = os.getloadavg()
            for i in range(args.runs):
                src = root / "weights.bin"
                make_random_file(src, size)
                order = ("xet", "lfs") if i % 2 == 0 else ("lfs", "xet")
                for kind in order:
                    rid = f"bench/{kind}-{i}"
                    api.create_repo(rid)
                    seconds, client_cpu, srv_cpu = upload(hub, token, rid, src, root / f"home-{kind}-{i}",
                                                          xet=kind == "xet")
                    (xet_s if kind == "xet" else lfs_s).append(seconds)
                    cpu[kind].append((client_cpu, srv_cpu))
                for kind in (order[1], order[0]):
                    dl[kind].append(download(hub, token, f"bench/{kind}-{i}", root / "dl.bin"))
                    mid = size // 2
                    dl[f"{kind}-range"].append(download(hub, token, f"bench/{kind}-{i}", root / "dl.bin",
                                                        rng=f"bytes={mid}-{mid + MiB - 1}"))
                (root / "dl.bin").unlink()
                changed = modify_middle(src, size, args.change_pct)
                before = xorb_bytes(hub)
                rid = f"bench/dedup-{i}"
                api.create_repo(rid)
                dedup_s.append(upload(hub, token, rid, src, root / f"home-dedup-{i}", xet=True)[0])
                moved = xorb_bytes(hub) - before
                dedup.append(moved / size)
                print(f"run {i + 1}/{args.runs}: xet {size / MiB / xet_s[-1]:.0f} MiB/s "
                      f"(CPU s client {cpu['xet'][-1][0]:.1f}, server {cpu['xet'][-1][1]:.1f}), "
                      f"lfs {size / MiB / lfs_s[-1]:.0f} MiB/s "
                      f"(CPU s client {cpu['lfs'][-1][0]:.1f}, server {cpu['lfs'][-1][1]:.1f}), "
                      f"{args.change_pct:g}%-modified re-upload: "
                      f"{moved / MiB:.1f} MiB stored for {changed / MiB:.1f} MiB changed "
                      f"({moved / size:.2%} of the file) in {dedup_s[-1]:.1f} s", flush=True)
                src.unlink()
            load_after = os.getloadavg()
        finally:
            hub.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mb = args.size_mib
    xet_speed = mb / statistics.median(xet_s)
    lfs_speed = mb / statistics.median(lfs_s)
    ratio = statistics.median(dedup)
    rows = [["metric", "value", "baseline", "ratio", "target"],
            [f"upload {mb} MiB over Xet (median of {args.runs})", f"{xet_speed:.0f} MiB/s",
             f"same upload over LFS {lfs_speed:.0f} MiB/s", f"{xet_speed / lfs_speed:.2f}",
             f">= {SPEED_TARGET} {verdict(xet_speed / lfs_speed >= SPEED_TARGET)}"],
            [f"{args.change_pct:g}%-modified re-upload, bytes moved (median of {args.runs})",
             f"{ratio * size / MiB:.1f} MiB", f"file {mb} MiB", f"{ratio:.4f}",
             f"<= {DEDUP_TARGET} {verdict(ratio <= DEDUP_TARGET)}"],
            [f"{args.change_pct:g}%-modified re-upload, time", f"{statistics.median(dedup_s):.1f} s",
             f"full Xet upload {statistics.median(xet_s):.1f} s",
             f"{statistics.median(dedup_s) / statistics.median(xet_s):.2f}", "(info)"]]
    for side, n in (("client", 0), ("server", 1)):
        xc, lc = (statistics.median(c[n] for c in cpu[k]) for k in ("xet", "lfs"))
        rows.append([f"upload {mb} MiB, {side} CPU seconds (median)", f"{xc:.1f} s", f"over LFS {lc:.1f} s",
                     f"{xc / lc:.2f}" if lc else "-", "(info)"])
    xd, ld = mb / statistics.median(dl["xet"]), mb / statistics.median(dl["lfs"])
    rows.append([f"resolve GET {mb} MiB, Xet-uploaded (rebuilt from xorbs)", f"{xd:.0f} MiB/s",
                 f"LFS-uploaded (sendfile) {ld:.0f} MiB/s", f"{xd / ld:.2f}", "(info)"])
    xr, lr = statistics.median(dl["xet-range"]) * 1000, statistics.median(dl["lfs-range"]) * 1000
    rows.append(["resolve 1 MiB Range in the middle, Xet-uploaded", f"{xr:.1f} ms", f"LFS-uploaded {lr:.1f} ms",
                 f"{xr / lr:.2f}", "(info)"])
    print()
    print(table(rows))
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("warning: other processes were using the CPUs; wall-clock numbers are noisy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
