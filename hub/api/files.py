"""Reading files: tree listings, paths-info and downloads (`resolve`)."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from models_registry.errors import BadRequest, EntryNotFound
from models_registry.engagement import WEIGHT_SUFFIXES, counts_as_download
from models_registry.names import validate_path
from models_registry.records import FileEntry

from .. import auth
from ..security_headers import raw_file, raw_mimetype
from ..wiring import services
from .common import base_url, flag, int_arg, iso_epoch, json_body, next_link, raw_path_segments, repo_type_of, send_blob
from .serialize import entry_json, security_json

bp = Blueprint("files", __name__)
KINDS = "<any(models,datasets,spaces):kind>"


@bp.get(f"/api/{KINDS}/<ns>/<name>/tree/<path:_rest>")
def tree(kind: str, ns: str, name: str, _rest: str):
    # /api/{kind}/{ns}/{name}/tree/{rev}[/{path}], rev and path each percent-encoded with safe="".
    segs = raw_path_segments()  # ['', 'api', kind, ns, name, 'tree', rev, *path]
    if len(segs) < 7 or segs[5] != "tree":
        raise BadRequest("Malformed tree URL")
    rev, path = segs[6], "/".join(s for s in segs[7:] if s != "")
    if path:
        validate_path(path)
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    commit = reg.repos.resolve_revision(repo, rev)
    recursive = request.args.get("recursive", "false").lower() in ("1", "true")
    entries = reg.repos.tree(repo, commit, path, recursive)
    page = int(current_app.config["TREE_PAGE_SIZE"])
    start = int_arg("cursor", 0)
    shown = entries[start:start + page]
    xet = reg.xet.file_hashes([e.lfs.oid for e in shown if e.type == "file" and e.lfs])
    resp = jsonify(_expanded(repo, commit, shown, [entry_json(e, xet) for e in shown], flag("expand")))
    if start + page < len(entries):
        resp.headers["Link"] = f'<{next_link(cursor=start + page)}>; rel="next"'
    return resp


@bp.post(f"/api/{KINDS}/<ns>/<name>/paths-info/<path:rev>")
def paths_info(kind: str, ns: str, name: str, rev: str):
    paths = request.form.getlist("paths")
    if not paths and request.is_json:
        paths = json_body(optional=True).get("paths") or []
    if not isinstance(paths, list) or len(paths) > 1000:
        raise BadRequest("'paths' must be a list of at most 1000 paths")
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    commit = reg.repos.resolve_revision(repo, rev)
    for p in paths:
        if p.strip("/"):
            validate_path(p.strip("/"))
    entries = reg.repos.paths_info(repo, commit, paths)
    xet = reg.xet.file_hashes([e.lfs.oid for e in entries if e.type == "file" and e.lfs])
    expand = request.form.get("expand") or (json_body(optional=True).get("expand") if request.is_json else None)
    return jsonify(_expanded(repo, commit, entries, [entry_json(e, xet) for e in entries],
                             str(expand).lower() in ("1", "true")))


def _expanded(repo, commit: str, entries: list[FileEntry], items: list[dict], expand: bool) -> list[dict]:
    """With `expand`, each entry's `lastCommit` (one history walk per page) and each file's
    `securityFileStatus` (one query per page), as the Hub sends them."""
    if not expand:
        return items
    reg = services().registry
    changes = reg.repos.last_changes(repo, commit, [i["path"] for i in items])
    security = reg.scanning.status_of(entries)
    for i in items:
        c = changes.get(i["path"])
        if c is not None:
            i["lastCommit"] = {"id": c.sha, "title": c.title, "date": iso_epoch(c.author_time)}
        if i["path"] in security and i["type"] == "file":
            i["securityFileStatus"] = security_json(security[i["path"]])
    return items


def _resolve(repo_type: str, ns: str, name: str) -> Response:
    # ['', ns, name, 'resolve', rev, *path] (models) or ['', 'datasets', ns, name, 'resolve', ...]
    segs = raw_path_segments()
    i = 3 if repo_type == "model" else 4
    if len(segs) < i + 3 or segs[i] != "resolve":
        raise EntryNotFound("Malformed download URL: expected /resolve/{revision}/{path}")
    rev, path = segs[i + 1], "/".join(segs[i + 2:])
    reg = services().registry
    repo = reg.repos.get(repo_type, f"{ns}/{name}", auth.current())
    try:
        validate_path(path)
    except BadRequest as e:
        raise EntryNotFound(e.message) from None
    reg.access.authorize_download(auth.current(), repo, path)
    f = reg.repos.resolve_file(repo, rev, path)
    filename = path.rsplit("/", 1)[-1]
    xet = reg.xet.file_by_sha256(f.lfs.oid) if f.lfs else None
    if request.method == "GET" and counts_as_fetch(reg, repo, f):
        # Synchronous (a client may read the count right after downloading) but one cheap write.
        reg.engagement.record_download(repo)
    if f.lfs:
        if not reg.blobs.exists(f.lfs.oid):
            raise EntryNotFound(f"The content of {path!r} is missing from storage", commit=f.commit)
        resp = send_blob(f.lfs.oid, f.size, f.etag, download_name=filename)
        resp.headers["X-Linked-Etag"] = f'"{f.etag}"'
        resp.headers["X-Linked-Size"] = str(f.size)
        if xet is not None:  # uploaded through Xet: Xet clients may fetch it from the CAS instead
            resp.headers["X-Xet-Hash"] = xet.file_hash
            # The path rides along: a Xet client fetches the file from the CAS and never GETs it
            # here, so asking for this token is its download (counted there, by the same rule).
            token_url = (f"{base_url()}/api/{repo_type}s/{repo.repo_id}/xet-read-token/{f.commit}"
                         f"?path={quote(path, safe='/')}")
            resp.headers["Link"] = f'<{token_url}>; rel="xet-auth"'
    else:
        data = reg.repos.read_regular(repo, f.blob_sha)
        resp = send_file(io.BytesIO(data), mimetype=raw_mimetype(filename), conditional=True, etag=f.etag,
                         download_name=filename, max_age=0)
    resp.headers["X-Repo-Commit"] = f.commit
    resp.headers["Accept-Ranges"] = "bytes"
    # Active types (HTML, SVG, ...) are attachments whatever was asked: never run in our origin.
    raw_file(resp, filename, download=request.args.get("download") in ("1", "true"))
    resp.headers.pop("Last-Modified", None)
    return resp


def counts_as_fetch(reg, repo, f) -> bool:
    """Whether this request fetches a model by the Hub's rule (not a range read of part of a file)."""
    rng = request.headers.get("Range")
    if rng and rng.replace(" ", "") != "bytes=0-":  # a partial read (header probe, resume) is not a fetch
        return False
    if f.path == "config.json":
        return True
    if not f.path.lower().endswith(WEIGHT_SUFFIXES):
        return False
    has_config = reg.repos.exists_at(repo, f.commit, "config.json")
    return counts_as_download(f.path, has_config)


@bp.route("/<ns>/<name>/resolve/<path:_rest>", methods=["GET", "HEAD"])
def resolve_model(ns: str, name: str, _rest: str):
    return _resolve("model", ns, name)


@bp.route("/<any(datasets,spaces):kind>/<ns>/<name>/resolve/<path:_rest>", methods=["GET", "HEAD"])
def resolve_other(kind: str, ns: str, name: str, _rest: str):
    return _resolve(repo_type_of(kind), ns, name)
