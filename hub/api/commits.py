"""Uploads: preupload (regular or LFS?) and the NDJSON commit endpoint."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from models_registry.commits import AddFile, AddLfsRef, DeletePath, Operation
from models_registry.errors import BadRequest
from models_registry.names import validate_path

from .. import auth
from ..errors import header_safe
from ..wiring import services
from .common import drain_body, flag, json_body, repo_type_of, repo_url
from .ndjson import parse_commit_body

bp = Blueprint("commits", __name__)
KINDS = "<any(models,datasets,spaces):kind>"
MAX_PREUPLOAD_FILES = 1000


@bp.post(f"/api/{KINDS}/<ns>/<name>/preupload/<path:rev>")
def preupload(kind: str, ns: str, name: str, rev: str):
    p = auth.require()
    reg = services().registry
    repo = _repo_for_commit(kind, ns, name, rev, p)
    body = json_body()
    files = body.get("files")
    gitignore = body.get("gitIgnore")  # the .gitignore the same commit brings, sent by the client
    if gitignore is not None and not isinstance(gitignore, str):
        raise BadRequest("'gitIgnore' must be the text of a .gitignore file")
    if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
        raise BadRequest(f"'files' must be a list of at most {MAX_PREUPLOAD_FILES} entries")
    commit = reg.repos.resolve_revision(repo, rev)
    paths = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str) or not isinstance(f.get("size", 0), int):
            raise BadRequest("Each file needs a 'path' (string) and a 'size' (integer)")
        paths.append(validate_path(f["path"]))
    existing = {e.path: e for e in reg.repos.paths_info(repo, commit, paths) if e.type == "file"}
    rules = reg.commits.upload_rules(repo, commit, gitignore)
    lfs_sha1 = reg.commits.lfs_sha1([e.lfs.oid for e in existing.values() if e.lfs])
    out = []
    for f in files:
        mode = rules.mode(f["path"], f.get("size", 0))
        e = existing.get(f["path"])
        oid = None
        if e is not None:
            if mode == "lfs":
                oid = e.lfs.oid if e.lfs else None
            else:  # the client compares the git sha1 of its content for inline uploads
                oid = lfs_sha1.get(e.lfs.oid) if e.lfs else e.oid
        out.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": rules.ignored(f["path"]), "oid": oid})
    return jsonify({"files": out, "commitOid": commit})


@bp.post(f"/api/{KINDS}/<ns>/<name>/commit/<path:rev>")
def commit(kind: str, ns: str, name: str, rev: str):
    p = auth.require()
    reg = services().registry
    repo = _repo_for_commit(kind, ns, name, rev, p)
    ops: list[Operation] = []
    try:
        header = _read_operations(reg, ops)
        summary = header.get("summary")
        description = header.get("description") or ""
        parent = header.get("parentCommit")
        if not isinstance(summary, str) or not isinstance(description, str):
            raise BadRequest("'summary' and 'description' must be strings")
        if parent is not None and not isinstance(parent, str):
            raise BadRequest("'parentCommit' must be a string")
        result, pr = services().community.commit_or_open_pr(p, repo, rev, ops, summary, description, flag("create_pr"),
                                                   parent_commit=parent)
    except Exception:
        # Read what the client is still sending, so that it gets our error instead of a broken pipe.
        drain_body()
        raise
    finally:
        for op in ops:
            if isinstance(op, AddFile):
                op.staged.discard()
    url = repo_url(repo.repo_type, repo.repo_id)
    out = {"success": True, "commitOid": result.sha, "commitUrl": f"{url}/commit/{result.sha}",
           "hookOutput": "", "warnings": result.warnings}
    if pr is not None:
        out["pullRequestUrl"] = f"{url}/discussions/{pr.num}"
    resp = jsonify(out)
    for i, w in enumerate(result.warnings):
        resp.headers.add("X-HF-Warning", f"model-card-{i}; README.md metadata: {header_safe(w)}")
    return resp


def _repo_for_commit(kind: str, ns: str, name: str, rev: str, p):
    """The repository, if `p` may commit to `rev` (or, with create_pr, propose a pull request on it)."""
    return services().community.repo_for_commit(p, repo_type_of(kind), f"{ns}/{name}", rev, flag("create_pr"))


def _read_operations(reg, ops: list[Operation]) -> dict:
    """Parse the NDJSON body into `ops` (staged files included); returns the header."""
    header: dict | None = None
    for line in parse_commit_body(request.stream, reg.stager, reg.settings.max_commit_bytes):
        v = line.value
        try:
            if line.key == "header":
                if header is not None:
                    raise BadRequest("Two header lines in one commit")
                header = v
            elif header is None:
                raise BadRequest("The first NDJSON line must be the header")
            elif line.key == "file":
                if line.staged is None:
                    raise BadRequest(f"File line without content: {v.get('path')!r}")
                if v.get("encoding", "base64") != "base64":
                    raise BadRequest("Only base64 file content is supported")
                ops.append(AddFile(_path(v), line.staged))
                continue
            elif line.key == "lfsFile":
                if v.get("algo", "sha256") != "sha256":
                    raise BadRequest("LFS objects are addressed by sha256 only")
                size = v.get("size")
                if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
                    raise BadRequest("lfsFile 'size' must be a non-negative integer")
                ops.append(AddLfsRef(_path(v), str(v.get("oid")), size))
            elif line.key == "deletedFile":
                ops.append(DeletePath(_path(v)))
            elif line.key == "deletedFolder":
                ops.append(DeletePath(_path(v).rstrip("/"), folder=True))
            else:
                raise BadRequest(f"Unknown commit operation {line.key!r}")
        except BaseException:
            if line.staged:
                line.staged.discard()
            raise
        if line.staged:  # content on a line that takes none
            line.staged.discard()
    if header is None:
        raise BadRequest("Empty commit body: expected a header line")
    return header


def _path(v: dict) -> str:
    path = v.get("path")
    if not isinstance(path, str):
        raise BadRequest("Each operation needs a 'path' string")
    return path
