"""Moderation: locking and pinning, hiding comments, reports and the review queue, held first posts,
account suspension, and the audit log they all write.

Every moderation action is appended to the audit log (`log_action`) in the same transaction as the
change it records, so the log can neither miss an action nor claim one that was rolled back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models_registry import search_feed
from models_registry.accounts import end_sessions
from models_registry.db import Database
from models_registry.errors import BadRequest, Forbidden, NotFound
from models_registry.messages import N_
from models_registry.tables import Repository, User, utcnow
from models_registry.permissions import Principal
from models_registry.registry import Registry
from models_registry.records import RepoView

from . import policy
from .tables import Discussion, DiscussionEvent, ModerationAction, Report
from .notifications import notify_comment
from .webhooks import record_discussion
from .records import MAX_REASON, DiscussionView, EventView, clean_text
from .timeline import comment_row, discussion_row, discussion_view, event_view


def log_action(s: Session, p: Principal, action: str, target_type: str, target_id: int, repo: RepoView | None,
               reason: str | None, detail: dict | None = None) -> None:
    """Append one line to the audit log, in the caller's transaction."""
    s.add(ModerationAction(actor_id=p.user_id, action=action, target_type=target_type, target_id=target_id,
                           repo_id=repo.id if repo else None, reason=reason, detail=detail))


