#!/usr/bin/env python
"""Storage benchmark: LFS downloads and uploads of a hub on S3 (SeaweedFS) against the store itself
and against a hub on local disk, and server memory.

    python bench/storage.py [--size-mib 1024] [--runs 3] [--workers 2] [--small-mib N] [--tmpdir DIR]
                            [--weed-gomemlimit 2GiB]

Not part of the test suite. One SeaweedFS (tests.support.seaweed.start_seaweed) serves the whole run.
For each of two file sizes (--size-mib and, by default, a quarter of it) three fresh servers
(tests.support.live.start_hub, `modelhub serve` under gunicorn, MODELHUB_REGULAR_UPLOAD_MAX=1 MiB so
the file takes the git-LFS path) are started:

  * "s3-redirect": MODELHUB_STORAGE_URL=s3://BUCKET/bench-<size>, MODELHUB_S3_REDIRECT=1;
  * "s3-proxy":    the same bucket and prefix (so the very same object), MODELHUB_S3_REDIRECT=0;
  * "local":       default storage (file:// under its data folder).

Per run, on a file whose first 32 bytes change (a new sha256, so nothing can be skipped):

  * upload: HfApi.upload_file with HF_HUB_DISABLE_XET=1 (as bench/transfer.py) to the s3-redirect
    hub and to the local hub, in alternating order; the local one is the baseline. The same upload to
    the s3-proxy hub follows, untimed (it registers the object in that hub's database; the store
    already holds the bytes, so the hub does not send them again);
  * for information: boto3's upload_file of the same file straight to SeaweedFS with the transfer
    settings the hub uses (models_registry/storage/s3.py): the store's own write speed here;
  * download: one untimed GET through the s3-proxy hub hashes the body (checks the bytes, and puts
    the object in the page cache of SeaweedFS's volume files for all three timed reads), then, in an
    order that rotates from run to run, each streamed into /dev/null by the same httpx2 code in
    10 MiB chunks (huggingface_hub's chunk size), bytes counted:
      - the hub's resolve URL on the s3-redirect hub, the 302 followed (both requests in the time);
      - the hub's resolve URL on the s3-proxy hub (the hub reads the object from S3 and streams it);
      - the object's presigned URL, straight from SeaweedFS: the baseline;
  * CPU seconds of the hubs, of SeaweedFS and of this process during each transfer (information).

Server memory: the sum of VmHWM (peak RSS) of each hub's gunicorn master and workers after the runs,
for both sizes: it should stay flat when the file grows.

Everything lives under one tempfile.mkdtemp() that is removed at the end. Exit status 0 unless
something errored (a missed target is printed, not fatal).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# bench/transfer.py sets HF_HUB_DISABLE_XET before huggingface_hub is imported, and installs the HTTP
# phase recorder on huggingface_hub's session; its helpers are reused as they are.
import transfer  # noqa: I001  (bench/ is sys.path[0] when this script runs)
from transfer import (RECORDER, DL_CHUNK, MiB, _upload_phases, idle_memory, mutate,
                      server_memory, settle, sha256_file)
from benchkit import make_random_file, table, tree_cpu, verdict

import httpx2
import huggingface_hub
from huggingface_hub import HfApi

from tests.support.live import LiveHub, start_hub
from tests.support.seaweed import S3Server, start_seaweed

FILENAME = transfer.FILENAME
REDIRECT_TARGET = 0.95
PROXY_TARGET = 0.8
UPLOAD_TARGET = 0.8
RSS_FLAT_TARGET = transfer.RSS_FLAT_TARGET
HUBS = ("s3-redirect", "s3-proxy", "local")
DOWNLOADS = ("redirect", "proxied", "direct")


# ---------------------------------------------------------------------------------------------
# Transfers

def timed_get(client: httpx2.Client, url: str, headers: dict[str, str] | None = None) -> tuple[float, int, int]:
    """GET url (redirects followed) streamed into /dev/null in huggingface_hub's chunk size:
    (seconds, body bytes, number of redirects). The same code for all three downloads."""
    n = 0
    t0 = time.perf_counter()
    with client.stream("GET", url, headers=headers, follow_redirects=True) as r, open(os.devnull, "wb") as sink:
        r.raise_for_status()
        for chunk in r.iter_bytes(chunk_size=DL_CHUNK):
            sink.write(chunk)
            n += len(chunk)
        hops = len(r.history)
    return time.perf_counter() - t0, n, hops


def hashed_get(client: httpx2.Client, url: str, headers: dict[str, str] | None = None) -> str:
    """sha256 of the body of url (untimed check of what a hub serves)."""
    h = hashlib.sha256()
    with client.stream("GET", url, headers=headers, follow_redirects=True) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(chunk_size=DL_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds of this process, of each hub's process tree and of SeaweedFS across one transfer,
    the idle rate of each server (heartbeats, weed's own chatter) subtracted."""

    def __init__(self, hubs: dict[str, LiveHub], weed: S3Server, idle: dict[str, float]) -> None:
        self.pids = {name: hub.proc.pid for name, hub in hubs.items()} | {"weed": weed.proc.pid}
        self.idle = idle

    def snapshot(self) -> dict[str, float]:
        return {name: tree_cpu(pid) for name, pid in self.pids.items()} | {"client": self_cpu(),
                                                                           "wall": time.perf_counter()}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.snapshot()
        wall = now["wall"] - before["wall"]
        return {k: now[k] - before[k] - self.idle.get(k, 0.0) * wall for k in now if k != "wall"}


