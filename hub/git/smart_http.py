"""git smart HTTP (clone, fetch, push) at the repository's own URL, served by this app.

`git upload-pack` / `git receive-pack` run in stateless-RPC mode, exactly what `git http-backend`
runs, but wired into our authentication. Pushes hold the repository's lock (so they serialize with
API commits), are checked by our pre-receive hook before any ref moves, and then update the
registry like any API commit does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Response, current_app, request
from gunicorn.http.errors import ParseException

from models_registry.errors import BadRequest, Forbidden, NotFound, Unauthorized
from models_registry.permissions import can_write
from models_registry.records import RepoView

from .. import auth
from ..wiring import services
from .pre_receive import CONTEXT_ENV

log = logging.getLogger(__name__)
bp = Blueprint("git", __name__)
SERVICES = {"git-upload-pack": "upload-pack", "git-receive-pack": "receive-pack"}
CHUNK = 64 * 1024


def _pkt_line(text: str) -> bytes:
    data = text.encode()
    return b"%04x" % (len(data) + 4) + data


def _repo(kind: str | None, ns: str, name: str, service: str) -> RepoView:
    if not current_app.config.get("GIT_HTTP", True):
        raise NotFound("git over HTTP is turned off on this hub (MODELHUB_GIT_HTTP=0): use the HTTP API")
    if name.endswith(".git"):
        name = name[:-4]
    p = auth.current()
    repo_type = {"datasets": "dataset", "spaces": "space"}.get(kind or "", "model")
    if service == "git-receive-pack":
        if p is None:
            raise Unauthorized("Authentication required to push: use an access token as the password")
        # Readers may push to their own pull requests; the pre-receive hook decides per ref.
        repo = services().registry.repos.get(repo_type, f"{ns}/{name}", p)
        services().registry.access.authorize_upload(p, repo)
        return repo
    repo = services().registry.repos.get(repo_type, f"{ns}/{name}", p)
    services().registry.access.authorize_download(p, repo)
    return repo


def hooks_dir() -> Path:
    """Our hook scripts, written once per data folder (atomically: several workers may race)."""
    path = Path(current_app.config["DATA_DIR"]) / "git-hooks"
    hook = path / "pre-receive"
    script = f'#!/bin/sh\nexec "{sys.executable}" -m hub.git.pre_receive\n'
    if not hook.exists() or hook.read_text() != script:
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f".pre-receive.{os.getpid()}"
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, hook)
    return path


@functools.cache
def _fsync_objects() -> list[str]:
    """Flush objects before refs name them: `core.fsync=objects` since git 2.36, where the older
    `core.fsyncObjectFiles` makes every push print a deprecation warning to the client."""
    out = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    if m and (int(m[1]), int(m[2])) >= (2, 36):
        return ["-c", "core.fsync=objects"]
    return ["-c", "core.fsyncObjectFiles=true"]


def _git_command(service: str, repo_path: Path, advertise: bool) -> list[str]:
    cfg = [
        "-c", "receive.fsckObjects=true",
        "-c", "receive.fsck.hasDot=error", "-c", "receive.fsck.hasDotdot=error", "-c", "receive.fsck.hasDotgit=error",
        "-c", f"receive.maxInputSize={int(current_app.config['MAX_PUSH_BYTES'])}",
        "-c", "receive.denyNonFastForwards=false", "-c", "receive.denyDeletes=false",
        "-c", "receive.advertisePushOptions=false",
        "-c", f"core.hooksPath={hooks_dir()}",
        "-c", "uploadpack.allowFilter=true",
        "-c", "core.logAllRefUpdates=false",
        *_fsync_objects(),  # as GitRepo's own writes: no ref names an unflushed object
        # A push's automatic gc runs to its end inside the push, under the repository lock (detached,
        # it would pack refs beside other writers, whose lock recovery would take its locks for a
        # dead writer's: models_registry/storage/gitrepo.py).
        "-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false",
    ]
    cmd = ["git", *cfg, SERVICES[service], "--stateless-rpc"]
    if advertise:
        cmd.append("--advertise-refs")
    return [*cmd, str(repo_path)]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proto = request.headers.get("Git-Protocol", "")
    if proto:
        env["GIT_PROTOCOL"] = proto
    env.update(extra or {})
    return env


def info_refs(kind: str | None, ns: str, name: str) -> Response:
    service = request.args.get("service", "")
    if service not in SERVICES:
        raise Forbidden("Only the smart HTTP protocol is supported: use git 1.6.6 or newer")
    repo = _repo(kind, ns, name, service)
    path = services().registry.git.path_for(repo.storage_key)
    proc = subprocess.run(_git_command(service, path, advertise=True), env=_env(), capture_output=True, timeout=60)
    if proc.returncode != 0:
        log.error("git %s --advertise-refs failed: %s", service, proc.stderr.decode(errors="replace"))
        raise NotFound("Repository storage unavailable")
    v2 = "version=2" in request.headers.get("Git-Protocol", "")
    body = proc.stdout if v2 and service == "git-upload-pack" else _pkt_line(f"# service={service}\n") + b"0000" + proc.stdout
    return _no_cache(Response(body, content_type=f"application/x-{service}-advertisement"))


def _no_cache(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-cache, max-age=0, must-revalidate"
    resp.headers["Pragma"] = "no-cache"
    return resp


def _request_chunks() -> Iterator[bytes]:
    """The request body, un-gzipped if the git client compressed it (read from the feeder thread,
    so everything taken from the request context is taken here, before the generator starts)."""
    stream = request.stream
    gz = request.headers.get("Content-Encoding", "").lower() == "gzip"
    return _chunks(stream, zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None)


def _chunks(stream, d) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        yield d.decompress(chunk) if d else chunk
    if d:
        yield d.flush()


def _feed(proc: subprocess.Popen, chunks: Iterator[bytes], errors: list[BaseException]) -> None:
    try:
        for chunk in chunks:
            if chunk:
                proc.stdin.write(chunk)
    except (BrokenPipeError, zlib.error, OSError) as e:  # git stopped reading (it will say why)
        errors.append(e)
    except ParseException as e:  # gunicorn refused the body (a broken chunked encoding)
        errors.append(e)
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass


def upload_pack(kind: str | None, ns: str, name: str) -> Response:
    repo = _repo(kind, ns, name, "git-upload-pack")
    path = services().registry.git.path_for(repo.storage_key)
    proc = subprocess.Popen(_git_command("git-upload-pack", path, advertise=False), env=_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = _Stderr(proc)
    errors: list[BaseException] = []
    feeder = threading.Thread(target=_feed, args=(proc, _request_chunks(), errors), daemon=True)
    feeder.start()
    feeder.join()  # stateless RPC: upload-pack reads the whole request before it answers
    first = proc.stdout.read(CHUNK)
    if not first and proc.wait() != 0:
        # git answered nothing and failed: say why instead of an empty 200. (An empty answer with
        # success is normal: git probes with a flush-only request before a large body.)
        _check_input(errors)
        raise BadRequest(stderr.error("upload-pack"))

    def body() -> Iterator[bytes]:
        try:
            yield first
            while chunk := proc.stdout.read(CHUNK):
                yield chunk
        finally:
            proc.stdout.close()
            proc.wait()

    return _no_cache(Response(body(), content_type="application/x-git-upload-pack-result"))


class _Stderr:
    """Reads a process's stderr on a thread (a chatty git or hook must never block on a full pipe)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self._data = b""
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: subprocess.Popen) -> None:
        self._data = proc.stderr.read()

    def error(self, service: str) -> str:
        self._thread.join(timeout=10)
        text = self._data.decode("utf-8", "replace").strip()
        return f"git {service} refused the request: {text or 'malformed request'}"