class Moderation:
    """What repository moderators and site administrators do, each step checked by `policy`."""

    def __init__(self, db: Database, registry: Registry) -> None:
        self.db = db
        self.registry = registry

    # ---- discussions and comments -----------------------------------------------------------
    def set_flag(self, principal: Principal | None, repo: RepoView, num: int, flag: str, value: bool,
                 reason: Any = None) -> DiscussionView:
        """Lock/unlock (no new comments) or pin/unpin (listed first): repository moderators."""
        if flag not in ("locked", "pinned"):
            raise BadRequest(N_("flag must be locked or pinned"))
        reason = clean_text(reason, N_("Reason"), MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            if not policy.can_lock_or_pin(principal, repo.namespace):
                raise Forbidden(N_("Only moderators of this repository can lock or pin discussions"))
            setattr(d, flag, value)
            action = {("locked", True): "lock", ("locked", False): "unlock",
                      ("pinned", True): "pin", ("pinned", False): "unpin"}[(flag, value)]
            s.add(DiscussionEvent(discussion_id=d.id, type=action, author_id=principal.user_id,
                                  data={"reason": reason} if reason else {}, created_at=utcnow()))
            log_action(s, principal, action, "discussion", d.id, repo, reason)
            s.flush()
            return discussion_view(s, d, principal, repo)

    def hide_comment(self, principal: Principal | None, repo: RepoView, num: int, event_id: int,
                     reason: Any = None, hidden: bool = True) -> EventView:
        """Hide (or show again) a comment: its body stays, for moderators only."""
        reason = clean_text(reason, N_("Reason"), MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            d, e = comment_row(s, repo, num, event_id)
            allowed = (policy.can_hide_comment(principal, repo.namespace, e.author_id) if hidden
                       else policy.can_unhide_comment(principal, repo.namespace))
            if not allowed:
                raise Forbidden(N_(
                    "Only moderators of this repository (or the author) can hide a comment"))
            e.hidden = hidden
            e.hidden_reason = reason if hidden else None
            e.hidden_by_id = principal.user_id if hidden else None
            log_action(s, principal, "hide_comment" if hidden else "unhide_comment", "comment", e.id, repo, reason)
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return event_view(s, e, principal, repo)

    def approve(self, principal: Principal | None, repo: RepoView, num: int, event_id: int) -> EventView:
        """Publish a held first post."""
        with self.db.session(write=True) as s:
            d, e = comment_row(s, repo, num, event_id)
            if not policy.can_review(principal, repo.namespace):
                raise Forbidden(N_("Only moderators of this repository can approve posts"))
            if not e.pending_review:
                raise BadRequest(N_("This comment is not waiting for review"))
            e.pending_review = False
            log_action(s, principal, "approve_post", "comment", e.id, repo, None)
            search_feed.touch(s, "discussion", d.id)
            author = s.get(User, e.author_id) if e.author_id else None
            if author is not None:  # watchers hear of it now, as if it had just been posted
                notify_comment(s, d, e, Principal(author.id, author.name))
            record_discussion(s, repo, d, "create", comment=e)  # and webhooks
            s.flush()
            return event_view(s, e, principal, repo)

    # ---- reports and the queue --------------------------------------------------------------
    def report(self, principal: Principal | None, repo: RepoView, num: int, event_id: int | None,
               reason: Any) -> int:
        """Report a discussion (or one of its comments) to its moderators; the report's id."""
        reason = clean_text(reason, N_("Reason"), MAX_REASON)
        with self.db.session(write=True) as s:
            if not policy.can_report(principal, repo.namespace, repo.private):
                raise Forbidden(N_("You must be signed in to report"))
            d = discussion_row(s, repo, num)
            if event_id is not None:
                comment_row(s, repo, num, event_id)
            r = Report(reporter_id=principal.user_id, repo_id=repo.id, discussion_id=d.id, event_id=event_id,
                       reason=reason)
            s.add(r)
            s.flush()
            return r.id

    def queue(self, principal: Principal | None, status: str = "open") -> list[dict[str, Any]]:
        """Reports (and held posts) the caller may review: site moderators see all, repository
        moderators those of their repositories."""
        if principal is None:
            raise Forbidden(N_("Sign in to see the moderation queue"))
        with self.db.session() as s:
            q = (select(Report, Repository, Discussion).join(Repository, Repository.id == Report.repo_id)
                 .join(Discussion, Discussion.id == Report.discussion_id).where(Report.status == status)
                 .order_by(Report.created_at))
            out = []
            for r, repo, d in s.execute(q):
                if not policy.can_review(principal, repo.namespace):
                    continue
                reporter = s.get(User, r.reporter_id) if r.reporter_id else None
                out.append({"id": r.id, "kind": "report", "repo": f"{repo.namespace}/{repo.name}",
                            "repoType": repo.repo_type, "num": d.num,
                            "title": d.title, "eventId": r.event_id, "reason": r.reason, "status": r.status,
                            "reporter": reporter.name if reporter else None, "createdAt": r.created_at,
                            "resolution": r.resolution})
            if status == "open":
                held = (select(DiscussionEvent, Discussion, Repository)
                        .join(Discussion, Discussion.id == DiscussionEvent.discussion_id)
                        .join(Repository, Repository.id == Discussion.repo_id)
                        .where(DiscussionEvent.pending_review.is_(True)).order_by(DiscussionEvent.created_at))
                for e, d, repo in s.execute(held):
                    if policy.can_review(principal, repo.namespace):
                        out.append({"id": e.id, "kind": "held", "repo": f"{repo.namespace}/{repo.name}",
                                    "repoType": repo.repo_type,
                                    "num": d.num, "title": d.title, "eventId": e.id, "reason": "first post",
                                    "status": "open", "reporter": e.author.name if e.author else None,
                                    "createdAt": e.created_at, "resolution": None})
            return out

    def resolve_report(self, principal: Principal | None, report_id: int, resolution: Any,
                       dismiss: bool = False) -> None:
        """Close an open report as resolved (something was done) or dismissed (nothing needed)."""
        resolution = clean_text(resolution, N_("Resolution"), MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            r = s.get(Report, report_id)
            repo = self.registry.repos.by_id(r.repo_id) if r is not None else None
            if r is None or repo is None:
                raise NotFound(N_("No such report"))
            if not policy.can_review(principal, repo.namespace):
                raise Forbidden(N_("Only moderators of this repository can resolve its reports"))
            if r.status != "open":
                raise BadRequest(N_("This report is already %(status)s", status=r.status))
            r.status = "dismissed" if dismiss else "resolved"
            r.resolution, r.resolved_by_id, r.resolved_at = resolution, principal.user_id, utcnow()
            log_action(s, principal, "dismiss_report" if dismiss else "resolve_report", "report", r.id, repo,
                       resolution)

    # ---- accounts and the log ---------------------------------------------------------------
    def suspend(self, principal: Principal | None, username: str, reason: Any, suspended: bool = True) -> None:
        """Suspend (or restore) an account: site administrators only, never themselves."""
        reason = clean_text(reason, N_("Reason"), MAX_REASON, required=suspended) or None
        with self.db.session(write=True) as s:
            if not policy.can_suspend(principal):
                raise Forbidden(N_("Only site administrators can suspend accounts"))
            u = s.scalar(select(User).where(User.name == username))
            if u is None:
                raise NotFound(N_("No user named %(name)s", name=repr(username)))
            if u.id == principal.user_id:
                raise BadRequest(N_("You cannot suspend yourself"))
            u.suspended_at = utcnow() if suspended else None
            u.suspended_reason = reason if suspended else None
            if suspended:  # in the same transaction: no clock needs comparing across nodes
                end_sessions(s, u.id)
            log_action(s, principal, "suspend" if suspended else "unsuspend", "user", u.id, None, reason)

    def audit_log(self, principal: Principal | None, *, repo: RepoView | None = None, actor: str | None = None,
                  action: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """A repository's log for its moderators, or the whole site's for site moderators; newest first."""
        if repo is not None:
            if not policy.is_moderator(principal, repo.namespace):
                raise Forbidden(N_("Only moderators of this repository can read its audit log"))
        elif not policy.can_see_site_log(principal):
            raise Forbidden(N_("Only site moderators can read the site audit log"))
        with self.db.session() as s:
            q = select(ModerationAction).order_by(ModerationAction.id.desc())
            if repo is not None:
                q = q.where(ModerationAction.repo_id == repo.id)
            if action:
                q = q.where(ModerationAction.action == action)
            if actor:
                q = q.join(User, User.id == ModerationAction.actor_id).where(User.name == actor)
            rows = s.scalars(q.offset(offset).limit(min(limit, 500))).all()
            names = {u.id: u.name for u in s.scalars(select(User).where(
                User.id.in_({r.actor_id for r in rows if r.actor_id})))}
            repos = {r.id: r for r in s.scalars(select(Repository).where(
                Repository.id.in_({r.repo_id for r in rows if r.repo_id})))}
            return [{"id": r.id, "actor": names.get(r.actor_id), "action": r.action, "targetType": r.target_type,
                     "targetId": r.target_id,
                     "repo": repos[r.repo_id].repo_id if r.repo_id in repos else None,
                     "repoType": repos[r.repo_id].repo_type if r.repo_id in repos else None,
                     "reason": r.reason, "createdAt": r.created_at, "detail": r.detail} for r in rows]