def measure_idle(pids: dict[str, int], seconds: float = 3.0) -> dict[str, float]:
    c0, t0 = {k: tree_cpu(p) for k, p in pids.items()}, time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    return {k: (tree_cpu(p) - c0[k]) / wall for k, p in pids.items()}


# ---------------------------------------------------------------------------------------------
# One file size

@dataclass
class Run:
    upload_s: dict[str, float]  # "s3", "local"
    put_s: dict[str, float]  # the PUT phase alone
    upload_cpu: dict[str, float]  # server CPU of the upload, per hub
    upload_weed_cpu: dict[str, float]  # SeaweedFS's CPU during each upload ("s3", "local", "boto3")
    boto3_put_s: float  # boto3 upload_file straight to SeaweedFS
    boto3_client_cpu: float  # this process's CPU during that upload
    download_s: dict[str, float]  # DOWNLOADS
    download_cpu: dict[str, dict[str, float]]  # per download: {"hub", "weed", "client"}


@dataclass
class SizeResult:
    size: int
    runs: list[Run] = field(default_factory=list)
    idle_mem: dict[str, list] = field(default_factory=dict)
    peak_mem: dict[str, list] = field(default_factory=dict)
    weed_hwm: int = 0

    def rates(self, pick) -> list[float]:
        return [self.size / MiB / pick(r) for r in self.runs]

    def peak_rss(self, hub: str) -> int:
        return sum(row[2] for row in self.peak_mem[hub])

    def idle_rss(self, hub: str) -> int:
        return sum(row[3] for row in self.idle_mem[hub])


def proc_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def upload(api: HfApi, repo_id: str, source: Path, message: str) -> tuple[float, float]:
    """HfApi.upload_file, end to end: (seconds, seconds of the PUT phase)."""
    settle()
    RECORDER.clear()
    t0 = time.perf_counter()
    api.upload_file(path_or_fileobj=str(source), path_in_repo=FILENAME, repo_id=repo_id, commit_message=message)
    t1 = time.perf_counter()
    return t1 - t0, _upload_phases(t0, t1)["put"]


