"""Discussions and pull requests as the HF client speaks them, plus moderation and notifications."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from community.service import EventView
from models_registry.errors import NotFound
from models_registry.rendering import render_markdown

from .. import auth
from ..limits import MAX_URL_INT
from ..search_writer import viewer_namespaces
from ..wiring import services
from .common import int_arg, iso, json_body, repo_type_of, repo_url

bp = Blueprint("discussions", __name__)
BASE = "/api/<any(models,datasets,spaces):kind>/<ns>/<name>/discussions"


def _repo(kind: str, ns: str, name: str):
    return services().registry.repos.get(repo_type_of(kind), f"{ns}/{name}", auth.current())


def _event_id(text: str) -> int:
    try:
        eid = int(text[:32], 16)
    except ValueError:
        eid = None
    if eid is None or not 0 < eid <= MAX_URL_INT:  # past the column: no such comment (not an overflow)
        raise NotFound(f"No comment {text[:100]!r}")
    return eid


def _user(name: str | None) -> dict:
    return {"name": name, "type": "user", "fullname": name, "avatarUrl": ""}


def event_json(e: EventView, repo) -> dict:
    out: dict = {"id": f"{e.id:024x}", "type": e.type, "createdAt": iso(e.created_at)}
    if e.author:
        out["author"] = _user(e.author)
    if e.type == "comment":
        if e.hidden and e.body is None:
            raw, html = "", f"<p><em>This comment has been hidden{': ' + e.hidden_reason if e.hidden_reason else ''}</em></p>"
        else:
            raw = e.body or ""
            html = render_markdown(raw, repo_path=f"/{repo.repo_id}", strip_front_matter=False, mentions=True)
        latest = {"raw": raw, "html": html, "updatedAt": iso(e.updated_at)}
        if e.author:
            latest["author"] = _user(e.author)
        out["data"] = {"edited": e.edited, "hidden": e.hidden, "hiddenReason": e.hidden_reason,
                       "pendingReview": e.pending_review, "latest": latest, "numEdits": len(e.history),
                       "history": [{"raw": h["body"], "updatedAt": iso(h["at"])} for h in e.history],
                       "reactions": e.reactions}
    else:
        out["data"] = e.data
    return out


def discussion_json(d, repo, with_details: bool = False) -> dict:
    out = {"num": d.num, "title": d.title, "status": d.status, "createdAt": iso(d.created_at),
           "isPullRequest": d.is_pull_request, "pinned": d.pinned, "locked": d.locked,
           "numComments": d.num_comments, "repo": {"name": repo.repo_id, "type": repo.repo_type}}
    if d.author:  # absent (never null) means a deleted user, as the client expects
        out["author"] = _user(d.author)
    if with_details:
        out["events"] = [event_json(e, repo) for e in d.events]
        if d.is_pull_request:
            out["changes"] = {"base": f"refs/heads/{d.target_branch or repo.default_branch}"}
            if d.merge_commit:
                out["changes"]["mergeCommitId"] = d.merge_commit
            out["gitReference"] = d.git_ref
    return out


@bp.get(BASE)
def list_discussions(kind: str, ns: str, name: str):
    repo = _repo(kind, ns, name)
    page = int_arg("p", 0, 0, 100_000)
    text = request.args.get("search", "").strip()
    nums = None
    if text:
        p = auth.current()
        nums = [h["num"] for h in services().search.discussions(repo.id, text, viewer_namespaces(p))]
    items, count, start = services().community.list(
        auth.current(), repo, page=page, kind=request.args.get("type", "all"),
        status=request.args.get("status", "all"), author=request.args.get("author") or None, nums=nums)
    return jsonify({"discussions": [discussion_json(d, repo) for d in items], "count": count, "start": start})


@bp.post(BASE)
def create_discussion(kind: str, ns: str, name: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body()
    d = services().community.create(p, repo, body.get("title"), body.get("description"), bool(body.get("pullRequest")),
                           target_branch=body.get("targetBranch") or None)
    return jsonify({**discussion_json(d, repo), "url": f"{repo_url(repo.repo_type, repo.repo_id)}/discussions/{d.num}"})


@bp.get(f"{BASE}/<int:num>")
def details(kind: str, ns: str, name: str, num: int):
    repo = _repo(kind, ns, name)
    d = services().community.details(auth.current(), repo, num)
    out = discussion_json(d, repo, with_details=True)
    if d.is_pull_request:
        changed, text, conflicts = services().community.diff(repo, num)
        out["filesWithConflicts"] = conflicts
        out["filesChanged"] = [{"path": c.path, "status": c.status} for c in changed]
        if request.args.get("diff", "1") not in ("0", "false"):
            out["diff"] = text
    return jsonify(out)


def _mutation(key: str, event: EventView, repo) -> Response:
    return jsonify({key: event_json(event, repo)})


@bp.post(f"{BASE}/<int:num>/comment")
def comment(kind: str, ns: str, name: str, num: int):
    p = auth.require()
    repo = _repo(kind, ns, name)
    return _mutation("newMessage", services().community.comment(p, repo, num, json_body().get("comment")), repo)


@bp.post(f"{BASE}/<int:num>/title")
def rename(kind: str, ns: str, name: str, num: int):
    p = auth.require()
    repo = _repo(kind, ns, name)
    return _mutation("newTitle", services().community.rename(p, repo, num, json_body().get("title")), repo)


@bp.post(f"{BASE}/<int:num>/status")
def status(kind: str, ns: str, name: str, num: int):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body()
    return _mutation("newStatus", services().community.change_status(p, repo, num, body.get("status"), body.get("comment")),
                     repo)


@bp.post(f"{BASE}/<int:num>/merge")
def merge(kind: str, ns: str, name: str, num: int):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body(optional=True)
    sha = services().community.merge(p, repo, num, (body or {}).get("comment") if isinstance(body, dict) else None)
    return jsonify({"mergeCommitId": sha})


@bp.post(f"{BASE}/<int:num>/comment/<cid>/edit")
def edit_comment(kind: str, ns: str, name: str, num: int, cid: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    return _mutation("updatedComment",
                     services().community.edit_comment(p, repo, num, _event_id(cid), json_body().get("content")), repo)


@bp.post(f"{BASE}/<int:num>/comment/<cid>/<any(hide,unhide):action>")
def hide_comment(kind: str, ns: str, name: str, num: int, cid: str, action: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body(optional=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    return _mutation("updatedComment", services().community.hide_comment(p, repo, num, _event_id(cid), reason,
                                                                hidden=action == "hide"), repo)


@bp.post(f"{BASE}/<int:num>/comment/<cid>/react")
def react(kind: str, ns: str, name: str, num: int, cid: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    return _mutation("updatedComment",
                     services().community.react(p, repo, num, _event_id(cid), json_body().get("reaction")), repo)


@bp.post(f"{BASE}/<int:num>/comment/<cid>/approve")
def approve(kind: str, ns: str, name: str, num: int, cid: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    return _mutation("updatedComment", services().community.approve(p, repo, num, _event_id(cid)), repo)


@bp.post(f"{BASE}/<int:num>/<any(lock,unlock,pin,unpin):action>")
def flags(kind: str, ns: str, name: str, num: int, action: str):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body(optional=True)
    flag = "locked" if action in ("lock", "unlock") else "pinned"
    d = services().community.set_flag(p, repo, num, flag, action in ("lock", "pin"),
                             body.get("reason") if isinstance(body, dict) else None)
    return jsonify(discussion_json(d, repo))


@bp.post(f"{BASE}/<int:num>/report")
def report(kind: str, ns: str, name: str, num: int):
    p = auth.require()
    repo = _repo(kind, ns, name)
    body = json_body()
    cid = body.get("commentId")
    rid = services().community.report(p, repo, num, _event_id(str(cid)) if cid else None, body.get("reason"))
    return jsonify({"reportId": rid})


# ---- moderation ----------------------------------------------------------------------------------
@bp.get("/api/moderation/queue")
def queue():
    items = services().community.queue(auth.require(), request.args.get("status", "open"))
    return jsonify([{**i, "createdAt": iso(i["createdAt"]),
                     "eventId": f"{i['eventId']:024x}" if i["eventId"] else None} for i in items])


@bp.post("/api/moderation/reports/<int:report_id>/resolve")
def resolve(report_id: int):
    body = json_body(optional=True)
    services().community.resolve_report(auth.require(), report_id, body.get("resolution"), bool(body.get("dismiss")))
    return jsonify({})


@bp.get("/api/moderation/log")
def audit_log():
    p = auth.require()
    repo = None
    if request.args.get("repo"):
        repo = services().registry.repos.get(request.args.get("type", "model"), request.args["repo"], p)
    rows = services().community.audit_log(p, repo=repo, actor=request.args.get("actor") or None,
                                 action=request.args.get("action") or None, limit=int_arg("limit", 100, 1, 500),
                                 offset=int_arg("offset", 0))
    return jsonify([{**r, "createdAt": iso(r["createdAt"])} for r in rows])


@bp.post("/api/users/<username>/<any(suspend,unsuspend):action>")
def suspend(username: str, action: str):
    body = json_body(optional=True)
    services().community.suspend(auth.require(), username, body.get("reason") if isinstance(body, dict) else None,
                        suspended=action == "suspend")
    return jsonify({})


# ---- notifications ------------------------------------------------------------------------------
@bp.get("/api/notifications")
def notifications():
    rows = services().community.notifications(auth.require(), unread_only=request.args.get("unread") in ("1", "true"),
                                     limit=int_arg("limit", 50, 1, 200))
    return jsonify([{**r, "createdAt": iso(r["createdAt"])} for r in rows])


@bp.post("/api/notifications/<int:nid>/read")
def read_one(nid: int):
    return jsonify({"updated": services().community.mark_read(auth.require(), nid)})


@bp.post("/api/notifications/read-all")
def read_all():
    return jsonify({"updated": services().community.mark_read(auth.require(), None)})
