"""Likes and gated-access requests, as the HF client (and our pages) call them."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from models_registry.errors import BadRequest, NotFound, RepoNotFound

from .. import auth
from ..limits import MAX_URL_INT
from ..wiring import services
from .common import int_arg, iso, json_body, next_link, repo_type_of

bp = Blueprint("access", __name__)
KINDS = "<any(models,datasets,spaces):kind>"
TYPE_PLURAL = {"model": "models", "dataset": "datasets", "space": "spaces"}


def _repo(kind: str, ns: str, name: str, principal=None):
    return services().registry.repos.get(repo_type_of(kind), f"{ns}/{name}", principal if principal else auth.current())


@bp.post(f"/api/{KINDS}/<ns>/<name>/like")
def like(kind: str, ns: str, name: str):
    p = auth.require()
    services().registry.engagement.like(p, _repo(kind, ns, name, p))
    return jsonify({})


@bp.delete(f"/api/{KINDS}/<ns>/<name>/like")
def unlike(kind: str, ns: str, name: str):
    p = auth.require()
    services().registry.engagement.unlike(p, _repo(kind, ns, name, p))
    return jsonify({})


def _paged(items_fn):
    page = int(current_app.config["PAGE_SIZE"])
    offset = int_arg("offset", 0)
    items = items_fn(offset, page + 1)
    resp_items, more = items[:page], len(items) > page
    return resp_items, more, offset, page


@bp.get(f"/api/{KINDS}/<ns>/<name>/likers")
def likers(kind: str, ns: str, name: str):
    repo = _repo(kind, ns, name)
    items, more, offset, page = _paged(lambda o, n: services().registry.engagement.likers(repo, o, n))
    resp = jsonify([{"user": x.user, "fullname": x.fullname, "avatarUrl": ""} for x in items])
    if more:
        resp.headers["Link"] = f'<{next_link(offset=offset + page)}>; rel="next"'
    return resp


@bp.get("/api/users/<user>/likes")
def user_likes(user: str):
    reg = services().registry
    viewer = auth.current()
    items, more, offset, page = _paged(lambda o, n: reg.engagement.liked_by(user, o, n))
    out = []
    for created, repo_pk in items:
        repo = reg.repos.by_id(repo_pk)
        if repo is None:
            continue
        try:  # only what the viewer may see
            reg.repos.get(repo.repo_type, repo.repo_id, viewer)
        except RepoNotFound:
            continue
        out.append({"createdAt": iso(created), "repo": {"name": repo.repo_id, "type": repo.repo_type}})
    resp = jsonify(out)
    if more:
        resp.headers["Link"] = f'<{next_link(offset=offset + page)}>; rel="next"'
    return resp


# ---- gated access -------------------------------------------------------------------------------
@bp.get(f"/api/{KINDS}/<ns>/<name>/user-access-request/<any(pending,accepted,rejected):status>")
def list_requests(kind: str, ns: str, name: str, status: str):
    p = auth.require()
    reg = services().registry
    repo = _repo(kind, ns, name, p)
    rows = reg.gating.list_requests(p, repo, status)
    return jsonify([{"user": {"user": r.user, "fullname": r.fullname, "email": r.email},
                     "requestId": str(r.id), "status": r.status, "timestamp": iso(r.updated_at),
                     "fields": r.fields} for r in rows])


@bp.post(f"/api/{KINDS}/<ns>/<name>/user-access-request/handle")
def handle_request(kind: str, ns: str, name: str):
    p = auth.require()
    body = json_body()
    repo = _repo(kind, ns, name, p)
    rid = body.get("requestId")
    try:
        rid = int(rid) if rid is not None else None
    except (TypeError, ValueError):
        raise BadRequest("Invalid requestId") from None
    if rid is not None and not 0 < rid <= MAX_URL_INT:
        raise NotFound(f"No access request {rid}")
    reason = body.get("rejectionReason")
    services().registry.gating.handle(p, repo, str(body.get("status")), user=body.get("user"), request_id=rid,
                             reason=reason if isinstance(reason, str) else None)
    return jsonify({})


@bp.post(f"/api/{KINDS}/<ns>/<name>/user-access-request/grant")
def grant(kind: str, ns: str, name: str):
    p = auth.require()
    body = json_body()
    user = body.get("user")
    if not isinstance(user, str):
        raise BadRequest("'user' is required")
    services().registry.gating.grant(p, _repo(kind, ns, name, p), user)
    return jsonify({})


@bp.post(f"/api/{KINDS}/<ns>/<name>/ask-access")
@bp.post("/<ns>/<name>/ask-access")
def ask_access(ns: str, name: str, kind: str = "models"):
    """A user asks for access, answering the card's questions (JSON body or form fields)."""
    p = auth.require()
    repo = _repo(kind, ns, name, p)
    if request.is_json:
        body = json_body()
        answers = body.get("fields", body)
    else:
        answers = request.form.to_dict()
    status = services().registry.gating.request_access(p, repo, answers if isinstance(answers, dict) else {})
    return jsonify({"status": status})
