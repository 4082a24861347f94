"""On-demand mirroring: the first request for an allowed repository that is not here yet fetches it.

Configured by MODELHUB_MIRROR_UPSTREAM and MODELHUB_MIRROR_ALLOW (see hub/config.py); without both,
nothing here runs. For a request of the HF API (model info, tree, paths-info, refs, commits,
resolve) naming a model that does not exist locally and whose id matches an allow-list pattern:

- a mirror pull starts (`Mirrors.fetch_on_demand`: one at a time per repository, across workers;
  the local repository keeps the upstream's id, its owner is created as a member-less organization);
- a download (`resolve`) of a public, non-gated upstream repository does not wait for it: the file
  is streamed from the upstream to the client and, being an LFS file whose sha256 checks out,
  saved to the blob store on the way (the pull then finds it present and does not fetch it again);
- every other request waits for the pull (MIRROR_WAIT seconds at most, then 503 + Retry-After) and
  is then answered from the local copy, with the local access rules (private, gated).

A repository outside the allow-list is never fetched, nor even looked up upstream: the request
goes on to the ordinary 404. A repository that exists locally always wins.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import Flask, Response, current_app, request

from models_registry.errors import BadRequest
from models_registry.sync.on_demand import allowed

from ..security_headers import raw_file, raw_mimetype
from ..wiring import services
from .common import raw_path_segments

ENDPOINTS = {"repos.info", "files.tree", "files.paths_info", "files.resolve_model", "refs.refs", "refs.commits"}
PASSED_HEADERS = ("X-Repo-Commit", "ETag", "X-Linked-Etag", "X-Linked-Size", "Content-Type", "Content-Length",
                  "Content-Disposition", "Accept-Ranges")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def init_app(app: Flask) -> None:
    if app.config.get("MIRROR_UPSTREAM") and patterns(app.config):
        app.before_request(_on_demand)


def patterns(cfg) -> list[str]:
    return [p.strip() for p in str(cfg.get("MIRROR_ALLOW") or "").split(",") if p.strip()]


def _on_demand() -> Response | None:
    if request.endpoint not in ENDPOINTS:
        return None
    args = request.view_args or {}
    ns, name = args.get("ns"), args.get("name")
    if not ns or not name or args.get("kind", "models") != "models":
        return None  # pull_repository mirrors models
    repo_id = f"{ns}/{name}"
    cfg = current_app.config
    if not allowed(repo_id, patterns(cfg)):
        return None
    mirrors = services().registry.mirrors
    if mirrors.is_ready("model", repo_id):
        return None
    upstream, token = str(cfg["MIRROR_UPSTREAM"]).rstrip("/"), cfg.get("MIRROR_TOKEN") or None
    if request.endpoint == "files.resolve_model" and not request.headers.get("Range"):
        resp = _from_upstream(upstream, token, repo_id)
        if resp is not None:
            mirrors.start_on_demand("model", repo_id, upstream, token)
            return resp
    mirrors.fetch_on_demand("model", repo_id, upstream, token, wait=float(cfg["MIRROR_WAIT"]))
    return None  # the repository is here now: the view answers from the local copy


def _from_upstream(upstream: str, token: str | None, repo_id: str) -> Response | None:
    """The upstream's answer for this download, streamed (and saved if it is an LFS file), or None
    when the request must wait for the pull (private or gated upstream, or an upstream error)."""
    from models_registry.sync.upstream import Remote, SyncError

    segs = raw_path_segments()  # ['', ns, name, 'resolve', rev, *path]
    if len(segs) < 6 or segs[3] != "resolve":
        return None
    rev, path = segs[4], "/".join(segs[5:])
    remote = Remote(upstream, repo_id, token)
    try:
        info = remote.model_info()
        if info.get("private") or info.get("gated"):
            remote.close()
            return None
        url = f"{remote.url}/{repo_id}/resolve/{quote(rev, safe='')}/{quote(path)}"
        if request.method == "HEAD":
            head = remote.request("HEAD", url, follow_redirects=False)
            remote.close()
            if head.status_code not in (200, 302):
                return None
            resp = Response(status=200)
            _pass_headers(head.headers, resp, path)
            if head.status_code == 302 and head.headers.get("X-Linked-Size"):
                resp.headers["Content-Length"] = head.headers["X-Linked-Size"]
            return resp
        stream = remote.stream_get(url, {**remote.auth(), "accept-encoding": "identity"})  # bytes as stored
        upstream_resp = stream.__enter__()
    except SyncError:
        remote.close()
        return None
    if upstream_resp.status_code != 200:
        stream.__exit__(None, None, None)
        remote.close()
        return None
    oid = (upstream_resp.headers.get("X-Linked-Etag") or "").strip('"').removeprefix("W/").strip('"')
    reg = services().registry
    writer = reg.stager.writer() if SHA256.match(oid) else None

    def body():
        complete = False
        try:
            for chunk in upstream_resp.iter_bytes(1024 * 1024):
                if writer is not None:
                    writer.write(chunk)
                yield chunk
            complete = True
        finally:
            stream.__exit__(None, None, None)
            remote.close()
            if writer is not None:
                if complete:
                    _keep(reg, writer.finish(), oid)
                else:
                    writer.abort()

    resp = Response(body(), status=200, direct_passthrough=True)
    _pass_headers(upstream_resp.headers, resp, path)
    return resp


def _pass_headers(headers, resp: Response, path: str) -> None:
    """The upstream's download headers, but our own type and disposition rules for raw bytes
    (an upstream's text/html or inline SVG must not run here)."""
    for name in PASSED_HEADERS:
        if headers.get(name) is not None:
            resp.headers[name] = headers[name]
    filename = path.rsplit("/", 1)[-1]
    resp.mimetype = raw_mimetype(filename)
    raw_file(resp, filename, download=request.args.get("download") in ("1", "true"))


def _keep(reg, staged, oid: str) -> None:
    """Store a streamed LFS file whose bytes hash to the oid the upstream announced; else drop it."""
    try:
        reg.commits.store_lfs_object(None, staged, oid, None)
    except BadRequest:
        pass  # not what the upstream announced: store_lfs_object discarded it