def bench_size(size_mib: int, args: argparse.Namespace, root: Path, weed: S3Server) -> SizeResult:
    from boto3.s3.transfer import TransferConfig

    from models_registry.storage.s3 import PART_SIZE

    size = size_mib * MiB
    work = root / f"size-{size_mib}"
    src = work / "src"
    src.mkdir(parents=True)
    source = src / FILENAME
    prefix = f"bench-{size_mib}"
    print(f"\n== {size_mib} MiB: generating the file, starting three hubs ({args.workers} workers each) ...",
          flush=True)
    make_random_file(source, size)
    result = SizeResult(size)
    s3 = weed.client()
    boto3_config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE, max_concurrency=4,
                                  use_threads=True)  # what S3Objects.put_file uses
    base_env = {"MODELHUB_REGULAR_UPLOAD_MAX": str(1 * MiB)}
    envs = {"s3-redirect": base_env | weed.env(prefix) | {"MODELHUB_S3_REDIRECT": "1"},
            "s3-proxy": base_env | weed.env(prefix) | {"MODELHUB_S3_REDIRECT": "0"},
            "local": base_env | {"MODELHUB_STORAGE_URL": f"file://{work / 'hub-local' / 'lfs'}"}}
    hubs: dict[str, LiveHub] = {}
    try:
        for name in HUBS:
            (work / f"hub-{name}").mkdir()
            hubs[name] = start_hub(work / f"hub-{name}", workers=args.workers, env=envs[name])
        apis, repos, tokens = {}, {}, {}
        for name, hub in hubs.items():
            tokens[name] = hub.user("bench")
            apis[name] = HfApi(endpoint=hub.url, token=tokens[name])
            repos[name] = apis[name].create_repo(f"bench/storage-{size_mib}").repo_id
        for name, hub in hubs.items():
            result.idle_mem[name] = idle_memory(hub)
            hub.wait_for_start_up_sweep()
        idle = measure_idle({name: hub.proc.pid for name, hub in hubs.items()} | {"weed": weed.proc.pid})
        print("   idle CPU (subtracted below): " + ", ".join(f"{k} {v * 1000:.0f} ms/s" for k, v in idle.items()),
              flush=True)
        meter = CpuMeter(hubs, weed, idle)
        client = httpx2.Client(timeout=None)
        urls = {name: f"{hubs[name].url}/{repos[name]}/resolve/main/{FILENAME}" for name in hubs}
        auth = {name: {"Authorization": f"Bearer {tokens[name]}"} for name in hubs}
        for i in range(args.runs):
            mutate(source)
            digest, _ = sha256_file(source)
            key = f"{prefix}/lfs/{digest[:2]}/{digest[2:4]}/{digest}"

            # ---- uploads: S3 hub and local hub, alternating order; then the s3-proxy hub (untimed)
            up_s, put_s, up_cpu, up_weed = {}, {}, {}, {}
            order = ("s3-redirect", "local") if i % 2 == 0 else ("local", "s3-redirect")
            for name in order:
                c0 = meter.snapshot()
                took, put = upload(apis[name], repos[name], source, f"bench run {i + 1}")
                label = "local" if name == "local" else "s3"
                up_s[label], put_s[label] = took, put
                cpu = meter.since(c0)
                up_cpu[label], up_weed[label] = cpu[name], cpu["weed"]
            upload(apis["s3-proxy"], repos["s3-proxy"], source, f"bench run {i + 1}")
            stored = s3.head_object(Bucket=weed.bucket, Key=key)["ContentLength"]
            if stored != size:
                raise RuntimeError(f"SeaweedFS holds {stored} bytes under {key}, expected {size}")

            # ---- the store's own write speed (information), into a key of its own, deleted after
            settle()
            c0 = meter.snapshot()
            t0 = time.perf_counter()
            s3.upload_file(str(source), weed.bucket, f"bench-boto3/{digest}", Config=boto3_config)
            boto3_s = time.perf_counter() - t0
            cpu = meter.since(c0)
            up_weed["boto3"], boto3_client_cpu = cpu["weed"], cpu["client"]
            s3.delete_object(Bucket=weed.bucket, Key=f"bench-boto3/{digest}")

            # ---- downloads
            direct_url = s3.generate_presigned_url("get_object", Params={"Bucket": weed.bucket, "Key": key},
                                                   ExpiresIn=3600)
            got = hashed_get(client, urls["s3-proxy"], auth["s3-proxy"])  # check + page cache, untimed
            if got != digest:
                raise RuntimeError(f"the proxied download hashes to {got}, expected {digest}")
            fetch = {"redirect": lambda: timed_get(client, urls["s3-redirect"], auth["s3-redirect"]),
                     "proxied": lambda: timed_get(client, urls["s3-proxy"], auth["s3-proxy"]),
                     "direct": lambda: timed_get(client, direct_url)}
            hub_of = {"redirect": "s3-redirect", "proxied": "s3-proxy", "direct": None}
            dl_s, dl_cpu = {}, {}
            for kind in DOWNLOADS[i % 3:] + DOWNLOADS[:i % 3]:
                settle()
                c0 = meter.snapshot()
                took, n, hops = fetch[kind]()
                cpu = meter.since(c0)
                if n != size:
                    raise RuntimeError(f"{kind} download returned {n} bytes, expected {size}")
                if hops != (1 if kind == "redirect" else 0):
                    raise RuntimeError(f"{kind} download followed {hops} redirects")
                dl_s[kind] = took
                dl_cpu[kind] = {"hub": cpu[hub_of[kind]] if hub_of[kind] else 0.0, "weed": cpu["weed"],
                                "client": cpu["client"]}
            run = Run(up_s, put_s, up_cpu, up_weed, boto3_s, boto3_client_cpu, dl_s, dl_cpu)
            result.runs.append(run)
            print(format_run(i + 1, args.runs, size, run), flush=True)
        client.close()
        for name, hub in hubs.items():
            result.peak_mem[name] = server_memory(hub.proc.pid)
            print(f"   {name:<11} hub: peak RSS {result.peak_rss(name) / MiB:6.0f} MiB (master + workers: "
                  + ", ".join(f"{hwm / MiB:.0f}" for _, _, hwm, _ in result.peak_mem[name]) + ")", flush=True)
        result.weed_hwm = proc_hwm(weed.proc.pid)
    finally:
        for hub in hubs.values():
            hub.stop()
    shutil.rmtree(work, ignore_errors=True)
    return result


