"""Pages: the community tab (discussions and pull requests), moderation and the notification inbox.

Reading goes through community.service; every change is a POST form (CSRF-checked for all web_*
blueprints) that redirects back (post/redirect/get). A refusal for lack of rights answers the 403
page; every other domain error (bad input, wrong state, rate limit, conflict) is flashed as an error
on the page the user comes back to, and a refused comment's text is kept for the next form.
"""

from __future__ import annotations

from typing import Any

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from community import policy
from community.service import REACTIONS, RateLimited
from models_registry.errors import Forbidden, RegistryError
from models_registry.permissions import can_write
from models_registry.rendering import render_markdown

from .. import auth
from ..limits import MAX_URL_INT
from ..localize import localize
from ..search_writer import viewer_namespaces
from ..wiring import services
from .accounts import login_required
from .helpers import safe_next
from .forms import CommentForm, DiscussionForm
from .pages import int_param, load_repo

bp = Blueprint("web_community", __name__)

REPO = "/<ns>/<name>/discussions"
ONE = REPO + "/<int:num>"
COMMENT = ONE + "/comments/<int:eid>"
MAX_DRAFT_BYTES = 1500  # a refused comment is kept in the (cookie) session, if small enough
LOG_PAGE = 50
TYPE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}

REACTION_NAMES = {"👍": _l("thumbs up"), "👎": _l("thumbs down"), "❤️": _l("heart"), "🎉": _l("party"),
                  "😄": _l("laugh"), "😕": _l("confused"), "🚀": _l("rocket"), "👀": _l("eyes"),
                  "🤗": _l("hugging face"), "🔥": _l("fire")}
LOG_ACTIONS = {"hide_comment": _l("Hid a comment"), "unhide_comment": _l("Unhid a comment"),
               "lock": _l("Locked"), "unlock": _l("Unlocked"), "pin": _l("Pinned"), "unpin": _l("Unpinned"),
               "resolve_report": _l("Resolved a report"), "dismiss_report": _l("Dismissed a report"),
               "approve_post": _l("Approved a post"), "suspend": _l("Suspended a user"),
               "unsuspend": _l("Lifted a suspension")}


def _page_size() -> int:
    return max(1, min(int(current_app.config.get("PAGE_SIZE", 25)), 25))


def _nav(repo, p) -> dict[str, Any]:
    """What the repository header needs (as pages.model passes it)."""
    return {"repo": repo, "tab": "community", "is_maintainer": can_write(p, repo.namespace),
            "open_discussions": services().community.list(p, repo, status="open", page_size=1)[1]}


def _discussion_url(repo, num: int, anchor: str | None = None) -> str:
    return f"/{TYPE_PREFIX[repo.repo_type]}{repo.repo_id}/discussions/{num}" + (f"#{anchor}" if anchor else "")


def _back(default: str) -> str:
    """Where an action returns to: a same-site `next` field if the form has one, else `default`."""
    target = request.form.get("next")
    return safe_next(target) if target else default


def _see_other(url: str):
    return redirect(url, code=303)


def _run(action, back: str, success: str | None = None):
    """Do `action`; then redirect to `back`, with `success` or the error flashed.

    Forbidden is not flashed: a form that was never offered (forged, or stale) gets the 403 page."""
    try:
        action()
    except Forbidden:
        raise
    except RegistryError as e:  # BadRequest, NotFound, Conflict, RateLimited ...
        flash(localize(e.message), "error")
    else:
        if success:
            flash(success, "success")
    return _see_other(back)


def _keep_draft(repo, num: int, text: str) -> None:
    if text and len(text.encode()) <= MAX_DRAFT_BYTES:
        session["comment_draft"] = {"key": f"{repo.id}/{num}", "text": text}


def _take_draft(repo, num: int) -> str:
    draft = session.get("comment_draft")
    if isinstance(draft, dict) and draft.get("key") == f"{repo.id}/{num}":
        session.pop("comment_draft", None)
        return str(draft.get("text") or "")
    return ""


def _flash_form_errors(form) -> None:
    for field_name, errors in form.errors.items():
        label = getattr(form, field_name).label.text if hasattr(form, field_name) else field_name
        for e in errors:
            flash(f"{label}: {e}", "error")


