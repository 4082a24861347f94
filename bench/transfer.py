#!/usr/bin/env python
"""Transfer benchmark: LFS upload and download throughput of a real `modelhub serve`, and server memory.

    python bench/transfer.py [--size-mib 1024] [--runs 3] [--workers 2]
    python bench/transfer.py --small-files [--pairs 400] [--runs 3] [--workers 2]

Not part of the test suite. For each of two file sizes (--size-mib and a quarter of it) it starts a fresh
server (tests.support.live.start_hub, with MODELHUB_REGULAR_UPLOAD_MAX=1 MiB so that the file takes the
LFS path: preupload "lfs" -> LFS batch -> PUT -> verify -> commit), then per run:

  * changes 32 bytes of the random test file (fresh sha256, so the server cannot skip the transfer);
  * baseline: hashlib.sha256 of the file in 1 MiB chunks (what the client does before an LFS upload);
  * upload: HfApi.upload_file with HF_HUB_DISABLE_XET=1, timed end to end, with the time of each
    HTTP phase (from httpx event hooks on the huggingface_hub session);
  * download: hf_hub_download into a fresh cache_dir;
  * baseline: the same bytes from a static sendfile server (bench/static_server.py), and, for
    information, from `python -m http.server`, read with httpx2 streaming in 10 MiB chunks
    (huggingface_hub's DOWNLOAD_CHUNK_SIZE) into a file;
  * for information, the hub's resolve URL read by that same httpx2 code: server against server,
    without huggingface_hub's client in the comparison;
  * for information, huggingface_hub's own single-part LFS PUT of the file (tqdm_stream_file +
    http_backoff, as in huggingface_hub.lfs) to bench/bare_receiver.py, which only receives and
    sha256-hashes the body: the fastest PUT any verifying server can answer on this machine, and
    so the bound of the upload ratio here;
  * each download is timed the second time in a row (see warm_up).

Server memory: the sum of VmHWM (peak RSS) of the gunicorn master and its workers, after the runs,
for both sizes: it should stay flat when the file size grows.

With --small-files, instead: the small requests of a `snapshot_download` (issue #20). One server,
one repository holding a 1 KB `tokenizer_config.json` (a regular git file) and a 1 KB LFS file, and the static
sendfile server serving the same bytes. Per run, for each of the three, --pairs HEAD+GET pairs
(what huggingface_hub does per file: a metadata HEAD, then the GET) over one keep-alive httpx2
connection, in turn (hub regular, hub LFS, static, then the next pair), after 50 untimed pairs each.
Reported: p50/p95/p99 of a pair's wall time, medians over runs, and hub ÷ static (target p95 ≤ 3x).

Everything lives under one tempfile.mkdtemp() that is removed at the end. Exit status 0 unless
something errored (missing a target is reported, not fatal).
"""

from __future__ import annotations

import os
import sys

# Read by huggingface_hub at import time: must be set before the import below.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from benchkit import make_random_file, pct, table, tree_cpu, tree_pids, verdict  # noqa: E402

import httpx2  # noqa: E402
import huggingface_hub  # noqa: E402
from huggingface_hub import HfApi, constants, hf_hub_download  # noqa: E402
from huggingface_hub.utils import _http as hf_http  # noqa: E402
from huggingface_hub.utils import http_backoff, tqdm_stream_file  # noqa: E402

from tests.support.live import LiveHub, free_port, start_hub  # noqa: E402

MiB = 1024 * 1024
FILENAME = "weights.bin"
HASH_CHUNK = 1 << 20  # huggingface_hub.utils.sha.sha_fileobj's chunk
DL_CHUNK = constants.DOWNLOAD_CHUNK_SIZE  # huggingface_hub's http_get chunk (10 MiB)
UPLOAD_TARGET = 0.5
DOWNLOAD_TARGET = 0.8
RSS_FLAT_TARGET = 1.10


# ---------------------------------------------------------------------------------------------
# HTTP phase timing (event hooks on the huggingface_hub session)

