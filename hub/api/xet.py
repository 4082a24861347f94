"""Xet: the token endpoints and the CAS API (spec: huggingface/hub-docs docs/xet/api.md, auth.md).

The CAS is served by this same app under ``/xet-cas``: xorb and shard upload, the global dedup
query, the reconstruction API and presigned xorb ranges. Its access tokens last an hour, are signed
with the app's secret and name one repository, a scope (read or write) and their holder; the Hub
token never reaches the CAS endpoints (the client sends only the Xet token there). A presigned
xorb URL names one xorb and the one byte range it grants, which the client must ask for exactly,
and the repository and holder it was issued for. Each use re-checks that the holder may still
read (or upload to) the repository: models_registry/grants.py.
"""

from __future__ import annotations

import re
import time

from flask import Blueprint, Response, current_app, jsonify, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.http import parse_range_header

from models_registry.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, RegistryError, Unauthorized
from models_registry.grants import MAX_TTL, holder_of
from models_registry.records import RepoView
from models_registry.xet import MAX_SHARD_BYTES

from .. import auth
from ..errors import error_response
from ..request_body import body_stream
from ..transfer import send_xorb, xorb_fetch_url
from ..wiring import services
from .common import base_url, drain_body, repo_type_of
from .files import counts_as_fetch

bp = Blueprint("xet", __name__)
CAS_PREFIX = "/xet-cas"
TOKEN_TTL = MAX_TTL  # seconds; clients refresh through the token endpoint
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="xet-cas-token")


def _fetch_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="xet-cas-fetch")


def issue_token(repo: RepoView, scope: str, holder: dict, ttl: int = TOKEN_TTL) -> tuple[str, int]:
    """A CAS token for `scope` on `repo`, naming its `holder` (grants.holder_of)."""
    exp = int(time.time()) + min(ttl, MAX_TTL)
    return _serializer().dumps({"r": repo.id, "s": scope, "e": exp, "h": holder}), exp


# ---- token endpoints (Hub side) --------------------------------------------------------------------

@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-write-token/<path:rev>")
@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-write-token")
def write_token(kind: str, ns: str, name: str, rev: str = "main"):
    p = auth.current()
    if p is None:
        raise Unauthorized("Authentication required for a Xet write token")
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", p)
    # Readers may upload for the pull request they open (create_pr); a branch needs write access.
    reg.access.authorize_upload(p, repo, to_branch=request.args.get("create_pr") not in ("1", "true"))
    return _token_response(repo, "write")


@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-read-token/<path:rev>")
@bp.route("/api/<any(models,datasets,spaces):kind>/<ns>/<name>/xet-read-token")
def read_token(kind: str, ns: str, name: str, rev: str = "main"):
    reg = services().registry
    repo = reg.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current(), need="read")
    reg.access.authorize_download(auth.current(), repo)
    path = request.args.get("path")
    if path and rev:  # the link of a resolve response: a Xet client is about to fetch that file
        try:
            f = reg.repos.resolve_file(repo, rev, path)
        except RegistryError:
            f = None
        if f is not None and counts_as_fetch(reg, repo, f):
            reg.engagement.record_download(repo)
    return _token_response(repo, "read")


def _token_response(repo: RepoView, scope: str) -> Response:
    token, exp = issue_token(repo, scope, holder_of(auth.current()))
    cas = base_url() + CAS_PREFIX
    resp = jsonify({"accessToken": token, "exp": exp, "casUrl": cas})
    resp.headers["X-Xet-Cas-Url"] = cas
    resp.headers["X-Xet-Access-Token"] = token
    resp.headers["X-Xet-Token-Expiration"] = str(exp)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---- CAS ------------------------------------------------------------------------------------------

def _cas_token(scope: str, need: str | None = None) -> tuple[int, dict]:
    """(repository id, holder) of the request's Xet token, which must grant `scope` (401 if invalid
    or expired) and whose holder must still be allowed `need`: by default "upload" for a write
    token (the dedup query is part of an upload), "download" for a read token."""
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        drain_body()
        raise Unauthorized("A Xet access token is required (Authorization: Bearer <token>)")
    try:
        data = _serializer().loads(token.strip())
    except BadSignature:
        drain_body()
        raise Unauthorized("Invalid Xet access token") from None
    if not isinstance(data, dict) or not isinstance(data.get("e"), int) or data["e"] <= time.time():
        drain_body()
        raise Unauthorized("Expired Xet access token: request a new one from the token endpoint")
    if scope == "write" and data.get("s") != "write":
        drain_body()
        raise Forbidden("This Xet token is read-only; uploads need a write token")
    repo = services().registry.repos.by_id(int(data["r"]))
    if repo is None:
        drain_body()
        raise Unauthorized("The repository of this Xet token no longer exists")
    try:
        services().registry.grants.check(data.get("h"), repo, need or ("upload" if data.get("s") == "write" else "download"))
    except RegistryError:
        drain_body()
        raise
    return repo.id, data.get("h") or {}


@bp.post(f"{CAS_PREFIX}/v1/xorbs/<prefix>/<xorb_hash>")
def upload_xorb(prefix: str, xorb_hash: str):
    _cas_token("write")
    if prefix != "default":
        drain_body()
        raise BadRequest(f"Unknown xorb prefix {prefix!r} (expected 'default')")
    body = body_stream(request.environ, request.stream)
    try:
        inserted = services().registry.xet.put_xorb(xorb_hash, body, body_length=request.content_length)
    except RegistryError:
        drain_body(body)  # so that the client reads our answer instead of a reset connection
        raise
    return jsonify({"was_inserted": inserted})