# ---- the community tab ------------------------------------------------------------------------------
@bp.get(REPO)
def discussions(ns: str, name: str):
    p = auth.current()
    repo = load_repo(ns, name)
    status = request.args.get("status", "open")
    status = status if status in ("open", "closed", "all") else "open"
    kind = request.args.get("type", "all")
    kind = kind if kind in ("all", "discussion", "pull_request") else "all"
    text = request.args.get("search", "").strip()[:200]
    page = int_param("p", 0, 10_000)
    size = _page_size()
    nums = None
    if text:
        nums = [h["num"] for h in services().search.discussions(repo.id, text, viewer_namespaces(p))]
    svc = services().community
    items, total, start = svc.list(p, repo, page=page, kind=kind, status=status, nums=nums, page_size=size)
    counts = {s: svc.list(p, repo, kind=kind, status=s, nums=nums, page_size=1)[1] for s in ("open", "closed")}
    return render_template("community/list.html", **_nav(repo, p), items=items, total=total, status=status,
                           kind=kind, search=text, page=page, has_more=start + len(items) < total, counts=counts,
                           can_open=policy.can_open(p, repo.namespace, repo.private),
                           can_review=policy.can_review(p, repo.namespace))


@bp.route(REPO + "/new", methods=["GET", "POST"])
def new_discussion(ns: str, name: str):
    login_required()
    p = auth.current()
    repo = load_repo(ns, name)
    form = DiscussionForm()
    status = 200
    if form.validate_on_submit():
        try:
            d = services().community.create(p, repo, form.title.data, form.description.data or "")
        except Forbidden:
            raise
        except RateLimited as e:
            flash(localize(e.message), "error")
            status = 429
        except RegistryError as e:
            flash(localize(e.message), "error")
            status = 400
        else:
            flash(_("Discussion #%(num)s opened.", num=d.num), "success")
            return _see_other(_discussion_url(repo, d.num))
    elif form.errors:
        status = 400
    return render_template("community/new.html", **_nav(repo, p), form=form,
                           base_url=request.host_url.rstrip("/"),
                           can_open=policy.can_open(p, repo.namespace, repo.private)), status


# ---- one discussion ---------------------------------------------------------------------------------
def _author_id(p, author_name: str | None) -> int | None:
    """The author's id as far as policy needs it: names are unique, so `p` is the author iff same name."""
    return p.user_id if p is not None and author_name is not None and p.name == author_name else None


def _why_no_comment(p, d) -> str | None:
    if p is None:
        return None  # the template offers to sign in
    if not p.can_write_at_all:
        return _("Your account cannot post right now (suspended, or signed in with a read-only token).")
    if d.status == "merged":
        return _("This pull request is merged: no new comments.")
    if d.status == "closed":
        return (_("This pull request is closed: reopen it to comment.") if d.is_pull_request
                else _("This discussion is closed: reopen it to comment."))
    if d.locked:
        return _("This discussion is locked: only moderators can comment.")
    return _("You cannot comment here.")


def _permissions(p, repo, d) -> dict[str, bool]:
    ns = repo.namespace
    aid = _author_id(p, d.author)
    mod = policy.is_moderator(p, ns)
    unlocked = not d.locked or mod
    return {
        "moderator": mod,
        "comment": policy.can_comment(p, ns, repo.private, d.status, d.locked),
        "rename": policy.can_rename(p, ns, aid) and unlocked,
        "status": policy.can_change_status(p, ns, aid) and unlocked and d.status != "merged",
        "lock_pin": policy.can_lock_or_pin(p, ns),
        "merge": d.is_pull_request and policy.can_merge(p, ns),
        "report": policy.can_report(p, ns, repo.private),
        "react": policy.can_open(p, ns, repo.private),
        "review": policy.can_review(p, ns),
        "unhide": policy.can_unhide_comment(p, ns),
    }


def _render_event(e, p, repo, d, can: dict[str, bool]) -> dict[str, Any]:
    """An event with what the template shows: sanitized HTML, earlier versions, allowed actions."""
    md = dict(repo_path=f"/{repo.repo_id}", revision=repo.default_branch, strip_front_matter=False, mentions=True)
    out: dict[str, Any] = {"e": e}
    if e.type != "comment":
        return out
    aid = _author_id(p, e.author)
    out["html"] = render_markdown(e.body, **md) if e.body is not None else None
    out["history"] = [{"at": h["at"], "html": render_markdown(h["body"] or "", **md)} for h in reversed(e.history)]
    out["raw"] = e.body or ""
    mine = {r["reaction"] for r in e.reactions if p is not None and p.name in r["users"]}
    out["reactions"] = [{**r, "mine": r["reaction"] in mine, "label": str(REACTION_NAMES.get(r["reaction"], ""))}
                        for r in e.reactions]
    out["can"] = {
        "edit": not e.hidden and policy.can_edit_comment(p, aid, d.locked, repo.namespace),
        "hide": not e.hidden and policy.can_hide_comment(p, repo.namespace, aid),
        "unhide": e.hidden and can["unhide"],
        "approve": e.pending_review and can["review"],
        "report": can["report"] and not e.hidden and aid is None,  # not one's own
        "react": can["react"] and not e.hidden and not e.pending_review,
    }
    out["has_foot"] = bool(out["reactions"]) or any(out["can"].values())
    return out