class PhaseRecorder:
    """Start (request sent) and end (response headers received) of each request huggingface_hub makes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.starts: dict[int, float] = {}
        self.events: list[tuple[str, float, float]] = []

    def clear(self) -> None:
        with self.lock:
            self.starts.clear()
            self.events.clear()

    def on_request(self, request: httpx2.Request) -> None:
        with self.lock:
            self.starts[id(request)] = time.perf_counter()

    def on_response(self, response: httpx2.Response) -> None:
        end = time.perf_counter()
        req = response.request
        with self.lock:
            start = self.starts.pop(id(req), end)
            self.events.append((_label(req.method, req.url.path), start, end))

    def first(self, label: str) -> tuple[float, float] | None:
        for name, start, end in self.events:
            if name == label:
                return start, end
        return None

    def factory(self) -> httpx2.Client:
        client = hf_http.default_client_factory()
        hooks = client.event_hooks
        client.event_hooks = {"request": [*hooks["request"], self.on_request],
                              "response": [*hooks["response"], self.on_response]}
        return client


def _label(method: str, path: str) -> str:
    if "/preupload/" in path:
        return "preupload"
    if path.endswith("/info/lfs/objects/batch"):
        return "batch"
    if path.endswith("/verify"):
        return "verify"
    if "/info/lfs/objects/" in path and method == "PUT":
        return "put"
    if "/commit/" in path:
        return "commit"
    if "/resolve/" in path:
        return f"resolve-{method.lower()}"
    return f"{method} {path}"


RECORDER = PhaseRecorder()
hf_http.set_client_factory(RECORDER.factory)


# ---------------------------------------------------------------------------------------------
# Files, hashing, baselines

def mutate(path: Path) -> None:
    """A fresh variant: new random bytes at the start of the file, so its sha256 changes."""
    with open(path, "r+b") as f:
        f.write(os.urandom(32))


def sha256_file(path: Path) -> tuple[str, float]:
    t0 = time.perf_counter()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest(), time.perf_counter() - t0


def stream_download(client: httpx2.Client, url: str, dest: Path, headers: dict[str, str] | None = None) -> float:
    """GET url streaming into dest with huggingface_hub's chunk size; seconds taken."""
    t0 = time.perf_counter()
    with client.stream("GET", url, headers=headers, follow_redirects=True) as r:
        r.raise_for_status()
        with open(dest, "wb") as f:
            for chunk in r.iter_bytes(chunk_size=DL_CHUNK):
                f.write(chunk)
    return time.perf_counter() - t0


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bench server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"bench server on port {port} did not start")