@bp.post(f"{CAS_PREFIX}/v1/shards")
def upload_shard():
    repo_id, _holder = _cas_token("write")
    length = request.content_length
    if length is not None and length > MAX_SHARD_BYTES:
        drain_body()
        raise PayloadTooLarge("Shard exceeds the 64 MiB limit")
    parts, size = [], 0
    while block := request.stream.read(1 << 20):
        parts.append(block)
        size += len(block)
        if size > MAX_SHARD_BYTES:
            drain_body()
            raise PayloadTooLarge("Shard exceeds the 64 MiB limit")
    data = b"".join(parts)
    files = services().registry.xet.register_shard(data, repo_id)
    return jsonify({"result": 1 if files else 0})


@bp.get(f"{CAS_PREFIX}/v1/chunks/<prefix>/<chunk_hash>")
def query_chunk(prefix: str, chunk_hash: str):
    _cas_token("read")
    if prefix not in ("default-merkledb", "default"):
        raise BadRequest(f"Unknown dedup prefix {prefix!r} (expected 'default-merkledb')")
    data = services().registry.xet.dedup_shard(chunk_hash)
    return Response(data, mimetype="application/octet-stream")


@bp.get(f"{CAS_PREFIX}/v1/reconstructions/<file_id>")
def reconstruction(file_id: str):
    """Terms of a file (or of the byte range asked for) and signed URLs for the xorb ranges they need."""
    # Reading files needs the gate passed, whatever the token's scope.
    repo_id, holder = _cas_token("read", need="download")
    reg = services().registry
    if not HASH_RE.match(file_id):
        raise BadRequest(f"Invalid file id {file_id!r}: expected 64 lowercase hex digits")
    row = reg.xet.file(file_id)
    # Only files the token's repository references: knowing a hash is not enough to read it.
    if row is None or not reg.xet.linked(repo_id, row.sha256):
        raise NotFound(f"File {file_id} not found")
    start, end = 0, None
    header = request.headers.get("Range")
    if header:
        parsed = parse_range_header(header)
        if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
            raise BadRequest(f"Malformed Range header {header!r} (expected one range: bytes=start-end)")
        bounds = parsed.range_for_length(row.size)
        if bounds is None:
            return error_response(416, f"Range {header} is outside the file ({row.size} bytes)")
        start, end = bounds[0], bounds[1] - 1
    offset, terms = reg.xet.plan_reconstruction(row, start, end)
    exp = int(time.time()) + TOKEN_TTL
    signer = _fetch_serializer()
    fetch_info: dict[str, list[dict]] = {}
    signed: set[tuple[str, int, int]] = set()
    for t in terms:
        if (t.xorb, t.chunk_start, t.chunk_end) in signed:  # a range repeated within the file
            continue
        signed.add((t.xorb, t.chunk_start, t.chunk_end))
        url = xorb_fetch_url(t.xorb)
        if url is None:
            sig = signer.dumps({"x": t.xorb, "b": [t.byte_start, t.byte_end], "e": exp, "r": repo_id, "h": holder})
            url = f"{base_url()}{CAS_PREFIX}/fetch/{t.xorb}?sig={sig}"
        fetch_info.setdefault(t.xorb, []).append({
            "range": {"start": t.chunk_start, "end": t.chunk_end},
            "url": url,
            "url_range": {"start": t.byte_start, "end": t.byte_end},
        })
    return jsonify({
        "offset_into_first_range": offset,
        "terms": [{"hash": t.xorb, "unpacked_length": t.unpacked_bytes,
                   "range": {"start": t.chunk_start, "end": t.chunk_end}} for t in terms],
        "fetch_info": fetch_info,
    })


@bp.get(f"{CAS_PREFIX}/fetch/<xorb_hash>")
def fetch_xorb_range(xorb_hash: str):
    """A presigned xorb range: the URL names the xorb and the one byte range it grants."""
    try:
        data = _fetch_serializer().loads(request.args.get("sig", ""))
    except BadSignature:
        raise Forbidden("Invalid or missing signature on this xorb URL") from None
    if data.get("x") != xorb_hash:
        raise Forbidden("This URL was not signed for this xorb")
    if data.get("e", 0) <= time.time():
        raise Forbidden("This xorb URL has expired: ask the reconstruction API again")
    repo = services().registry.repos.by_id(data.get("r")) if isinstance(data.get("r"), int) else None
    if repo is None:
        raise Forbidden("The repository this xorb URL was issued for no longer exists")
    services().registry.grants.check(data.get("h"), repo, "download")
    start, end = data["b"]
    if request.headers.get("Range", "").replace(" ", "") != f"bytes={start}-{end}":
        raise Forbidden(f"This URL grants exactly Range: bytes={start}-{end}")
    return send_xorb(xorb_hash)


@bp.route(f"{CAS_PREFIX}/<path:_rest>", methods=["GET", "POST", "PUT"])
def unknown(_rest: str):
    """Other CAS calls (e.g. upload grants, v2 endpoints): 404 makes the client use the v1 API."""
    drain_body()
    raise NotFound(f"This CAS does not provide {request.path}")