def _pr_state(repo, d) -> dict[str, Any]:
    changed, text, conflicts = services().community.diff(repo, d.num)
    return {"changed": changed, "diff": text, "conflicts": conflicts}


@bp.get(ONE)
def discussion(ns: str, name: str, num: int):
    p = auth.current()
    repo = load_repo(ns, name)
    d = services().community.details(p, repo, num)
    can = _permissions(p, repo, d)
    events = [_render_event(e, p, repo, d, can) for e in d.events]
    pr = _pr_state(repo, d) if d.is_pull_request else None
    return render_template("community/discussion.html", **_nav(repo, p), d=d, can=can, events=events, pr=pr,
                           why_no_comment=None if can["comment"] else _why_no_comment(p, d),
                           draft=_take_draft(repo, num), reactions=REACTIONS, reaction_names=REACTION_NAMES,
                           view="conversation")


def _diff_files(changed, text: str) -> list[dict[str, Any]]:
    """The unified diff split per file, each line with its CSS class (the template escapes the text)."""
    files: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.startswith("diff --git "):
            i = len(files)
            files.append({"path": changed[i].path if i < len(changed) else line[11:],
                          "status": changed[i].status if i < len(changed) else "modified", "lines": []})
            continue
        if not files:
            continue
        if line.startswith(("+++ ", "--- ")) or line.startswith("\\"):
            cls = "meta"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("Binary files"):
            cls = "meta"
        else:
            cls = "ctx"
        files[-1]["lines"].append((cls, line))
    for f in files:
        f["added"] = sum(1 for c, _x in f["lines"] if c == "add")
        f["removed"] = sum(1 for c, _x in f["lines"] if c == "del")
    return files


@bp.get(ONE + "/files")
def files_changed(ns: str, name: str, num: int):
    p = auth.current()
    repo = load_repo(ns, name)
    d = services().community.details(p, repo, num)
    if not d.is_pull_request:
        abort(404)
    can = _permissions(p, repo, d)
    pr = _pr_state(repo, d)
    return render_template("community/files.html", **_nav(repo, p), d=d, can=can, pr=pr, view="files",
                           files=_diff_files(pr["changed"], pr["diff"]))


# ---- actions on a discussion --------------------------------------------------------------------------
def _acting(ns: str, name: str):
    login_required()
    return auth.current(), load_repo(ns, name)


@bp.post(ONE + "/comment")
def comment(ns: str, name: str, num: int):
    p, repo = _acting(ns, name)
    form = CommentForm()
    back = _discussion_url(repo, num, "new-comment")
    if not form.validate():
        _flash_form_errors(form)
        return _see_other(back)
    text = form.comment.data
    svc = services().community
    found = svc.list(p, repo, nums=[num], page_size=1)[0]
    if not found:
        abort(404)
    d = found[0]
    if policy.can_open(p, repo.namespace, repo.private) and not policy.can_comment(
            p, repo.namespace, repo.private, d.status, d.locked):
        # Closed or locked since the page was shown: say why, and keep what was typed.
        flash(_why_no_comment(p, d), "error")
        _keep_draft(repo, num, text)
        return _see_other(back)
    try:
        e = svc.comment(p, repo, num, text)
    except Forbidden:
        raise
    except RegistryError as err:
        flash(localize(err.message), "error")
        _keep_draft(repo, num, text)
        return _see_other(back)
    if e.pending_review:
        flash(_("Thanks! Your comment will appear once a moderator approves it."), "success")
    return _see_other(_discussion_url(repo, num, f"c-{e.id}"))


@bp.post(ONE + "/title")
def rename(ns: str, name: str, num: int):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.rename(p, repo, num, request.form.get("title", "")),
                _discussion_url(repo, num), _("Title changed."))


@bp.post(ONE + "/status")
def change_status(ns: str, name: str, num: int):
    p, repo = _acting(ns, name)
    status = request.form.get("status", "")
    msg = _("Reopened.") if status == "open" else _("Closed.")
    return _run(lambda: services().community.change_status(p, repo, num, status, request.form.get("comment") or None),
                _discussion_url(repo, num), msg)


@bp.post(ONE + "/<any(lock,unlock,pin,unpin):action>")
def set_flag(ns: str, name: str, num: int, action: str):
    p, repo = _acting(ns, name)
    flag = "locked" if action in ("lock", "unlock") else "pinned"
    messages = {"lock": _("Locked: only moderators can comment now."), "unlock": _("Unlocked."),
                "pin": _("Pinned to the top of the list."), "unpin": _("Unpinned.")}
    return _run(lambda: services().community.set_flag(p, repo, num, flag, action in ("lock", "pin"),
                                             request.form.get("reason") or None),
                _discussion_url(repo, num), messages[action])


@bp.post(ONE + "/merge")
def merge(ns: str, name: str, num: int):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.merge(p, repo, num, request.form.get("comment") or None),
                _back(_discussion_url(repo, num)), _("Pull request merged."))


