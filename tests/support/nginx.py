"""A real nginx in front of hub nodes, from the deployment's own config (deploy/nginx/modelhub.conf).

`start_nginx(root, backends)` fills in that file's placeholders (listen port, server name, one
`server` line per backend), includes it in a minimal nginx.conf of its own under `root` (pid file,
error and access logs, temp folders: nothing under /etc, /var or /run, so it runs without root and
beside a system nginx) and starts `nginx -p root -c root/nginx.conf -g 'daemon off;'` on a free
loopback port. `reload(backends)` rewrites the upstream servers and reloads it (SIGHUP), as an
operator would; `stop()` stops it.

Without nginx installed (Debian: nginx-light), the test asking for it is skipped, with the reason.
MODELHUB_TEST_NGINX names another binary.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "modelhub.conf"
START_TIMEOUT = 20.0
PLACEHOLDERS = ("@LISTEN@", "@SERVER_NAME@", "@UPSTREAM_SERVERS@")


def find_nginx() -> str | None:
    """The nginx binary: MODELHUB_TEST_NGINX, else PATH, else /usr/sbin (not on a user's PATH)."""
    explicit = os.environ.get("MODELHUB_TEST_NGINX")
    if explicit:
        return explicit
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def render(backends: list[str], port: int, server_name: str = "127.0.0.1") -> str:
    """deploy/nginx/modelhub.conf with its placeholders filled in; backends are `host:port` or URLs."""
    text = TEMPLATE.read_text()
    for placeholder in PLACEHOLDERS:
        assert placeholder in text, f"{TEMPLATE} lost its {placeholder} placeholder"
    servers = "\n    ".join(f"server {_host_port(b)};" for b in backends)
    text = (text.replace("@LISTEN@", f"127.0.0.1:{port}").replace("@SERVER_NAME@", server_name)
            .replace("@UPSTREAM_SERVERS@", servers))
    assert not re.search(r"@[A-Z_]+@", text), "an unfilled placeholder is left"
    return text


def _host_port(backend: str) -> str:
    return backend.split("://", 1)[-1].rstrip("/")


def _main_conf(root: Path) -> str:
    """nginx.conf: what a distribution's main file holds, every path under root, then the site file."""
    temp = root / "temp"
    lines = [
        # A root master would run its workers as `nobody`, which cannot enter pytest's 0700 folders.
        *(["user root;"] if os.geteuid() == 0 else []),
        "worker_processes 1;",
        f"pid {root / 'nginx.pid'};",
        f"error_log {root / 'error.log'} notice;",  # notice: reloads are logged (see reload())
        "events { worker_connections 512; }",
        "http {",
        # Which node served each request (upstream=-: nginx answered itself).
        "    log_format upstream '$remote_addr \"$request\" $status upstream=$upstream_addr';",
        f"    access_log {root / 'access.log'} upstream;",
        *(f"    {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        f"    include {root / 'modelhub.conf'};",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Nginx:
    binary: str
    root: Path
    port: int
    proc: subprocess.Popen
    backends: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def error_log(self) -> str:
        try:
            return (self.root / "error.log").read_text(errors="replace")
        except OSError:
            return "(no error log)"

    def access_log(self) -> str:
        try:
            return (self.root / "access.log").read_text(errors="replace")
        except OSError:
            return ""

    def reload(self, backends: list[str], timeout: float = START_TIMEOUT) -> None:
        """New upstream servers: rewrite the site file, check it (`nginx -t`), SIGHUP the master, and
        return once new workers run it (nginx logs `start worker process` after `reconfiguring`)."""
        (self.root / "modelhub.conf").write_text(render(backends, self.port))
        _check_config(self.binary, self.root)
        seen = len(self.error_log())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            tail = self.error_log()[seen:]
            if "reconfiguring" in tail and "start worker process" in tail.split("reconfiguring", 1)[1]:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not reload:\n{self.error_log()[-3000:]}")
            time.sleep(0.05)
        self.backends = list(backends)

    def stop(self, grace: float = 10.0) -> None:
        """SIGQUIT (finish the requests in progress), then SIGTERM, then SIGKILL."""
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue


def _check_config(binary: str, root: Path) -> None:
    done = subprocess.run([binary, *_global_args(binary, root), "-t", "-q"], capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration:\n{done.stderr}")


def _global_args(binary: str, root: Path) -> list[str]:
    args = ["-p", f"{root}/", "-c", str(root / "nginx.conf")]
    if _version(binary) >= (1, 19, 5):  # -e: the start-up error log too, before the config is read
        args += ["-e", str(root / "error.log")]
    return args


def _version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def start_nginx(root: Path, backends: list[str], port: int | None = None) -> Nginx:
    """nginx on 127.0.0.1:`port` (a free one by default) in front of `backends`; skips the calling
    test if nginx is not installed. A given port that is taken is an error, a chosen one is chosen
    again (a port may be taken between choosing it and binding it)."""
    binary = find_nginx()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light; or set MODELHUB_TEST_NGINX)")
    root.mkdir(parents=True, exist_ok=True)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / "temp" / kind).mkdir(parents=True, exist_ok=True)
    (root / "nginx.conf").write_text(_main_conf(root))
    attempts = 1 if port is not None else 3
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else _free_port()
        (root / "modelhub.conf").write_text(render(backends, chosen))
        _check_config(binary, root)
        log = open(root / "nginx.out", "ab")
        with log:
            proc = subprocess.Popen([binary, *_global_args(binary, root), "-g", "daemon off;"], cwd=root,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = Nginx(binary, root, chosen, proc, list(backends))
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if (root / "nginx.pid").exists() and _accepts(chosen):  # the pid file follows the bind
                return server
            time.sleep(0.05)
        server.stop()
        if attempt == attempts or "Address already in use" not in server.error_log():
            raise RuntimeError(f"nginx did not start on port {chosen}:\n{server.error_log()[-3000:]}")
    raise AssertionError("unreachable")