def format_run(i: int, n: int, size: int, r: Run) -> str:
    mb = size / MiB
    dl = " ".join(f"{k} {r.download_s[k]:.2f}s {mb / r.download_s[k]:.0f} MiB/s" for k in DOWNLOADS)
    cpu = " ".join(f"{k} hub {c['hub']:.2f} weed {c['weed']:.2f} client {c['client']:.2f};"
                   for k, c in r.download_cpu.items())
    return (f"run {i}/{n} {mb:.0f} MiB | download: {dl}"
            f" | upload: s3 {r.upload_s['s3']:.2f}s (PUT {r.put_s['s3']:.2f}s) local {r.upload_s['local']:.2f}s"
            f" (PUT {r.put_s['local']:.2f}s), boto3 straight to the store {r.boto3_put_s:.2f}s"
            f" | CPU s: upload s3 hub {r.upload_cpu['s3']:.2f} weed {r.upload_weed_cpu['s3']:.2f},"
            f" local hub {r.upload_cpu['local']:.2f}, boto3 client {r.boto3_client_cpu:.2f} weed"
            f" {r.upload_weed_cpu['boto3']:.2f};"
            f" download {cpu}")


# ---------------------------------------------------------------------------------------------
# Report

def spread(rates: list[float]) -> str:
    return f"{statistics.median(rates):.0f} MiB/s ({min(rates):.0f}-{max(rates):.0f})"


