"""Start and drive a real ModelHub server in a subprocess."""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from tests.support.seaweed import client_for, fresh_s3_env

_counter = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_database_url(base: str | None) -> str | None:
    """For PostgreSQL: a new database per server, created from the maintenance database."""
    if not base:
        return None
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"mh_test_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@dataclass
class LiveHub:
    url: str
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def host_port(self) -> str:
        return self.url.split("://", 1)[1]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `modelhub ...` against this server's data folder and database."""
        return subprocess.run([sys.executable, "-m", "hub", *args], env=self.env, capture_output=True,
                              text=True, check=check, timeout=120)

    def user(self, name: str, role: str = "write", admin: bool = False) -> str:
        """Create a user (once) and return a token of `role` for it."""
        key = f"{name}:{role}"
        if key not in self.tokens:
            if not any(k.startswith(f"{name}:") for k in self.tokens):
                args = ["users", "create", name, "--password", f"pw-{name}-12345"]
                self.cli(*args, *(["--admin"] if admin else []))
            self.tokens[key] = self.cli("tokens", "create", name, "--role", role).stdout.strip()
        return self.tokens[key]

    def users(self, *specs: str | tuple[str, str]) -> list[str]:
        """Like `user()` for several users at once, in one subprocess (each `modelhub` run costs ~1 s).

        A spec is a name (write token) or a (name, role) pair; returns the tokens in order.
        """
        pairs = [(s, "write") if isinstance(s, str) else (s[0], s[1]) for s in specs]
        todo = []
        for name, role in pairs:
            if f"{name}:{role}" in self.tokens:
                continue
            known = any(k.startswith(f"{name}:") for k in self.tokens) or any(t[0] == name for t in todo)
            todo.append((name, role, not known))
        if todo:
            script = (
                "import json, sys\n"
                "from hub import create_app\n"
                "from hub.wiring import services_of\n"
                "app = create_app({'SEARCH_WORKER': False})  # as the CLI: no background index writer\n"
                "reg = services_of(app).registry\n"
                "out = {}\n"
                "for name, role, create in json.loads(sys.argv[1]):\n"
                "    if create:\n"
                "        reg.accounts.create_user(name, f'pw-{name}-12345')\n"
                "    out[f'{name}:{role}'] = reg.accounts.create_token(name, role=role)\n"
                "reg.close()\n"
                "print(json.dumps(out))\n"
            )
            done = subprocess.run([sys.executable, "-c", script, json.dumps(todo)], env=self.env,
                                  capture_output=True, text=True, check=True, timeout=120)
            self.tokens.update(json.loads(done.stdout.strip().splitlines()[-1]))
        return [self.tokens[f"{name}:{role}"] for name, role in pairs]

    def api(self, token: str | None):
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=token if token is not None else False)

    def get(self, path: str, token: str | None = None, **kw) -> httpx2.Response:
        return self.request("GET", path, token, timeout=60, **kw)

    def request(self, method: str, path: str, token: str | None = None, **kw) -> httpx2.Response:
        """One request to this server; redirects are followed unless `follow_redirects=False` (what
        the tests were written against: requests followed them, httpx2 does not by default)."""
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 120)
        kw.setdefault("follow_redirects", True)
        return httpx2.request(method, self.url + path, headers=headers, **kw)

    def commit_ndjson(self, token: str | None, repo_id: str, body: bytes, rev: str = "main") -> httpx2.Response:
        """POST a raw NDJSON commit body (what huggingface_hub's create_commit sends): for bodies the
        client would never send."""
        return self.request("POST", f"/api/models/{repo_id}/commit/{rev}", token, content=body,
                            headers={"Content-Type": "application/x-ndjson"})

    def raw_commit(self, token: str, repo_id: str, files: dict[str, bytes], summary: str = "raw commit"
                   ) -> httpx2.Response:
        """A commit of inline (base64) files, straight to the NDJSON endpoint."""
        lines = [{"key": "header", "value": {"summary": summary, "description": ""}}]
        for path, data in files.items():
            lines.append({"key": "file", "value": {"content": base64.b64encode(data).decode(), "path": path,
                                                   "encoding": "base64"}})
        return self.commit_ndjson(token, repo_id, "\n".join(json.dumps(x) for x in lines).encode())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def overwrite_lfs_object(self, oid: str, data: bytes) -> None:
        """Replace the stored bytes of LFS object `oid` behind the hub's back (bit rot, tampering),
        on its local disk or in its bucket, at the stores' documented layout `lfs/aa/bb/<oid>`."""
        url = self.env.get("MODELHUB_STORAGE_URL") or local_storage(self.data_dir)["MODELHUB_STORAGE_URL"]
        if url.startswith("s3://"):
            bucket, _, prefix = url.removeprefix("s3://").partition("/")
            client_for(self.env).put_object(Bucket=bucket, Key=f"{prefix.strip('/')}/lfs/{oid[:2]}/{oid[2:4]}/{oid}",
                                            Body=data)
            return
        path = Path(url.removeprefix("file://")) / oid[:2] / oid[2:4] / oid
        assert path.is_file(), path
        path.chmod(0o644)
        path.write_bytes(data)

    def kill(self) -> None:
        """kill -9 of the whole server (master, workers and whatever they started), as a crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def restart(self, workers: int = 2) -> LiveHub:
        """Another server on the same data folder and database (after stop() or kill())."""
        env = {k: v for k, v in self.env.items() if k.startswith("MODELHUB_")}
        return start_hub(self.data_dir, workers=workers, env=env)

    def wait_for_start_up_sweep(self, timeout: float = 60) -> None:
        """Until the `modelhub sweep` that serve starts in the background has ended."""
        deadline = time.monotonic() + timeout
        while any(b"sweep" in _cmdline(pid) for pid in _process_group(self.proc.pid)):
            assert time.monotonic() < deadline, "the start-up sweep did not end"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def local_storage(data_dir: Path) -> dict[str, str]:
    """The default store (files under the data folder), named explicitly: for tests about the
    local layout, which MODELHUB_TEST_S3=1 runs would otherwise point at the bucket."""
    return {"MODELHUB_STORAGE_URL": f"file://{data_dir / 'lfs'}"}


def hub_answer(r: httpx2.Response) -> httpx2.Response:
    """The hub's own response to a request whose redirects were followed: on object storage a
    download ends at the store, but the hub's headers (X-Repo-Commit, ETag, X-Linked-*) are on the
    302 that sent the client there, as on the Hub and its CDN."""
    return r.history[0] if r.history else r


def _process_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def start_hub(data_dir: Path, workers: int = 2, env: dict[str, str] | None = None,
              wrapper: list[str] | None = None) -> LiveHub:
    """A `modelhub serve` on a free port; `wrapper` prefixes the command (strace, for instance)."""
    port = free_port()
    full_env = dict(os.environ)
    full_env.update({"MODELHUB_DATA_DIR": str(data_dir)})
    given = (env or {}).get("MODELHUB_DATABASE_URL")  # a restart on the same database
    db_url = None if given else _fresh_database_url(os.environ.get("MODELHUB_TEST_DATABASE_URL"))
    if db_url:
        full_env["MODELHUB_DATABASE_URL"] = db_url
    if not (env or {}).get("MODELHUB_STORAGE_URL"):  # MODELHUB_TEST_S3=1: a fresh prefix in SeaweedFS
        full_env.update(fresh_s3_env() or {})
    full_env.update(env or {})
    log_path = data_dir / "server.log"
    with open(log_path, "ab") as log:  # the child keeps its own descriptor; a restart appends
        proc = subprocess.Popen(
            [*(wrapper or []), sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    hub = LiveHub(url, data_dir, full_env, proc, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"modelhub serve exited early:\n{hub.log()}")
        try:
            if httpx2.get(url + "/api/health", timeout=2).status_code == 200:
                return hub
        except httpx2.TransportError:  # not up yet (refused, reset), or slow to answer on a busy machine
            pass
        time.sleep(0.2)
    hub.stop()
    raise RuntimeError(f"modelhub serve did not become healthy:\n{hub.log()}")


def start_two_nodes(tmp_path_factory, prefix: str = "node",
                    env: dict[str, str] | None = None) -> tuple[LiveHub, LiveHub]:
    """Two hubs on one database (node b on node a's), each with its own data folder; `env` for both.
    If b does not start, a is stopped before the error goes on."""
    a = start_hub(tmp_path_factory.mktemp(f"{prefix}-a"), env=env)
    try:
        b = start_hub(tmp_path_factory.mktemp(f"{prefix}-b"),
                      env={**(env or {}), "MODELHUB_DATABASE_URL": a.env["MODELHUB_DATABASE_URL"]})
    except BaseException:
        a.stop()
        raise
    return a, b