def _check_input(errors: list[BaseException]) -> None:
    for e in errors:
        if isinstance(e, zlib.error):
            raise BadRequest(f"Malformed gzip request body: {e}")
        if isinstance(e, ParseException):
            raise BadRequest(f"Malformed request body: {e}")


def receive_pack(kind: str | None, ns: str, name: str) -> Response:
    repo = _repo(kind, ns, name, "git-receive-pack")
    reg = services().registry
    principal = auth.require()
    settings = reg.settings
    ctx = {"repo_pk": repo.id, "default_branch": repo.default_branch, "data_dir": str(settings.data_dir),
           "database_url": settings.database_url, "storage_url": settings.storage_url,
           "s3": dataclasses.asdict(settings.s3), "repos_dir": str(settings.repos_dir),
           "lfs_threshold": settings.lfs_threshold, "allow_force_default": repo.allow_force_push,
           "refuse_dangerous_uploads": settings.refuse_dangerous_uploads,
           "can_write": can_write(principal, repo.namespace),
           "open_prs": services().community.pushable_pr_refs(principal, repo)}
    path = reg.git.path_for(repo.storage_key)
    with reg.git.writing(repo.storage_key) as writer:
        before = writer.refs()
        writer.recover_ref_locks()  # git refuses a ref whose .lock a killed writer left
        proc = subprocess.Popen(_git_command("git-receive-pack", path, advertise=False),
                                env=_env({CONTEXT_ENV: json.dumps(ctx)}),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        errors: list[BaseException] = []
        feeder = threading.Thread(target=_feed, args=(proc, _request_chunks(), errors), daemon=True)
        feeder.start()
        stderr = _Stderr(proc)
        out = proc.stdout.read()
        proc.wait()
        feeder.join()
        if not out and proc.returncode != 0:  # see upload_pack: empty + success is git's probe
            _check_input(errors)
            message = stderr.error("receive-pack")
            log.info("push to %s refused: %s", repo.repo_id, message)
            raise BadRequest(message)
        with reg.git.open(repo.storage_key) as git:
            after = git.refs()
            changed = {ref: (before.get(ref), after.get(ref)) for ref in set(before) | set(after)
                       if before.get(ref) != after.get(ref)}
            if changed:
                reg.commits.after_push(git, repo, changed)
    return _no_cache(Response(out, content_type="application/x-git-receive-pack-result"))


def _register() -> None:
    for suffix, view, methods in (("info/refs", info_refs, ["GET"]),
                                  ("git-upload-pack", upload_pack, ["POST"]),
                                  ("git-receive-pack", receive_pack, ["POST"])):
        def model_view(ns: str, name: str, _v=view):
            return _v(None, ns, name)

        def typed_view(kind: str, ns: str, name: str, _v=view):
            return _v(kind, ns, name)

        endpoint = view.__name__
        bp.add_url_rule(f"/<ns>/<name>/{suffix}", endpoint, model_view, methods=methods)
        bp.add_url_rule(f"/<any(datasets,spaces):kind>/<ns>/<name>/{suffix}", f"{endpoint}_typed", typed_view,
                        methods=methods)


_register()