def report(results: list[SizeResult], runs: int) -> str:
    rows = [["metric", "median (min-max)", "baseline, median", "ratio", "target"]]
    for res in sorted(results, key=lambda r: -r.size):
        mb = res.size // MiB
        direct = res.rates(lambda r: r.download_s["direct"])
        rows.append([f"direct GET from SeaweedFS, {mb} MiB (median of {runs})", spread(direct), "(baseline)", "", ""])
        for kind, target, label in (("redirect", REDIRECT_TARGET, "hub with redirect (302 followed)"),
                                    ("proxied", PROXY_TARGET, "hub proxying")):
            rates = res.rates(lambda r, k=kind: r.download_s[k])
            ratio = statistics.median(rates) / statistics.median(direct)
            rows.append([f"download via {label}, {mb} MiB", spread(rates),
                         f"direct {statistics.median(direct):.0f} MiB/s", f"{ratio:.3f}",
                         f">= {target} {verdict(ratio >= target)}"])
            paired = statistics.median(r.download_s["direct"] / r.download_s[kind] for r in res.runs)
            rows.append([f"  {kind}/direct, run by run", "", "", f"{paired:.2f}", "(info: median of the runs' ratios)"])
        s3_up, local_up = res.rates(lambda r: r.upload_s["s3"]), res.rates(lambda r: r.upload_s["local"])
        ratio = statistics.median(s3_up) / statistics.median(local_up)
        rows.append([f"upload to the S3 hub, {mb} MiB", spread(s3_up), f"local hub {statistics.median(local_up):.0f} MiB/s",
                     f"{ratio:.3f}", f">= {UPLOAD_TARGET} {verdict(ratio >= UPLOAD_TARGET)}"])
        rows.append([f"upload to the local-disk hub, {mb} MiB", spread(local_up), "(baseline)", "", ""])
        s3_put, local_put = res.rates(lambda r: r.put_s["s3"]), res.rates(lambda r: r.put_s["local"])
        rows.append([f"  the PUT alone, S3 hub, {mb} MiB", spread(s3_put),
                     f"local hub's PUT {statistics.median(local_put):.0f} MiB/s",
                     f"{statistics.median(s3_put) / statistics.median(local_put):.2f}", "(info)"])
        b3 = res.rates(lambda r: r.boto3_put_s)
        rows.append([f"  boto3 upload_file straight to SeaweedFS, {mb} MiB", spread(b3), "", "",
                     "(info: the store's write speed)"])
        gib = (1024 * MiB) / res.size
        for kind in ("proxied", "redirect", "direct"):
            hub = statistics.median(r.download_cpu[kind]["hub"] for r in res.runs) * gib
            wd = statistics.median(r.download_cpu[kind]["weed"] for r in res.runs) * gib
            cl = statistics.median(r.download_cpu[kind]["client"] for r in res.runs) * gib
            rows.append([f"  CPU s per GiB, {kind} download, {mb} MiB", f"hub {hub:.2f}, weed {wd:.2f}, client {cl:.2f}",
                         "", "", "(info)"])
        for label in ("s3", "local"):
            cpu = statistics.median(r.upload_cpu[label] for r in res.runs) * gib
            wd = statistics.median(r.upload_weed_cpu[label] for r in res.runs) * gib
            rows.append([f"  CPU s per GiB, upload to the {label} hub, {mb} MiB", f"hub {cpu:.2f}, weed {wd:.2f}", "", "",
                         "(info)"])
        b3c = statistics.median(r.boto3_client_cpu for r in res.runs) * gib
        b3w = statistics.median(r.upload_weed_cpu["boto3"] for r in res.runs) * gib
        rows.append([f"  CPU s per GiB, boto3 upload_file to SeaweedFS, {mb} MiB", f"client {b3c:.2f}, weed {b3w:.2f}", "",
                     "", "(info)"])
    for name in HUBS:
        for res in sorted(results, key=lambda r: r.size):
            rows.append([f"peak RSS, {name} hub, {res.size // MiB} MiB file", f"{res.peak_rss(name) / MiB:.0f} MiB",
                         f"idle after start {res.idle_rss(name) / MiB:.0f} MiB",
                         f"{res.peak_rss(name) / res.idle_rss(name):.2f}", "(info)"])
        if len(results) == 2:
            small, big = sorted(results, key=lambda r: r.size)
            ratio = big.peak_rss(name) / small.peak_rss(name)
            rows.append([f"  growth {small.size // MiB} -> {big.size // MiB} MiB, {name} hub",
                         f"{big.peak_rss(name) / MiB:.0f} MiB", f"{small.peak_rss(name) / MiB:.0f} MiB", f"{ratio:.3f}",
                         f"<= {RSS_FLAT_TARGET} (flat) {verdict(ratio <= RSS_FLAT_TARGET)}"])
    rows.append(["SeaweedFS (weed) peak RSS, whole run", f"{max(r.weed_hwm for r in results) / MiB:.0f} MiB", "", "",
                 "(info)"])
    return table(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size; medians are reported (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per hub (default 2)")
    ap.add_argument("--small-mib", type=int, default=None,
                    help="second size for the memory comparison (default: a quarter of --size-mib)")
    ap.add_argument("--tmpdir", default=None, help="where to create the temp dir (default: the system's)")
    ap.add_argument("--weed-gomemlimit", default="2GiB",
                    help="GOMEMLIMIT of SeaweedFS (default 2GiB; the test harness's own default, 256MiB, keeps "
                         "CI's memory free but makes weed's GC take 2-3x the CPU per transferred byte)")
    args = ap.parse_args()
    small = args.small_mib or max(1, args.size_mib // 4)
    sizes = sorted({small, args.size_mib})
    os.environ.pop("MODELHUB_TEST_S3", None)  # the hubs' storage is set here, not by the test harness
    os.environ["GOMEMLIMIT"] = args.weed_gomemlimit  # start_seaweed keeps a GOMEMLIMIT it is given

    root = Path(tempfile.mkdtemp(prefix="modelhub-bench-storage-", dir=args.tmpdir))
    weed = None
    try:
        free = shutil.disk_usage(root).free
        need = args.size_mib * MiB * (2 * args.runs + 6)
        if free < need:
            print(f"warning: {free / MiB:.0f} MiB free under {root}, about {need / MiB:.0f} MiB needed", flush=True)
        print(f"huggingface_hub {huggingface_hub.__version__} with HF_HUB_DISABLE_XET=1, "
              f"{os.cpu_count()} CPUs, temp dir {root}; starting SeaweedFS ...", flush=True)
        weed = start_seaweed(root / "seaweed")
        print(f"   SeaweedFS S3 at {weed.endpoint} (GOMEMLIMIT={args.weed_gomemlimit})", flush=True)
        load_before = os.getloadavg()
        results = [bench_size(mib, args, root, weed) for mib in sizes]
        load_after = os.getloadavg()
    finally:
        if weed is not None:
            weed.stop()
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(report(results, args.runs))
    print(f"\nload average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("warning: other processes were using the CPUs; wall-clock numbers are noisy, the CPU-second rows less so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
