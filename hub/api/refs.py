"""Branches, tags, the refs listing, commit history, and the LFS files of a repository."""

from __future__ import annotations

import itertools
from html import escape

from flask import Blueprint, current_app, jsonify, request

from models_registry.errors import BadRequest

from .. import auth
from ..wiring import services
from .common import flag, int_arg, iso, iso_epoch, json_body, next_link, repo_type_of

bp = Blueprint("refs", __name__)
KINDS = "<any(models,datasets,spaces):kind>"


def _writable(kind: str, ns: str, name: str):
    p = auth.require()
    return p, services().registry.repos.get(repo_type_of(kind), f"{ns}/{name}", p, need="write")


@bp.post(f"/api/{KINDS}/<ns>/<name>/branch/<path:branch>")
def create_branch(kind: str, ns: str, name: str, branch: str):
    p, repo = _writable(kind, ns, name)
    body = request.get_json(silent=True) or {}
    start = body.get("startingPoint") if isinstance(body, dict) else None
    if start is not None and not isinstance(start, str):
        raise BadRequest("'startingPoint' must be a revision string")
    services().registry.repos.create_branch(p, repo, branch, start)
    return jsonify({})


@bp.delete(f"/api/{KINDS}/<ns>/<name>/branch/<path:branch>")
def delete_branch(kind: str, ns: str, name: str, branch: str):
    p, repo = _writable(kind, ns, name)
    services().registry.repos.delete_branch(p, repo, branch)
    return jsonify({})


@bp.post(f"/api/{KINDS}/<ns>/<name>/super-squash/<path:branch>")
def super_squash(kind: str, ns: str, name: str, branch: str):
    p, repo = _writable(kind, ns, name)
    message = json_body(optional=True).get("message") or f"Super-squash branch '{branch}'"
    if not isinstance(message, str):
        raise BadRequest("'message' must be a string")
    commit = services().registry.commits.super_squash(p, repo, branch, message)
    return jsonify({"commitOid": commit})


@bp.post(f"/api/{KINDS}/<ns>/<name>/tag/<path:rev>")
def create_tag(kind: str, ns: str, name: str, rev: str):
    p, repo = _writable(kind, ns, name)
    body = json_body()
    tag, message = body.get("tag"), body.get("message")
    if not isinstance(tag, str):
        raise BadRequest("'tag' is required")
    if message is not None and not isinstance(message, str):
        raise BadRequest("'message' must be a string")
    services().registry.repos.create_tag(p, repo, tag, rev, message or None)
    return jsonify({})


@bp.delete(f"/api/{KINDS}/<ns>/<name>/tag/<path:tag>")
def delete_tag(kind: str, ns: str, name: str, tag: str):
    p, repo = _writable(kind, ns, name)
    services().registry.repos.delete_tag(p, repo, tag)
    return jsonify({})


@bp.get(f"/api/{KINDS}/<ns>/<name>/refs")
def refs(kind: str, ns: str, name: str):
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    r = reg.repos.refs(repo)

    def items(refs):
        return [{"name": x.name, "ref": x.ref, "targetCommit": x.target} for x in refs]

    out = {"branches": items(r.branches), "converts": items(r.converts), "tags": items(r.tags)}
    if flag("include_prs"):
        out["pullRequests"] = items(r.pull_requests)
    return jsonify(out)


@bp.get(f"/api/{KINDS}/<ns>/<name>/commits/<path:rev>")
def commits(kind: str, ns: str, name: str, rev: str):
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())
    page = int(current_app.config["PAGE_SIZE"])
    p = int_arg("p", 0, 0, 10**7)
    size = int_arg("limit", page, 1, 1000)
    history = reg.repos.history(repo, rev)
    chunk = list(itertools.islice(history, p * size, (p + 1) * size + 1))
    history.close()
    more = len(chunk) > size
    formatted = "formatted" in request.args.getlist("expand[]") + request.args.getlist("expand")
    out = []
    for c in chunk[:size]:
        body = c.message.split("\n", 1)[1].strip() if "\n" in c.message else ""
        item = {"id": c.sha, "title": c.title, "message": body, "date": iso_epoch(c.author_time),
                "authors": [{"user": c.author_name}]}
        if formatted:
            item["formatted"] = {"title": escape(c.title), "message": escape(body).replace("\n", "<br>")}
        out.append(item)
    resp = jsonify(out)
    if more:
        resp.headers["Link"] = f'<{next_link(p=p + 1)}>; rel="next"'
    return resp


LFS_FILES_PAGE = 1000


@bp.get(f"/api/{KINDS}/<ns>/<name>/lfs-files")
def lfs_files(kind: str, ns: str, name: str):
    """The repository's LFS objects (list_lfs_files), a page at a time through `Link: rel=next`."""
    p, repo = _writable(kind, ns, name)
    files = services().registry.lfs_files.list(p, repo)
    start = int_arg("cursor", 0)
    page = files[start:start + LFS_FILES_PAGE]
    resp = jsonify([{"fileOid": f.oid, "oid": f.oid, "size": f.size, "filename": f.filename, "ref": f.ref,
                     "pushedAt": iso(f.pushed_at)} for f in page])
    if start + LFS_FILES_PAGE < len(files):
        resp.headers["Link"] = f'<{next_link(cursor=start + LFS_FILES_PAGE)}>; rel="next"'
    return resp


@bp.post(f"/api/{KINDS}/<ns>/<name>/lfs-files/batch")
def delete_lfs_files(kind: str, ns: str, name: str):
    """permanently_delete_lfs_files: {"deletions": {"sha": [...], "rewriteHistory": true}}."""
    p, repo = _writable(kind, ns, name)
    deletions = json_body().get("deletions")
    if not isinstance(deletions, dict) or not isinstance(deletions.get("sha"), list):
        raise BadRequest("Expected {\"deletions\": {\"sha\": [LFS object ids], \"rewriteHistory\": true}}")
    moved = services().registry.lfs_files.delete(p, repo, deletions["sha"], deletions.get("rewriteHistory", True) is True)
    return jsonify({"refsRewritten": moved})


@bp.post(f"/api/{KINDS}/<ns>/<name>/lfs-files/duplicate")
def duplicate_lfs_files(kind: str, ns: str, name: str):
    """copy_files across repositories: {"target": {"type", "name"}, "files": [{"sha256", ...}]} on the source."""
    p = auth.require()
    reg = services().registry
    source = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", p)
    body = json_body()
    target, files = body.get("target"), body.get("files")
    if not isinstance(target, dict) or not isinstance(target.get("name"), str) or not isinstance(files, list) \
            or not all(isinstance(f, dict) for f in files):
        raise BadRequest("Expected {\"target\": {\"type\": ..., \"name\": ...}, \"files\": [{\"sha256\": ...}]}")
    target_type = target.get("type") or "model"
    if target_type not in ("model", "dataset", "space"):
        raise BadRequest(f"Unknown repository type {target_type!r}")
    dest = reg.repos.get(target_type, target["name"], p, need="write")
    failed = reg.lfs_files.duplicate(p, source, dest, [f.get("sha256") for f in files])
    return jsonify({"failed": failed})
