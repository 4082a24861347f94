"""The git-LFS API: batch, upload (basic transfer), verify and download.

Shared by the HF client (with HF_HUB_DISABLE_XET=1) and git-lfs. Upload and download hrefs carry
their own signed, expiring authorization, because the HF client sends no Authorization header on
the PUT; the signature names the repository, the object, the operation and the holder, who must
still have access when the href is used (models_registry/grants.py). Hrefs expire after an hour.
"""

from __future__ import annotations

from typing import BinaryIO

from flask import Blueprint, Response, current_app, jsonify, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from models_registry.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from models_registry.grants import MAX_TTL, holder_of
from models_registry.names import OID_RE
from models_registry.records import RepoView

from .. import auth
from ..api.common import base_url, drain_body, json_body, repo_type_of, send_blob
from ..request_body import body_stream
from ..wiring import services

bp = Blueprint("lfs", __name__)
LFS_JSON = "application/vnd.git-lfs+json"
HREF_TTL = MAX_TTL
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def href_serializer(secret_key: str) -> URLSafeTimedSerializer:
    """What signs and reads the tokens of transfer hrefs (tests sign with it too)."""
    return URLSafeTimedSerializer(secret_key, salt="lfs-transfer")


def _serializer() -> URLSafeTimedSerializer:
    return href_serializer(current_app.config["SECRET_KEY"])


def _repo_base(repo: RepoView) -> str:
    return f"{base_url()}/{PREFIX[repo.repo_type]}{repo.repo_id}.git/info/lfs/objects"


def _lfs_json(payload: dict, status: int = 200) -> Response:
    resp = jsonify(payload)
    resp.status_code = status
    resp.mimetype = LFS_JSON
    return resp


def _repo(kind: str | None, ns: str, name: str, need: str) -> RepoView:
    p = auth.current()
    if need == "write" and p is None:
        raise Unauthorized("Authentication required to upload")
    return services().registry.repos.get(repo_type_of(kind) if kind else "model", f"{ns}/{name}", p, need=need)


def batch(kind: str | None, ns: str, name: str) -> Response:
    body = json_body()
    operation = body.get("operation")
    objects = body.get("objects")
    if operation not in ("upload", "download") or not isinstance(objects, list) or len(objects) > 1000:
        raise BadRequest("Expected 'operation' (upload or download) and at most 1000 'objects'")
    repo = _repo(kind, ns, name, "read")
    reg = services().registry
    p = auth.current()
    if operation == "upload":
        reg.access.authorize_upload(p, repo)
    else:
        reg.access.authorize_download(p, repo)
    signer = _serializer()
    holder = holder_of(p)
    base = _repo_base(repo)
    out = []
    for obj in objects:
        oid = obj.get("oid") if isinstance(obj, dict) else None
        size = obj.get("size") if isinstance(obj, dict) else None
        if not isinstance(oid, str) or not OID_RE.match(oid) or not isinstance(size, int) or size < 0:
            out.append({"oid": str(oid), "size": size if isinstance(size, int) else 0,
                        "error": {"code": 422, "message": "Invalid object: oid must be a sha256, size an integer"}})
            continue
        known = reg.commits.lfs_object_size(repo, oid)
        entry: dict = {"oid": oid, "size": size, "authenticated": True}
        if operation == "upload":
            if size > reg.settings.max_lfs_object_bytes:
                entry["error"] = {"code": 422, "message": f"Object larger than the limit of "
                                                          f"{reg.settings.max_lfs_object_bytes} bytes"}
            elif known != size:
                token = signer.dumps({"r": repo.id, "o": oid, "s": size, "op": "upload", "h": holder})
                verify_token = signer.dumps({"r": repo.id, "o": oid, "op": "verify", "h": holder})
                entry["actions"] = {
                    "upload": {"href": f"{base}/{oid}?token={token}", "header": {}, "expires_in": HREF_TTL},
                    "verify": {"href": f"{base}/{oid}/verify?token={verify_token}", "header": {},
                               "expires_in": HREF_TTL},
                }
        else:
            if known is None:
                entry["error"] = {"code": 404, "message": "Object does not exist"}
            else:
                entry["size"] = known
                # Always the hub's own signed href, on object storage too (where it answers with
                # a redirect to a presigned URL): access is checked when the link is used, so it
                # dies with its holder's access instead of outliving it for the URL's lifetime.
                token = signer.dumps({"r": repo.id, "o": oid, "op": "download", "h": holder})
                entry["actions"] = {"download": {"href": f"{base}/{oid}?token={token}", "header": {},
                                                 "expires_in": HREF_TTL}}
        out.append(entry)
    return _lfs_json({"transfer": "basic", "objects": out, "hash_algo": "sha256"})


