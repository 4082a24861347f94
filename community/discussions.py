"""Discussions: list and read them, open one (or a pull request), comment, edit, rename, close.

Posting is rate-limited here, and a new account's first post may be held for a moderator; merging a
pull request posts its closing comment through the same `add_comment`, so the limits hold there too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models_registry import search_feed
from models_registry.db import Database
from models_registry.errors import BadRequest, Forbidden
from models_registry.messages import N_
from models_registry.tables import User, utcnow
from models_registry.permissions import Principal
from models_registry.registry import Registry
from models_registry.records import RepoView

from . import policy
from .tables import CommentRevision, Discussion, DiscussionEvent, Notification
from .webhooks import record_discussion
from .notifications import notify, notify_comment, owner_ids, watch, watch_owner
from .records import (MAX_COMMENT, MAX_TITLE, PAGE, CommunitySettings, DiscussionView, EventView, RateLimited,
                      clean_text)
from .timeline import comment_row, discussion_row, discussion_view, event_view


class Discussions:
    """The timeline's own writes (comments, titles, status) and the reads of lists and details."""

    def __init__(self, db: Database, registry: Registry, settings: CommunitySettings) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings

    # ---- reading ----------------------------------------------------------------------------
    def list(self, principal: Principal | None, repo: RepoView, *, page: int = 0, kind: str = "all",
             status: str = "all", author: str | None = None, nums: list[int] | None = None,
             page_size: int = PAGE) -> tuple[list[DiscussionView], int, int]:
        """(one page of discussions, how many match, offset of the page); pinned first, then newest."""
        if kind not in ("all", "discussion", "pull_request") or status not in ("all", "open", "closed"):
            raise BadRequest(N_("type must be all|discussion|pull_request and status all|open|closed"))
        with self.db.session() as s:
            q = select(Discussion).where(Discussion.repo_id == repo.id)
            if kind != "all":
                q = q.where(Discussion.is_pull_request.is_(kind == "pull_request"))
            if status == "open":
                q = q.where(Discussion.status.in_(("open", "draft")))
            elif status == "closed":
                q = q.where(Discussion.status.in_(("closed", "merged")))
            if author:
                q = q.join(User, User.id == Discussion.author_id).where(User.name == author)
            if nums is not None:
                q = q.where(Discussion.num.in_(nums))
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            start = page * page_size
            rows = s.scalars(q.order_by(Discussion.pinned.desc(), Discussion.num.desc())
                             .offset(start).limit(page_size)).all()
            return [discussion_view(s, d, principal, repo) for d in rows], total, start

    def details(self, principal: Principal | None, repo: RepoView, num: int) -> DiscussionView:
        """Discussion #num with its timeline, as `principal` may see it."""
        with self.db.session() as s:
            return discussion_view(s, discussion_row(s, repo, num), principal, repo, with_events=True)

    def all_ids(self) -> list[int]:
        """Every discussion's primary key: what a search index rebuild walks."""
        with self.db.session() as s:
            return list(s.scalars(select(Discussion.id).order_by(Discussion.id)))

    def by_pk(self, pk: int) -> tuple[RepoView, DiscussionView] | None:
        """For the search index: the discussion and its repository, or None if gone."""
        with self.db.session() as s:
            d = s.get(Discussion, pk)
            if d is None:
                return None
            repo = self.registry.repos.by_id(d.repo_id)
            if repo is None:
                return None
            return repo, discussion_view(s, d, None, repo, with_events=True)

    # ---- posting ----------------------------------------------------------------------------
    def check_rate(self, s: Session, p: Principal, what: str = "comment") -> None:
        """Comments, and separately new discussions, are limited per minute and per hour."""
        now = utcnow()
        for window, limit in ((dt.timedelta(minutes=1), self.settings.posts_per_minute),
                              (dt.timedelta(hours=1), self.settings.posts_per_hour)):
            if what == "comment":
                q = select(DiscussionEvent.created_at).where(
                    DiscussionEvent.author_id == p.user_id, DiscussionEvent.type == "comment",
                    DiscussionEvent.created_at > now - window)
            else:
                q = select(Discussion.created_at).where(Discussion.author_id == p.user_id,
                                                        Discussion.created_at > now - window)
            recent = s.scalars(q.order_by(q.selected_columns[0])).all()
            if len(recent) >= limit:
                retry = int((recent[0] + window - now).total_seconds()) + 1
                raise RateLimited(_too_fast(what, window.seconds == 60, limit, retry), retry_after=max(retry, 1))

    def _held(self, s: Session, p: Principal, namespace: str) -> bool:
        """Whether a new account's post waits for a moderator (when the setting is on)."""
        if not self.settings.hold_first_posts or policy.is_maintainer(p, namespace):
            return False
        user = s.get(User, p.user_id)
        if user is None or utcnow() - user.created_at > dt.timedelta(hours=self.settings.new_account_hours):
            return False
        approved = s.scalar(select(func.count()).select_from(DiscussionEvent).where(
            DiscussionEvent.author_id == p.user_id, DiscussionEvent.type == "comment",
            DiscussionEvent.pending_review.is_(False))) or 0
        return approved == 0

    def add_comment(self, s: Session, p: Principal, repo: RepoView, d: Discussion, body: str,
                    webhooks: bool = True) -> DiscussionEvent:
        """Post `body` on `d` in the caller's transaction: rate limit, hold, watch, notify, reindex, and
        tell webhooks (not of a held comment, until approved; nor of a discussion's opening text,
        which its creation event stands for)."""
        self.check_rate(s, p)
        e = DiscussionEvent(discussion_id=d.id, type="comment", author_id=p.user_id, body=body, data={},
                            pending_review=self._held(s, p, repo.namespace), created_at=utcnow())
        s.add(e)
        s.flush()
        d.updated_at = e.created_at
        watch(s, d.id, p.user_id)
        if not e.pending_review:
            notify_comment(s, d, e, p)
            if webhooks:
                record_discussion(s, repo, d, "create", comment=e)
        search_feed.touch(s, "discussion", d.id)
        return e

    def create(self, principal: Principal | None, repo: RepoView, title: Any, description: Any,
               pull_request: bool = False, target_branch: str | None = None) -> DiscussionView:
        """Open a discussion, or a pull request whose refs/pr/N starts at the target branch head."""
        if not policy.can_open(principal, repo.namespace, repo.private):
            raise Forbidden(N_("You must be signed in (and not suspended) to open a discussion"))
        title = clean_text(title, N_("Title"), MAX_TITLE)
        description = clean_text(description, N_("Description"), MAX_COMMENT, required=False)
        target = target_branch or repo.default_branch
        with self.db.session(write=True) as s:
            self.check_rate(s, principal, "discussion")
            # Numbers come from one sequence per repository; the write transaction serializes them.
            num = (s.scalar(select(func.max(Discussion.num)).where(Discussion.repo_id == repo.id)) or 0) + 1
            now = utcnow()
            d = Discussion(repo_id=repo.id, num=num, title=title, author_id=principal.user_id, status="open",
                           is_pull_request=pull_request, target_branch=target if pull_request else None,
                           created_at=now, updated_at=now)
            s.add(d)
            s.flush()
            if description:
                self.add_comment(s, principal, repo, d, description, webhooks=False)
            else:
                watch(s, d.id, principal.user_id)
            watch_owner(s, d, repo)
            for uid in owner_ids(s, repo):
                if uid != principal.user_id:
                    s.add(Notification(user_id=uid, kind="new", discussion_id=d.id, actor_id=principal.user_id))
            search_feed.touch(s, "discussion", d.id)
            record_discussion(s, repo, d, "create")
            view = discussion_view(s, d, principal, repo)
            if pull_request:
                # The ref is made before the row is committed, and taken back if that commit fails:
                # neither outlives the other.
                self.registry.repos.create_pr_ref(repo, num, target)
                try:
                    s.commit()
                except BaseException:
                    self.registry.repos.delete_pr_ref(repo, num)
                    raise
        return view

    def comment(self, principal: Principal | None, repo: RepoView, num: int, text: Any) -> EventView:
        body = clean_text(text, N_("Comment"), MAX_COMMENT)
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            if not policy.can_comment(principal, repo.namespace, repo.private, d.status, d.locked):
                raise Forbidden(_why_not_comment(principal, d))
            e = self.add_comment(s, principal, repo, d, body)
            return event_view(s, e, principal, repo)

    def edit_comment(self, principal: Principal | None, repo: RepoView, num: int, event_id: int,
                     text: Any) -> EventView:
        """Replace a comment's text; the old text is kept as a revision (the history readers see)."""
        body = clean_text(text, N_("Comment"), MAX_COMMENT)
        with self.db.session(write=True) as s:
            d, e = comment_row(s, repo, num, event_id)
            if not policy.can_edit_comment(principal, e.author_id, d.locked, repo.namespace):
                raise Forbidden(N_("Only the author of a comment can edit it"))
            if e.hidden:
                raise Forbidden(N_("A hidden comment cannot be edited"))
            s.add(CommentRevision(event_id=e.id, body=e.body or "", editor_id=principal.user_id))
            e.body, e.edited_at = body, utcnow()
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return event_view(s, e, principal, repo)

    def rename(self, principal: Principal | None, repo: RepoView, num: int, title: Any) -> EventView:
        title = clean_text(title, N_("Title"), MAX_TITLE)
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            if not policy.can_rename(principal, repo.namespace, d.author_id):
                raise Forbidden(N_("Only the author or the repository's maintainers can rename this"))
            if d.locked and not policy.is_moderator(principal, repo.namespace):
                raise Forbidden(N_("This discussion is locked"))
            e = DiscussionEvent(discussion_id=d.id, type="title-change", author_id=principal.user_id,
                                data={"from": d.title, "to": title}, created_at=utcnow())
            d.title, d.updated_at = title, e.created_at
            s.add(e)
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return event_view(s, e, principal, repo)

    def change_status(self, principal: Principal | None, repo: RepoView, num: int, status: Any,
                      comment: Any = None) -> EventView:
        """Close or reopen (a merged pull request stays merged), with an optional comment first."""
        if status not in ("open", "closed"):
            raise BadRequest(N_("status must be 'open' or 'closed'"))
        comment = clean_text(comment, N_("Comment"), MAX_COMMENT, required=False)
        with self.db.session(write=True) as s:
            d = discussion_row(s, repo, num)
            if not policy.can_change_status(principal, repo.namespace, d.author_id):
                raise Forbidden(N_("Only the author or the repository's maintainers can change the status"))
            if d.status == "merged":
                raise BadRequest(N_("A merged pull request cannot be reopened or closed"))
            if d.locked and not policy.is_moderator(principal, repo.namespace):
                raise Forbidden(N_("This discussion is locked"))
            if d.status == status:
                # Nothing to change, as on the Hub (a client reopening what is open is not wrong):
                # the answer is the event that gave it this status, or its opening one.
                if comment and status == "open":
                    self.add_comment(s, principal, repo, d, comment)
                elif comment:
                    raise BadRequest(N_("It is already %(status)s: reopen it to comment", status=status))
                last = s.scalar(select(DiscussionEvent).where(
                    DiscussionEvent.discussion_id == d.id, DiscussionEvent.type == "status-change")
                    .order_by(DiscussionEvent.id.desc()).limit(1)) or s.scalar(select(DiscussionEvent).where(
                        DiscussionEvent.discussion_id == d.id).order_by(DiscussionEvent.id).limit(1))
                return event_view(s, last, principal, repo)
            if comment:
                self.add_comment(s, principal, repo, d, comment)
            e = DiscussionEvent(discussion_id=d.id, type="status-change", author_id=principal.user_id,
                                data={"status": status}, created_at=utcnow())
            d.status, d.updated_at = status, e.created_at
            s.add(e)
            s.flush()
            notify(s, d, e, principal, "status")
            search_feed.touch(s, "discussion", d.id)
            record_discussion(s, repo, d, "update")
            return event_view(s, e, principal, repo)


def _why_not_comment(p: Principal | None, d: Discussion) -> str:
    """The reason a comment is refused, in the words the policy decided it."""
    if p is None or not p.can_write_at_all:
        return "You must be signed in (and not suspended, with a write token) to comment"
    if d.status in ("closed", "merged"):
        return f"This {'pull request' if d.is_pull_request else 'discussion'} is {d.status}: reopen it to comment"
    return "This discussion is locked: only moderators can comment"


def _too_fast(what: str, per_minute: bool, limit: int, retry: int) -> str:
    """The rate limit's message: four sentences rather than one glued together, so each translates whole."""
    params = {"limit": limit, "retry": retry}
    if what == "comment":
        if per_minute:
            return N_("You are posting too fast: at most %(limit)s comments per minute. Try again in %(retry)s s.",
                      **params)
        return N_("You are posting too fast: at most %(limit)s comments per hour. Try again in %(retry)s s.", **params)
    if per_minute:
        return N_("You are posting too fast: at most %(limit)s new discussions per minute. Try again in %(retry)s s.",
                  **params)
    return N_("You are posting too fast: at most %(limit)s new discussions per hour. Try again in %(retry)s s.",
              **params)