@bp.post(ONE + "/report")
def report(ns: str, name: str, num: int):
    p, repo = _acting(ns, name)
    eid = request.form.get("comment_id", type=int)
    if eid is not None and not 0 < eid <= MAX_URL_INT:
        abort(404)  # no comment has it (and the column would overflow)
    return _run(lambda: services().community.report(p, repo, num, eid, request.form.get("reason", "")),
                _discussion_url(repo, num, f"c-{eid}" if eid else None),
                _("Thank you: the moderators will review your report."))


@bp.post(COMMENT + "/edit")
def edit_comment(ns: str, name: str, num: int, eid: int):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.edit_comment(p, repo, num, eid, request.form.get("comment", "")),
                _discussion_url(repo, num, f"c-{eid}"), _("Comment updated."))


@bp.post(COMMENT + "/<any(hide,unhide):action>")
def hide_comment(ns: str, name: str, num: int, eid: int, action: str):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.hide_comment(p, repo, num, eid, request.form.get("reason") or None,
                                                 hidden=action == "hide"),
                _discussion_url(repo, num, f"c-{eid}"),
                _("Comment hidden.") if action == "hide" else _("Comment visible again."))


@bp.post(COMMENT + "/react")
def react(ns: str, name: str, num: int, eid: int):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.react(p, repo, num, eid, request.form.get("reaction", "")),
                _discussion_url(repo, num, f"c-{eid}"))


@bp.post(COMMENT + "/approve")
def approve(ns: str, name: str, num: int, eid: int):
    p, repo = _acting(ns, name)
    return _run(lambda: services().community.approve(p, repo, num, eid), _back(_discussion_url(repo, num, f"c-{eid}")),
                _("Post approved and published."))


# ---- moderation ---------------------------------------------------------------------------------------
@bp.get("/moderation")
def moderation_queue():
    login_required()
    p = auth.current()
    status = request.args.get("status", "open")
    status = status if status in ("open", "resolved", "dismissed") else "open"
    items = services().community.queue(p, status)
    return render_template("community/queue.html", items=items, status=status,
                           site_log=policy.can_see_site_log(p))


@bp.post("/moderation/reports/<int:report_id>/resolve")
def resolve_report(report_id: int):
    login_required()
    p = auth.current()
    dismiss = request.form.get("dismiss") == "1"
    return _run(lambda: services().community.resolve_report(p, report_id, request.form.get("resolution") or None, dismiss),
                _back("/moderation"), _("Report dismissed.") if dismiss else _("Report resolved."))


def _log_page(repo=None):
    login_required()
    p = auth.current()
    actor = request.args.get("actor", "").strip()[:96] or None
    action = request.args.get("action", "").strip()[:32] or None
    page = int_param("p", 0, 10_000)
    rows = services().community.audit_log(p, repo=repo, actor=actor, action=action, limit=LOG_PAGE + 1,
                                 offset=page * LOG_PAGE)
    ctx: dict[str, Any] = {}
    if repo is not None:
        ctx = _nav(repo, p)
    return render_template("community/log.html", **ctx, log_repo=repo, rows=rows[:LOG_PAGE], actor=actor or "",
                           action=action or "", actions=LOG_ACTIONS, page=page, has_more=len(rows) > LOG_PAGE)


@bp.get("/moderation/log")
def site_log():
    return _log_page()


@bp.get("/<ns>/<name>/moderation/log")
def repo_log(ns: str, name: str):
    login_required()
    return _log_page(load_repo(ns, name))


# ---- notifications ------------------------------------------------------------------------------------
NOTIFICATION_KINDS = {"comment": _l("New comment"), "mention": _l("Mentioned you"), "status": _l("Status changed"),
                      "merged": _l("Merged"), "new": _l("New discussion")}


@bp.get("/notifications")
def notifications():
    login_required()
    unread = request.args.get("unread") in ("1", "true")
    rows = services().community.notifications(auth.current(), unread_only=unread, limit=200)
    for r in rows:
        r["url"] = f"/{TYPE_PREFIX.get(r['repoType'], '')}{r['repo']}/discussions/{r['num']}"
    return render_template("community/notifications.html", rows=rows, unread_only=unread,
                           kinds=NOTIFICATION_KINDS, unread_count=sum(1 for r in rows if not r["read"]))


@bp.post("/notifications/<int:nid>/read")
def notification_read(nid: int):
    login_required()
    return _run(lambda: services().community.mark_read(auth.current(), nid), _back(url_for("web_community.notifications")))


@bp.post("/notifications/read-all")
def notifications_read_all():
    login_required()
    return _run(lambda: services().community.mark_read(auth.current(), None), _back(url_for("web_community.notifications")),
                _("All notifications marked as read."))