def _check_token(expected_op: str, oid: str) -> dict:
    token = request.args.get("token", "")
    try:
        data = _serializer().loads(token, max_age=HREF_TTL)
    except SignatureExpired:
        raise Forbidden("This transfer link has expired (links last an hour): ask the batch API again") from None
    except BadSignature:
        raise Forbidden("Invalid or missing transfer signature") from None
    if not isinstance(data, dict) or data.get("op") != expected_op or data.get("o") != oid:
        raise Forbidden("This transfer link is for another object")
    return data


# What the holder of an href must still be allowed, per operation.
NEED = {"upload": "upload", "verify": "upload", "download": "download"}


def _repo_of_token(data: dict, ns: str, name: str) -> RepoView:
    """The repository an href was signed for, if its holder still has the access it needs."""
    repo = _repo_by_id(data["r"], ns, name)
    services().registry.grants.check(data.get("h"), repo, NEED[data["op"]])
    return repo


def upload_object(kind: str | None, ns: str, name: str, oid: str) -> Response:
    body: BinaryIO = request.stream
    try:
        data = _check_token("upload", oid)
        reg = services().registry
        repo = _repo_of_token(data, ns, name)
        expected = int(data["s"])
        length = request.content_length
        if length is not None and length != expected:
            raise BadRequest(f"Content-Length {length} does not match the announced size {expected}")
        if expected > reg.settings.max_lfs_object_bytes:
            raise PayloadTooLarge("Object too large")
        body = body_stream(request.environ, request.stream)
        staged = reg.stager.from_stream(body, max_bytes=expected, length=length)
        reg.commits.store_lfs_object(repo, staged, oid, expected)
    except Exception:
        drain_body(body)
        raise
    return Response(status=200)


def _repo_by_id(repo_pk: int, ns: str, name: str) -> RepoView:
    view = services().registry.repos.by_id(repo_pk)
    if view is None or view.repo_id != f"{ns}/{name}":
        raise NotFound("The repository of this transfer link no longer exists (or was renamed)")
    return view


def verify(kind: str | None, ns: str, name: str, oid: str) -> Response:
    # git-lfs sends no credentials to an action it was told is authenticated: the link carries them.
    if request.args.get("token"):
        repo = _repo_of_token(_check_token("verify", oid), ns, name)
    else:
        repo = _repo(kind, ns, name, "write")
    body = json_body()
    size = services().registry.commits.lfs_object_size(repo, oid)
    if size is None or (body.get("size") is not None and body.get("size") != size):
        return _lfs_json({"message": f"Object {oid} was not uploaded (or its size differs)"}, 404)
    return _lfs_json({"oid": oid, "size": size})


def download_object(kind: str | None, ns: str, name: str, oid: str) -> Response:
    if request.args.get("token"):
        repo = _repo_of_token(_check_token("download", oid), ns, name)
    else:
        repo = _repo(kind, ns, name, "read")
    reg = services().registry
    if reg.commits.lfs_object_size(repo, oid) is None:
        raise NotFound("Object does not exist")
    return send_blob(oid, reg.commits.lfs_object_size(repo, oid) or 0, oid)


def locks_verify(kind: str | None, ns: str, name: str) -> Response:
    """We have no file locking; an empty answer keeps git-lfs from warning on every push."""
    if auth.current() is None:
        raise Unauthorized("Authentication required")
    _repo(kind, ns, name, "read")
    return _lfs_json({"ours": [], "theirs": []})


def locks_list(kind: str | None, ns: str, name: str) -> Response:
    _repo(kind, ns, name, "read")
    return _lfs_json({"locks": []})


def _register() -> None:
    """The same views at /{ns}/{name}.git/... (models) and /{datasets|spaces}/{ns}/{name}.git/..."""
    views = [("objects/batch", batch, ["POST"]),
             ("locks/verify", locks_verify, ["POST"]),
             ("locks", locks_list, ["GET"]),
             ("objects/<oid>", upload_object, ["PUT"]),
             ("objects/<oid>", download_object, ["GET"]),
             ("objects/<oid>/verify", verify, ["POST"])]
    for suffix, view, methods in views:
        def model_view(ns: str, name: str, _v=view, **kw):
            return _v(None, ns, name, **kw)

        def typed_view(kind: str, ns: str, name: str, _v=view, **kw):
            return _v(kind, ns, name, **kw)

        endpoint = view.__name__
        bp.add_url_rule(f"/<ns>/<name>.git/info/lfs/{suffix}", endpoint, model_view, methods=methods)
        bp.add_url_rule(f"/<any(datasets,spaces):kind>/<ns>/<name>.git/info/lfs/{suffix}", f"{endpoint}_typed",
                        typed_view, methods=methods)


_register()