def start_bench_server(script: str, *args: str) -> tuple[subprocess.Popen, str]:
    """Start one of bench/'s baseline servers (they print their port first)."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name(script)), *args],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    port = int(proc.stdout.readline().strip())
    _wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def bare_put(url: str, source: Path, digest: str) -> float:
    """huggingface_hub's single-part LFS PUT (huggingface_hub.lfs._upload_single_part) of `source`
    to bench/bare_receiver.py; seconds taken. The receiver answers the sha256 it computed."""
    t0 = time.perf_counter()
    with tqdm_stream_file(source) as f:
        response = http_backoff("PUT", url, data=f)
    took = time.perf_counter() - t0
    response.raise_for_status()
    if response.text != digest:
        raise RuntimeError(f"the bare receiver hashed {response.text!r}, expected {digest}")
    return took


def start_http_server(directory: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                             str(directory), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_port(port, proc)
    return proc, f"http://127.0.0.1:{port}"


def stop_proc(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# Server memory

def server_memory(pid: int) -> list[tuple[int, str, int, int]]:
    """(pid, role, VmHWM bytes, VmRSS bytes) for the server process and all its descendants."""
    pids = tree_pids(pid)
    rows = []
    for p in pids:
        fields = {}
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
        except OSError:
            continue
        kb = lambda k: int(fields.get(k, "0 kB").split()[0]) * 1024  # noqa: E731
        rows.append((p, "master" if p == pid else "worker", kb("VmHWM"), kb("VmRSS")))
    return rows


def idle_memory(hub: LiveHub) -> list[tuple[int, str, int, int]]:
    """Memory once the workers have loaded the app and answered a few requests, and it stopped moving."""
    last = -1
    for _ in range(40):
        for _ in range(4):
            hub.get("/api/health")
        rows = server_memory(hub.proc.pid)
        total = sum(r[3] for r in rows)
        if abs(total - last) < MiB:
            return rows
        last = total
        time.sleep(0.5)
    return rows


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def warm_up(download, output: Path) -> None:
    """One untimed download just like the timed one, then its output deleted.

    Why: on a virtual machine that hands freed memory back to its host, writing a file into the
    page cache costs 2-3x more CPU when the pages come fresh from the host than when they were
    freed moments ago. Without this, whichever download came first after the upload paid for it
    (measured: the same download 6.5 s first, 2.2-3.3 s after); with it, every timed download
    follows a download of the same size, hub and static alike.
    """
    download()
    if output.is_dir():
        shutil.rmtree(output)
    else:
        output.unlink()


def settle() -> None:
    """Start each timed phase from the same state: no dirty pages left over from the previous one."""
    os.sync()


# ---------------------------------------------------------------------------------------------
# One file size

@dataclass
class Run:
    sha256_s: float
    upload_s: float
    upload_phases: dict[str, float]
    hub_dl_s: float
    hub_dl_phases: dict[str, float]
    static_dl_s: float
    http_server_dl_s: float
    # CPU seconds (contention-proof, unlike wall time)
    sha256_cpu: float = 0.0
    upload_client_cpu: float = 0.0
    upload_server_cpu: float = 0.0
    hub_dl_server_cpu: float = 0.0
    static_dl_server_cpu: float = 0.0
    hub_dl_client_cpu: float = 0.0
    static_dl_client_cpu: float = 0.0
    hub_stream_dl_s: float = 0.0  # the hub's resolve URL read by the static download's own code
    bare_put_s: float = 0.0  # the client's PUT to bench/bare_receiver.py


@dataclass
class SizeResult:
    size: int
    runs: list[Run] = field(default_factory=list)
    idle_mem: list[tuple[int, str, int, int]] = field(default_factory=list)
    peak_mem: list[tuple[int, str, int, int]] = field(default_factory=list)

    def mibps(self, attr: str) -> float:
        return statistics.median(self.size / MiB / getattr(r, attr) for r in self.runs)

    def put_mibps(self) -> float:
        return statistics.median(self.size / MiB / r.upload_phases["put"] for r in self.runs)

    def cpu_per_gib(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs) * (1024 * MiB) / self.size

    @property
    def peak_rss(self) -> int:
        return sum(r[2] for r in self.peak_mem)

    @property
    def idle_rss(self) -> int:
        return sum(r[3] for r in self.idle_mem)


def _upload_phases(t0: float, t1: float) -> dict[str, float]:
    ev = {name: (s, e) for name, s, e in reversed(RECORDER.events)}  # first occurrence wins
    missing = [k for k in ("preupload", "batch", "put", "commit") if k not in ev]
    if missing:
        raise RuntimeError(f"upload did not take the LFS path (no {missing} request): {RECORDER.events}")
    phases = {"preupload": ev["preupload"][1] - ev["preupload"][0],
              "hash": ev["batch"][0] - ev["preupload"][1],  # the client's sha256, between the two
              "batch": ev["batch"][1] - ev["batch"][0],
              "put": ev["put"][1] - ev["put"][0]}
    if "verify" in ev:
        phases["verify"] = ev["verify"][1] - ev["verify"][0]
    phases["commit"] = ev["commit"][1] - ev["commit"][0]
    phases["other"] = (t1 - t0) - sum(phases.values())
    return phases


def bench_size(size_mib: int, args: argparse.Namespace, root: Path) -> SizeResult:
    size = size_mib * MiB
    work = root / f"size-{size_mib}"
    (work / "hub-data").mkdir(parents=True)
    src = work / "src"
    src.mkdir()
    source = src / FILENAME
    print(f"\n== {size_mib} MiB: generating the file, starting the server ({args.workers} workers) ...", flush=True)
    make_random_file(source, size)
    result = SizeResult(size)
    hub: LiveHub | None = None
    static = http_server = bare = None
    try:
        env = {"MODELHUB_REGULAR_UPLOAD_MAX": str(1 * MiB)}
        if args.instrument:
            env["MODELHUB_BENCH_INSTRUMENT"] = "1"
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(Path(__file__).with_name("instrument")), str(REPO_ROOT), os.environ.get("PYTHONPATH"))
                if p)
        hub = start_hub(work / "hub-data", workers=args.workers, env=env)
        seen_instr = 0
        token = hub.user("bench")
        api = HfApi(endpoint=hub.url, token=token)
        repo_id = api.create_repo(f"bench/transfer-{size_mib}").repo_id
        result.idle_mem = idle_memory(hub)
        c0, t0 = tree_cpu(hub.proc.pid), time.perf_counter()
        time.sleep(3)
        idle_rate = (tree_cpu(hub.proc.pid) - c0) / (time.perf_counter() - t0)  # heartbeats and the like
        print(f"   idle server CPU: {idle_rate * 1000:.0f} ms/s (subtracted from the CPU figures below)", flush=True)
        static, static_url = start_bench_server("static_server.py", str(src))
        bare, bare_url = start_bench_server("bare_receiver.py")
        http_server, http_server_url = start_http_server(src)
        client = httpx2.Client(timeout=None)
        for i in range(args.runs):
            mutate(source)
            c0 = self_cpu()
            digest, sha_s = sha256_file(source)
            sha_cpu = self_cpu() - c0

            settle()
            RECORDER.clear()
            c0, s0 = self_cpu(), tree_cpu(hub.proc.pid)
            u0 = time.perf_counter()
            api.upload_file(path_or_fileobj=str(source), path_in_repo=FILENAME, repo_id=repo_id,
                            commit_message=f"bench run {i + 1}")
            u1 = time.perf_counter()
            up_client_cpu = self_cpu() - c0
            up_server_cpu = tree_cpu(hub.proc.pid) - s0 - idle_rate * (u1 - u0)
            up_phases = _upload_phases(u0, u1)
            settle()
            bare_s = bare_put(f"{bare_url}/{FILENAME}", source, digest)

            dl: dict = {}

            def hub_dl() -> None:
                cache = work / f"cache-{i}"
                warm_up(lambda: hf_hub_download(repo_id, FILENAME, cache_dir=str(cache), endpoint=hub.url,
                                                token=token), cache)
                settle()
                RECORDER.clear()
                s0, c0 = tree_cpu(hub.proc.pid), self_cpu()
                t0 = time.perf_counter()
                got = hf_hub_download(repo_id, FILENAME, cache_dir=str(cache), endpoint=hub.url, token=token)
                t1 = time.perf_counter()
                dl["client_cpu"] = self_cpu() - c0
                dl["cpu"] = tree_cpu(hub.proc.pid) - s0 - idle_rate * (t1 - t0)
                dl["s"] = t1 - t0
                head, get = RECORDER.first("resolve-head"), RECORDER.first("resolve-get")
                dl["phases"] = {"head": head[1] - head[0] if head else 0.0,
                                "get-headers": get[1] - get[0] if get else 0.0,
                                "body+move": t1 - get[1] if get else 0.0}
                if os.path.getsize(got) != size:
                    raise RuntimeError(f"downloaded {os.path.getsize(got)} bytes, expected {size}")
                if i == 0 and sha256_file(Path(got))[0] != digest:
                    raise RuntimeError("the downloaded file differs from the uploaded one")
                shutil.rmtree(cache)

            def static_dl() -> None:
                dest = work / "static.out"
                warm_up(lambda: stream_download(client, f"{static_url}/{FILENAME}", dest), dest)
                settle()
                s0, c0 = tree_cpu(static.pid), self_cpu()
                dl["static_s"] = stream_download(client, f"{static_url}/{FILENAME}", dest)
                dl["static_cpu"] = tree_cpu(static.pid) - s0
                dl["static_client_cpu"] = self_cpu() - c0
                if dest.stat().st_size != size:
                    raise RuntimeError("static server returned a wrong size")
                dest.unlink()

            def http_server_dl() -> None:
                dest = work / "static.out"
                warm_up(lambda: stream_download(client, f"{http_server_url}/{FILENAME}", dest), dest)
                settle()
                dl["http_server_s"] = stream_download(client, f"{http_server_url}/{FILENAME}", dest)
                dest.unlink()

            def hub_stream_dl() -> None:
                dest = work / "static.out"
                url = f"{hub.url}/{repo_id}/resolve/main/{FILENAME}"

                def fetch() -> float:
                    return stream_download(client, url, dest, {"Authorization": f"Bearer {token}"})

                warm_up(fetch, dest)
                settle()
                dl["hub_stream_s"] = fetch()
                dest.unlink()

            # Alternate the order from run to run, so that drift in machine load favours neither side.
            steps = (hub_dl, static_dl, http_server_dl, hub_stream_dl)
            for step in (steps if i % 2 == 0 else steps[::-1]):
                step()

            run = Run(sha_s, u1 - u0, up_phases, dl["s"], dl["phases"], dl["static_s"], dl["http_server_s"],
                      sha_cpu, up_client_cpu, up_server_cpu, dl["cpu"], dl["static_cpu"], dl["client_cpu"],
                      dl["static_client_cpu"], dl["hub_stream_s"], bare_s)
            result.runs.append(run)
            print(format_run(i + 1, args.runs, size, run), flush=True)
            if args.instrument:
                lines = [line for line in hub.log().splitlines() if line.startswith("BENCH-INSTR")]
                for line in lines[seen_instr:]:
                    print(f"   server {line}", flush=True)
                seen_instr = len(lines)
        client.close()
        result.peak_mem = server_memory(hub.proc.pid)
        for pid, role, hwm, rss in result.peak_mem:
            print(f"   server {role:<6} pid {pid:>7}: peak RSS {hwm / MiB:7.1f} MiB (now {rss / MiB:7.1f} MiB)")
    finally:
        stop_proc(static)
        stop_proc(http_server)
        stop_proc(bare)
        if hub is not None:
            hub.stop()
    shutil.rmtree(work, ignore_errors=True)
    return result


def format_run(i: int, n: int, size: int, r: Run) -> str:
    mb = size / MiB
    up = " ".join(f"{k} {v:.2f}" for k, v in r.upload_phases.items())
    dl = " ".join(f"{k} {v:.2f}" for k, v in r.hub_dl_phases.items())
    return (f"run {i}/{n} {mb:.0f} MiB | sha256 {r.sha256_s:.2f}s {mb / r.sha256_s:.0f} MiB/s"
            f" | upload {r.upload_s:.2f}s {mb / r.upload_s:.0f} MiB/s [{up}]"
            f" | hub download {r.hub_dl_s:.2f}s {mb / r.hub_dl_s:.0f} MiB/s [{dl}]"
            f" | static {r.static_dl_s:.2f}s {mb / r.static_dl_s:.0f} MiB/s"
            f" | http.server {r.http_server_dl_s:.2f}s {mb / r.http_server_dl_s:.0f} MiB/s"
            f" | hub by the static's code {r.hub_stream_dl_s:.2f}s {mb / r.hub_stream_dl_s:.0f} MiB/s"
            f" | PUT to the bare receiver {r.bare_put_s:.2f}s"
            f" | CPU s: sha256 {r.sha256_cpu:.2f}, upload client {r.upload_client_cpu:.2f} server"
            f" {r.upload_server_cpu:.2f}, download server {r.hub_dl_server_cpu:.2f} (client"
            f" {r.hub_dl_client_cpu:.2f}) static {r.static_dl_server_cpu:.2f} (client {r.static_dl_client_cpu:.2f})")


# ---------------------------------------------------------------------------------------------
# Report

def report(results: list[SizeResult], runs: int) -> str:
    rows = [["metric", "value", "baseline", "ratio", "target"]]
    for res in sorted(results, key=lambda r: -r.size):
        mb = res.size // MiB
        up, sha = res.mibps("upload_s"), res.mibps("sha256_s")
        dl, st, hs = res.mibps("hub_dl_s"), res.mibps("static_dl_s"), res.mibps("http_server_dl_s")
        put = res.put_mibps()
        rows.append([f"upload {mb} MiB (median of {runs})", f"{up:.0f} MiB/s", f"client sha256 {sha:.0f} MiB/s",
                     f"{up / sha:.3f}", f">= {UPLOAD_TARGET} {verdict(up / sha >= UPLOAD_TARGET)}"])
        rows.append([f"  of which the PUT alone ({mb} MiB)", f"{put:.0f} MiB/s", f"client sha256 {sha:.0f} MiB/s",
                     f"{put / sha:.2f}", "(info)"])
        bare = res.mibps("bare_put_s")
        rows.append([f"  the same PUT to a bare receiver ({mb} MiB)", f"{bare:.0f} MiB/s",
                     f"client sha256 {sha:.0f} MiB/s", f"{bare / sha:.2f}", "(info: recv + sha256, stores nothing)"])
        bound = statistics.median(res.size / MiB / (r.upload_s - r.upload_phases["put"] + r.bare_put_s)
                                  for r in res.runs)
        rows.append([f"  upload with the bare receiver's PUT ({mb} MiB)", f"{bound:.0f} MiB/s",
                     f"client sha256 {sha:.0f} MiB/s", f"{bound / sha:.3f}", "(info: the bound here)"])
        rows.append([f"download {mb} MiB (median of {runs})", f"{dl:.0f} MiB/s", f"static sendfile {st:.0f} MiB/s",
                     f"{dl / st:.3f}", f">= {DOWNLOAD_TARGET} {verdict(dl / st >= DOWNLOAD_TARGET)}"])
        paired = statistics.median(r.static_dl_s / r.hub_dl_s for r in res.runs)
        rows.append([f"  download {mb} MiB, run by run", "", "the static download next to it",
                     f"{paired:.2f}", "(info: median of the per-run ratios)"])
        rows.append([f"download {mb} MiB vs http.server", f"{dl:.0f} MiB/s", f"python -m http.server {hs:.0f} MiB/s",
                     f"{dl / hs:.2f}", "(info)"])
        hsd = res.mibps("hub_stream_dl_s")
        rows.append([f"  hub read by the static's code ({mb} MiB)", f"{hsd:.0f} MiB/s", f"static sendfile {st:.0f} MiB/s",
                     f"{hsd / st:.2f}", "(info: server vs server)"])
        up_cpu, sha_cpu = res.cpu_per_gib("upload_server_cpu"), res.cpu_per_gib("sha256_cpu")
        rows.append([f"server CPU per GiB uploaded ({mb} MiB)", f"{up_cpu:.2f} s", f"client sha256 {sha_cpu:.2f} s",
                     f"{up_cpu / sha_cpu:.2f}", "(info)"])
        dl_cpu, st_cpu = res.cpu_per_gib("hub_dl_server_cpu"), res.cpu_per_gib("static_dl_server_cpu")
        rows.append([f"server CPU per GiB downloaded ({mb} MiB)", f"{dl_cpu:.2f} s", f"static sendfile {st_cpu:.2f} s",
                     f"{dl_cpu / st_cpu:.2f}" if st_cpu > 0 else "-", "(info)"])
        cl_cpu, cl_st = res.cpu_per_gib("hub_dl_client_cpu"), res.cpu_per_gib("static_dl_client_cpu")
        rows.append([f"client CPU per GiB downloaded ({mb} MiB)", f"{cl_cpu:.2f} s", f"from static {cl_st:.2f} s",
                     f"{cl_cpu / cl_st:.2f}", "(info)"])
    for res in sorted(results, key=lambda r: r.size):
        mb = res.size // MiB
        rows.append([f"server peak RSS, {mb} MiB file", f"{res.peak_rss / MiB:.0f} MiB",
                     f"idle after start {res.idle_rss / MiB:.0f} MiB", f"{res.peak_rss / res.idle_rss:.2f}", "(info)"])
    if len(results) == 2:
        small, big = sorted(results, key=lambda r: r.size)
        ratio = big.peak_rss / small.peak_rss
        rows.append([f"peak RSS growth {small.size // MiB}->{big.size // MiB} MiB", f"{big.peak_rss / MiB:.0f} MiB",
                     f"{small.peak_rss / MiB:.0f} MiB", f"{ratio:.3f}",
                     f"<= {RSS_FLAT_TARGET} (flat) {verdict(ratio <= RSS_FLAT_TARGET)}"])
    return table(rows)


SMALL_TARGET = 3.0  # small-file HEAD+GET p95, hub ÷ static


def bench_small_files(args: argparse.Namespace, root: Path) -> str:
    """HEAD+GET pairs of 1 KB files through the hub's resolve URL, beside the static server."""
    src = root / "small"
    src.mkdir()
    # tokenizer_config.json: a small file that is not a download by the Hub's rule (config.json
    # is: its GET also records one, a write, ~1 ms more).
    config = b'{"model_max_length": 512, "padding_side": "right", "pad": "' + b"x" * 940 + b'"}'
    lfs = os.urandom(1024)
    (src / "tokenizer_config.json").write_bytes(config)
    (src / "tokenizer.model").write_bytes(lfs)
    # A model repository has one; with it, only a GET of config.json counts (tokenizer.model would
    # count as weights without it). Not fetched here.
    (src / "config.json").write_bytes(b'{"architectures": ["BenchModel"]}')
    (root / "hub-data").mkdir()
    hub = start_hub(root / "hub-data", workers=args.workers)
    static = None
    try:
        token = hub.user("bench")
        api = HfApi(endpoint=hub.url, token=token)
        repo_id = api.create_repo("bench/small-files").repo_id
        api.upload_folder(repo_id=repo_id, folder_path=str(src), commit_message="small files")
        info = {s.rfilename: s for s in api.model_info(repo_id, files_metadata=True).siblings}
        if info["tokenizer_config.json"].lfs is not None or info["tokenizer.model"].lfs is None:
            raise RuntimeError("expected tokenizer_config.json in git and tokenizer.model in LFS")
        static, static_url = start_bench_server("static_server.py", str(src))
        targets = {
            "hub, regular file": (f"{hub.url}/{repo_id}/resolve/main/tokenizer_config.json", config,
                                  {"Authorization": f"Bearer {token}"}),
            "hub, LFS file": (f"{hub.url}/{repo_id}/resolve/main/tokenizer.model", lfs, {"Authorization": f"Bearer {token}"}),
            "static server": (f"{static_url}/tokenizer_config.json", config, {}),
        }
        clients = {name: httpx2.Client(timeout=30, follow_redirects=False) for name in targets}

        def pair(name: str) -> float:
            url, body, headers = targets[name]
            c = clients[name]
            t0 = time.perf_counter()
            head = c.head(url, headers=headers)
            got = c.get(url, headers=headers)
            elapsed = time.perf_counter() - t0
            if head.status_code != 200 or got.status_code != 200 or got.content != body:
                raise RuntimeError(f"{name}: HEAD {head.status_code}, GET {got.status_code}")
            return elapsed

        per_run: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
        cpu_per_pair: list[float] = []
        load_before = os.getloadavg()
        for r in range(args.runs):
            for name in targets:
                for _ in range(50):
                    pair(name)
            times: dict[str, list[float]] = {name: [] for name in targets}
            c0 = tree_cpu(hub.proc.pid)
            for _ in range(args.pairs):
                for name in targets:
                    times[name].append(pair(name))
            cpu_per_pair.append((tree_cpu(hub.proc.pid) - c0) / (2 * args.pairs))
            for name, xs in times.items():
                per_run[name].append((pct(xs, 50), pct(xs, 95), pct(xs, 99)))
            print(f"   run {r + 1}/{args.runs}: " + ", ".join(
                f"{name} p50 {pct(xs, 50) * 1000:.1f} ms p95 {pct(xs, 95) * 1000:.1f} ms" for name, xs in times.items()),
                flush=True)
        load_after = os.getloadavg()
    finally:
        stop_proc(static)
        hub.stop()

    def med(name: str, i: int) -> float:
        return statistics.median(run[i] for run in per_run[name])

    rows = [["HEAD+GET pair, ms", "p50", "p95", "p99"]]
    for name in targets:
        rows.append([name] + [f"{med(name, i) * 1000:.2f}" for i in range(3)])
    base = med("static server", 1)
    rows.append(["hub ÷ static at p95, regular file", "", f"{med('hub, regular file', 1) / base:.2f}",
                 verdict(med("hub, regular file", 1) / base <= SMALL_TARGET)])
    rows.append(["hub ÷ static at p95, LFS file", "", f"{med('hub, LFS file', 1) / base:.2f}",
                 verdict(med("hub, LFS file", 1) / base <= SMALL_TARGET)])
    rows.append(["hub CPU per request (both kinds), ms", "", f"{statistics.median(cpu_per_pair) * 1000 / 2:.2f}", ""])
    return (table(rows) + f"\n{args.pairs} pairs per run and target, {args.runs} runs (medians), "
            f"{args.workers} workers; target: p95 ≤ {SMALL_TARGET:g}x the static server\n"
            f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="file size in MiB (default 1024)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size; medians are reported (default 3)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--small-mib", type=int, default=None,
                    help="second size for the memory comparison (default: a quarter of --size-mib)")
    ap.add_argument("--instrument", action="store_true",
                    help="time the phases of the LFS PUT inside the server (bench/instrument/sitecustomize.py)")
    ap.add_argument("--tmpdir", default=None,
                    help="where to create the temp dir (default: the system's; /dev/shm takes the disk out)")
    ap.add_argument("--small-files", action="store_true",
                    help="measure HEAD+GET pairs of 1 KB files instead (the small requests of a snapshot)")
    ap.add_argument("--pairs", type=int, default=400, help="with --small-files: timed pairs per run (default 400)")
    args = ap.parse_args()
    if args.small_files:
        root = Path(tempfile.mkdtemp(prefix="modelhub-bench-small-", dir=args.tmpdir))
        try:
            print(f"huggingface_hub {huggingface_hub.__version__}, {os.cpu_count()} CPUs, temp dir {root}", flush=True)
            print(bench_small_files(args, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return 0
    small = args.small_mib or max(1, args.size_mib // 4)
    sizes = sorted({small, args.size_mib})

    root = Path(tempfile.mkdtemp(prefix="modelhub-bench-", dir=args.tmpdir))
    try:
        free = shutil.disk_usage(root).free
        need = (args.size_mib * MiB) * (args.runs + 4)
        if free < need:
            print(f"warning: {free / MiB:.0f} MiB free under {root}, about {need / MiB:.0f} MiB needed", flush=True)
        print(f"huggingface_hub {huggingface_hub.__version__} with HF_HUB_DISABLE_XET=1, "
              f"{os.cpu_count()} CPUs, temp dir {root}", flush=True)
        load_before = os.getloadavg()
        results = [bench_size(mib, args, root) for mib in sizes]
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(report(results, args.runs))
    print("\nnote: the upload ratio stays under 0.5 by construction: the client hashes the whole file before the"
          " PUT starts (the baseline's time), and the server has to hash the same bytes again as they arrive.")
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs")
    if max(load_before[0], load_after[0]) > 0.5 * (os.cpu_count() or 1):
        print("warning: other processes were using the CPUs; wall-clock numbers are noisy, the CPU-second rows less so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
