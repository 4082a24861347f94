"""Discussions and pull requests: the one way to read and change them (API, pages and git alike).

Every write checks `policy` first and raises a domain error that changes nothing. Moderation
actions are appended to the audit log in the same transaction as the change they record.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models_registry import search_feed
from models_registry.db import Database
from models_registry.errors import BadRequest, Conflict, Forbidden, NotFound, RegistryError
from models_registry.models import Repository, User, utcnow
from models_registry.names import PR_REF_RE
from models_registry.permissions import Principal
from models_registry.views import RepoView

from . import policy
from .models import (CommentRevision, Discussion, DiscussionEvent, ModerationAction, Notification, Reaction, Report,
                     Watcher)

MAX_TITLE = 200
MAX_COMMENT = 65_536
MAX_REASON = 2_000
PAGE = 50
REACTIONS = ("👍", "👎", "❤️", "🎉", "😄", "😕", "🚀", "👀", "🤗", "🔥")
from models_registry.rendering import MENTION_PATTERN

MENTION_RE = re.compile(MENTION_PATTERN)


class RateLimited(RegistryError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass
class CommunitySettings:
    posts_per_minute: int = 10
    posts_per_hour: int = 120
    hold_first_posts: bool = False  # new accounts' first posts wait for a moderator
    new_account_hours: int = 24


@dataclass
class EventView:
    id: int
    type: str
    author: str | None
    created_at: dt.datetime
    data: dict[str, Any]
    body: str | None = None
    edited: bool = False
    hidden: bool = False
    hidden_reason: str | None = None
    pending_review: bool = False
    updated_at: dt.datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DiscussionView:
    id: int
    num: int
    title: str
    status: str
    is_pull_request: bool
    author: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    pinned: bool
    locked: bool
    target_branch: str | None
    merge_commit: str | None
    num_comments: int = 0
    events: list[EventView] = field(default_factory=list)

    @property
    def git_ref(self) -> str | None:
        return f"refs/pr/{self.num}" if self.is_pull_request else None


def _clean(text: Any, what: str, limit: int, required: bool = True) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadRequest(f"{what} must be a string")
    text = text.replace("\x00", "").strip()
    if required and not text:
        raise BadRequest(f"{what} must not be empty")
    if len(text) > limit:
        raise BadRequest(f"{what} is too long ({len(text)} characters, limit {limit})")
    return text


class Community:
    def __init__(self, db: Database, registry, settings: CommunitySettings | None = None) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings or CommunitySettings()
        registry.commits.listeners.append(self._on_ref_moved)

    # ---- reading ----------------------------------------------------------------------------
    def _get(self, s: Session, repo: RepoView, num: int) -> Discussion:
        d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
        if d is None:
            raise NotFound(f"Discussion #{num} not found in {repo.repo_id}")
        return d

    def _view(self, s: Session, d: Discussion, principal: Principal | None, repo: RepoView,
              with_events: bool = False) -> DiscussionView:
        v = DiscussionView(d.id, d.num, d.title, d.status, d.is_pull_request, d.author.name if d.author else None,
                           d.created_at, d.updated_at, d.pinned, d.locked, d.target_branch, d.merge_commit)
        v.num_comments = s.scalar(select(func.count()).select_from(DiscussionEvent).where(
            DiscussionEvent.discussion_id == d.id, DiscussionEvent.type == "comment",
            DiscussionEvent.pending_review.is_(False))) or 0
        if with_events:
            v.events = self._events(s, d, principal, repo)
        return v

    def _events(self, s: Session, d: Discussion, principal: Principal | None, repo: RepoView) -> list[EventView]:
        rows = s.scalars(select(DiscussionEvent).where(DiscussionEvent.discussion_id == d.id)
                         .order_by(DiscussionEvent.created_at, DiscussionEvent.id)).all()
        moderator = policy.is_moderator(principal, repo.namespace)
        ids = [e.id for e in rows if e.type == "comment"]
        history: dict[int, list[CommentRevision]] = {}
        reactions: dict[int, dict[str, list[str]]] = {}
        if ids:
            for rev in s.scalars(select(CommentRevision).where(CommentRevision.event_id.in_(ids))
                                 .order_by(CommentRevision.id)):
                history.setdefault(rev.event_id, []).append(rev)
            for eid, emoji, name in s.execute(select(Reaction.event_id, Reaction.emoji, User.name)
                                              .join(User, User.id == Reaction.user_id)
                                              .where(Reaction.event_id.in_(ids))):
                reactions.setdefault(eid, {}).setdefault(emoji, []).append(name)
        out = []
        for e in rows:
            if e.pending_review and not (moderator or policy.is_author(principal, e.author_id)):
                continue
            ev = EventView(e.id, e.type, e.author.name if e.author else None, e.created_at, dict(e.data or {}),
                           body=e.body, edited=e.edited_at is not None, hidden=e.hidden, hidden_reason=e.hidden_reason,
                           pending_review=e.pending_review, updated_at=e.edited_at or e.created_at)
            if e.type == "comment":
                ev.history = [{"body": r.body, "at": r.created_at} for r in history.get(e.id, [])]
                ev.reactions = [{"reaction": k, "users": v, "count": len(v)}
                                for k, v in reactions.get(e.id, {}).items()]
                if e.hidden and not moderator:
                    ev.body, ev.history = None, []
            out.append(ev)
        return out

    def list(self, principal: Principal | None, repo: RepoView, *, page: int = 0, kind: str = "all",
             status: str = "all", author: str | None = None, nums: list[int] | None = None,
             page_size: int = PAGE) -> tuple[list[DiscussionView], int, int]:
        """(one page of discussions, how many match, offset of the page); pinned first, then newest."""
        if kind not in ("all", "discussion", "pull_request") or status not in ("all", "open", "closed"):
            raise BadRequest("type must be all|discussion|pull_request and status all|open|closed")
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
            return [self._view(s, d, principal, repo) for d in rows], total, start

    def details(self, principal: Principal | None, repo: RepoView, num: int) -> DiscussionView:
        with self.db.session() as s:
            return self._view(s, self._get(s, repo, num), principal, repo, with_events=True)

    def all_ids(self) -> list[int]:
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
            return repo, self._view(s, d, None, repo, with_events=True)

    # ---- posting ----------------------------------------------------------------------------
    def _check_rate(self, s: Session, p: Principal, what: str = "comment") -> None:
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
                raise RateLimited(f"You are posting too fast: at most {limit} "
                                  f"{'comments' if what == 'comment' else 'new discussions'} per "
                                  f"{'minute' if window.seconds == 60 else 'hour'}. Try again in {retry} s.",
                                  retry_after=max(retry, 1))

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

    def _add_comment(self, s: Session, p: Principal, repo: RepoView, d: Discussion, body: str) -> DiscussionEvent:
        self._check_rate(s, p)
        e = DiscussionEvent(discussion_id=d.id, type="comment", author_id=p.user_id, body=body, data={},
                            pending_review=self._held(s, p, repo.namespace), created_at=utcnow())
        s.add(e)
        s.flush()
        d.updated_at = e.created_at
        self._watch(s, d.id, p.user_id)
        if not e.pending_review:
            self._notify_comment(s, d, e, p)
        search_feed.touch(s, "discussion", d.id)
        return e

    def create(self, principal: Principal | None, repo: RepoView, title: Any, description: Any,
               pull_request: bool = False, target_branch: str | None = None) -> DiscussionView:
        """Open a discussion, or a pull request whose refs/pr/N starts at the target branch head."""
        if not policy.can_open(principal, repo.namespace, repo.private):
            raise Forbidden("You must be signed in (and not suspended) to open a discussion")
        title = _clean(title, "Title", MAX_TITLE)
        description = _clean(description, "Description", MAX_COMMENT, required=False)
        target = target_branch or repo.default_branch
        with self.db.session(write=True) as s:
            self._check_rate(s, principal, "discussion")
            # Numbers come from one sequence per repository; the write transaction serializes them.
            num = (s.scalar(select(func.max(Discussion.num)).where(Discussion.repo_id == repo.id)) or 0) + 1
            now = utcnow()
            d = Discussion(repo_id=repo.id, num=num, title=title, author_id=principal.user_id, status="open",
                           is_pull_request=pull_request, target_branch=target if pull_request else None,
                           created_at=now, updated_at=now)
            s.add(d)
            s.flush()
            if description:
                self._add_comment(s, principal, repo, d, description)
            else:
                self._watch(s, d.id, principal.user_id)
            self._watch_owner(s, d, repo)
            for uid in self._owner_ids(s, repo):
                if uid != principal.user_id:
                    s.add(Notification(user_id=uid, kind="new", discussion_id=d.id, actor_id=principal.user_id))
            search_feed.touch(s, "discussion", d.id)
            view = self._view(s, d, principal, repo)
            if pull_request:
                self._create_pr_ref(repo, num, target)
                try:
                    s.commit()
                except BaseException:
                    with self.registry.git.writing(repo.storage_key) as git:
                        git.delete_ref(f"refs/pr/{num}")
                    raise
        return view

    def abandon_pull_request(self, repo: RepoView, num: int) -> None:
        """Undo a pull request opened a moment ago whose first commit was refused: nothing stays."""
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            s.execute(delete(Notification).where(Notification.discussion_id == d.id))
            s.delete(d)
            search_feed.touch(s, "discussion", d.id)
        with self.registry.git.writing(repo.storage_key) as git:
            git.delete_ref(f"refs/pr/{num}")

    def _create_pr_ref(self, repo: RepoView, num: int, target: str) -> None:
        with self.registry.git.writing(repo.storage_key) as git:
            head = git.ref_sha(f"refs/heads/{target}")
            if head is None:
                raise NotFound(f"Target branch {target!r} does not exist")
            if not git.set_ref(f"refs/pr/{num}", head, None):
                raise Conflict(f"refs/pr/{num} already exists")

    def comment(self, principal: Principal | None, repo: RepoView, num: int, text: Any) -> EventView:
        body = _clean(text, "Comment", MAX_COMMENT)
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            if not policy.can_comment(principal, repo.namespace, repo.private, d.status, d.locked):
                raise Forbidden(self._why_not_comment(principal, d))
            e = self._add_comment(s, principal, repo, d, body)
            return self._event(s, e, principal, repo)

    @staticmethod
    def _why_not_comment(p: Principal | None, d: Discussion) -> str:
        if p is None or not p.can_write_at_all:
            return "You must be signed in (and not suspended, with a write token) to comment"
        if d.status in ("closed", "merged"):
            return f"This {'pull request' if d.is_pull_request else 'discussion'} is {d.status}: reopen it to comment"
        return "This discussion is locked: only moderators can comment"

    def _event(self, s: Session, e: DiscussionEvent, principal: Principal | None, repo: RepoView) -> EventView:
        d = s.get(Discussion, e.discussion_id)
        return next(ev for ev in self._events(s, d, principal, repo) if ev.id == e.id)

    def _comment_row(self, s: Session, repo: RepoView, num: int, event_id: int) -> tuple[Discussion, DiscussionEvent]:
        d = self._get(s, repo, num)
        e = s.get(DiscussionEvent, event_id)
        if e is None or e.discussion_id != d.id or e.type != "comment":
            raise NotFound(f"Comment {event_id:x} not found in discussion #{num}")
        return d, e

    def edit_comment(self, principal: Principal | None, repo: RepoView, num: int, event_id: int,
                     text: Any) -> EventView:
        body = _clean(text, "Comment", MAX_COMMENT)
        with self.db.session(write=True) as s:
            d, e = self._comment_row(s, repo, num, event_id)
            if not policy.can_edit_comment(principal, e.author_id, d.locked, repo.namespace):
                raise Forbidden("Only the author of a comment can edit it")
            if e.hidden:
                raise Forbidden("A hidden comment cannot be edited")
            s.add(CommentRevision(event_id=e.id, body=e.body or "", editor_id=principal.user_id))
            e.body, e.edited_at = body, utcnow()
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return self._event(s, e, principal, repo)

    def hide_comment(self, principal: Principal | None, repo: RepoView, num: int, event_id: int,
                     reason: Any = None, hidden: bool = True) -> EventView:
        reason = _clean(reason, "Reason", MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            d, e = self._comment_row(s, repo, num, event_id)
            allowed = (policy.can_hide_comment(principal, repo.namespace, e.author_id) if hidden
                       else policy.can_unhide_comment(principal, repo.namespace))
            if not allowed:
                raise Forbidden("Only moderators of this repository (or the author) can hide a comment")
            e.hidden = hidden
            e.hidden_reason = reason if hidden else None
            e.hidden_by_id = principal.user_id if hidden else None
            self._log(s, principal, "hide_comment" if hidden else "unhide_comment", "comment", e.id, repo, reason)
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return self._event(s, e, principal, repo)

    def rename(self, principal: Principal | None, repo: RepoView, num: int, title: Any) -> EventView:
        title = _clean(title, "Title", MAX_TITLE)
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            if not policy.can_rename(principal, repo.namespace, d.author_id):
                raise Forbidden("Only the author or the repository's maintainers can rename this")
            if d.locked and not policy.is_moderator(principal, repo.namespace):
                raise Forbidden("This discussion is locked")
            e = DiscussionEvent(discussion_id=d.id, type="title-change", author_id=principal.user_id,
                                data={"from": d.title, "to": title}, created_at=utcnow())
            d.title, d.updated_at = title, e.created_at
            s.add(e)
            search_feed.touch(s, "discussion", d.id)
            s.flush()
            return self._event(s, e, principal, repo)

    def change_status(self, principal: Principal | None, repo: RepoView, num: int, status: Any,
                      comment: Any = None) -> EventView:
        if status not in ("open", "closed"):
            raise BadRequest("status must be 'open' or 'closed'")
        comment = _clean(comment, "Comment", MAX_COMMENT, required=False)
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            if not policy.can_change_status(principal, repo.namespace, d.author_id):
                raise Forbidden("Only the author or the repository's maintainers can change the status")
            if d.status == "merged":
                raise BadRequest("A merged pull request cannot be reopened or closed")
            if d.status == status:
                raise BadRequest(f"It is already {status}")
            if d.locked and not policy.is_moderator(principal, repo.namespace):
                raise Forbidden("This discussion is locked")
            if comment:
                self._add_comment(s, principal, repo, d, comment)
            e = DiscussionEvent(discussion_id=d.id, type="status-change", author_id=principal.user_id,
                                data={"status": status}, created_at=utcnow())
            d.status, d.updated_at = status, e.created_at
            s.add(e)
            s.flush()
            self._notify(s, d, e, principal, "status")
            search_feed.touch(s, "discussion", d.id)
            return self._event(s, e, principal, repo)

    def merge(self, principal: Principal | None, repo: RepoView, num: int, comment: Any = None) -> str:
        comment = _clean(comment, "Comment", MAX_COMMENT, required=False)
        with self.db.session() as s:
            d = self._get(s, repo, num)
            if not d.is_pull_request:
                raise BadRequest(f"#{num} is a discussion, not a pull request")
            if d.status != "open":
                raise BadRequest(f"Pull request #{num} is {d.status}: only open pull requests can be merged")
            if not policy.can_merge(principal, repo.namespace):
                raise Forbidden("Only maintainers (write access) can merge pull requests")
            if comment:  # refuse before merging: the merge and its record must go together
                self._check_rate(s, principal)
            title, target = d.title, d.target_branch or repo.default_branch
        sha = self.registry.commits.merge(principal, repo, f"refs/pr/{num}", target,
                                          f"Merge pull request #{num}: {title}")
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            if comment:
                self._add_comment(s, principal, repo, d, comment)
            e = DiscussionEvent(discussion_id=d.id, type="status-change", author_id=principal.user_id,
                                data={"status": "merged"}, created_at=utcnow())
            d.status, d.merge_commit, d.updated_at = "merged", sha, e.created_at
            s.add(e)
            s.flush()
            self._notify(s, d, e, principal, "merged")
            search_feed.touch(s, "discussion", d.id)
        return sha

    def react(self, principal: Principal | None, repo: RepoView, num: int, event_id: int, emoji: Any) -> EventView:
        if emoji not in REACTIONS:
            raise BadRequest(f"Unknown reaction {emoji!r}; use one of {' '.join(REACTIONS)}")
        with self.db.session(write=True) as s:
            d, e = self._comment_row(s, repo, num, event_id)
            if not policy.can_open(principal, repo.namespace, repo.private):
                raise Forbidden("You must be signed in to react")
            existing = s.get(Reaction, (e.id, principal.user_id, emoji))
            if existing is None:
                s.add(Reaction(event_id=e.id, user_id=principal.user_id, emoji=emoji))
            else:
                s.delete(existing)
            s.flush()
            return self._event(s, e, principal, repo)

    # ---- moderation -------------------------------------------------------------------------
    def _log(self, s: Session, p: Principal, action: str, target_type: str, target_id: int, repo: RepoView | None,
             reason: str | None, detail: dict | None = None) -> None:
        s.add(ModerationAction(actor_id=p.user_id, action=action, target_type=target_type, target_id=target_id,
                               repo_id=repo.id if repo else None, reason=reason, detail=detail))

    def set_flag(self, principal: Principal | None, repo: RepoView, num: int, flag: str, value: bool,
                 reason: Any = None) -> DiscussionView:
        """Lock/unlock (no new comments) or pin/unpin (listed first): repository moderators."""
        if flag not in ("locked", "pinned"):
            raise BadRequest("flag must be locked or pinned")
        reason = _clean(reason, "Reason", MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            d = self._get(s, repo, num)
            if not policy.can_lock_or_pin(principal, repo.namespace):
                raise Forbidden("Only moderators of this repository can lock or pin discussions")
            setattr(d, flag, value)
            action = {("locked", True): "lock", ("locked", False): "unlock",
                      ("pinned", True): "pin", ("pinned", False): "unpin"}[(flag, value)]
            s.add(DiscussionEvent(discussion_id=d.id, type=action, author_id=principal.user_id,
                                  data={"reason": reason} if reason else {}, created_at=utcnow()))
            self._log(s, principal, action, "discussion", d.id, repo, reason)
            s.flush()
            return self._view(s, d, principal, repo)

    def report(self, principal: Principal | None, repo: RepoView, num: int, event_id: int | None,
               reason: Any) -> int:
        reason = _clean(reason, "Reason", MAX_REASON)
        with self.db.session(write=True) as s:
            if not policy.can_report(principal, repo.namespace, repo.private):
                raise Forbidden("You must be signed in to report")
            d = self._get(s, repo, num)
            if event_id is not None:
                self._comment_row(s, repo, num, event_id)
            r = Report(reporter_id=principal.user_id, repo_id=repo.id, discussion_id=d.id, event_id=event_id,
                       reason=reason)
            s.add(r)
            s.flush()
            return r.id

    def queue(self, principal: Principal | None, status: str = "open") -> list[dict[str, Any]]:
        """Reports (and held posts) the caller may review: site moderators see all, repository
        moderators those of their repositories."""
        if principal is None:
            raise Forbidden("Sign in to see the moderation queue")
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
        resolution = _clean(resolution, "Resolution", MAX_REASON, required=False) or None
        with self.db.session(write=True) as s:
            r = s.get(Report, report_id)
            repo = self.registry.repos.by_id(r.repo_id) if r is not None else None
            if r is None or repo is None:
                raise NotFound("No such report")
            if not policy.can_review(principal, repo.namespace):
                raise Forbidden("Only moderators of this repository can resolve its reports")
            if r.status != "open":
                raise BadRequest(f"This report is already {r.status}")
            r.status = "dismissed" if dismiss else "resolved"
            r.resolution, r.resolved_by_id, r.resolved_at = resolution, principal.user_id, utcnow()
            self._log(s, principal, "dismiss_report" if dismiss else "resolve_report", "report", r.id, repo, resolution)

    def approve(self, principal: Principal | None, repo: RepoView, num: int, event_id: int) -> EventView:
        """Publish a held first post."""
        with self.db.session(write=True) as s:
            d, e = self._comment_row(s, repo, num, event_id)
            if not policy.can_review(principal, repo.namespace):
                raise Forbidden("Only moderators of this repository can approve posts")
            if not e.pending_review:
                raise BadRequest("This comment is not waiting for review")
            e.pending_review = False
            self._log(s, principal, "approve_post", "comment", e.id, repo, None)
            search_feed.touch(s, "discussion", d.id)
            author = s.get(User, e.author_id) if e.author_id else None
            if author is not None:
                self._notify_comment(s, d, e, Principal(author.id, author.name))
            s.flush()
            return self._event(s, e, principal, repo)

    def suspend(self, principal: Principal | None, username: str, reason: Any, suspended: bool = True) -> None:
        reason = _clean(reason, "Reason", MAX_REASON, required=suspended) or None
        with self.db.session(write=True) as s:
            if not policy.can_suspend(principal):
                raise Forbidden("Only site administrators can suspend accounts")
            u = s.scalar(select(User).where(User.name == username))
            if u is None:
                raise NotFound(f"No user named {username!r}")
            if u.id == principal.user_id:
                raise BadRequest("You cannot suspend yourself")
            u.suspended_at = utcnow() if suspended else None
            u.suspended_reason = reason if suspended else None
            self._log(s, principal, "suspend" if suspended else "unsuspend", "user", u.id, None, reason)

    def audit_log(self, principal: Principal | None, *, repo: RepoView | None = None, actor: str | None = None,
                  action: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        if repo is not None:
            if not policy.is_moderator(principal, repo.namespace):
                raise Forbidden("Only moderators of this repository can read its audit log")
        elif not policy.can_see_site_log(principal):
            raise Forbidden("Only site moderators can read the site audit log")
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

    # ---- notifications ----------------------------------------------------------------------
    def _watch(self, s: Session, discussion_id: int, user_id: int) -> None:
        if s.get(Watcher, (discussion_id, user_id)) is None:
            s.add(Watcher(discussion_id=discussion_id, user_id=user_id))
            s.flush()

    def _owner_ids(self, s: Session, repo: RepoView) -> list[int]:
        from models_registry.models import Membership, Organization

        uid = s.scalar(select(User.id).where(User.name == repo.namespace))
        if uid is not None:
            return [uid]
        return list(s.scalars(select(Membership.user_id).join(Organization).where(
            Organization.name == repo.namespace, Membership.role == "admin")))

    def _watch_owner(self, s: Session, d: Discussion, repo: RepoView) -> None:
        for uid in self._owner_ids(s, repo):
            self._watch(s, d.id, uid)

    def _notify(self, s: Session, d: Discussion, e: DiscussionEvent, actor: Principal, kind: str,
                skip: set[int] | None = None) -> None:
        skip = (skip or set()) | {actor.user_id}
        for uid in s.scalars(select(Watcher.user_id).where(Watcher.discussion_id == d.id)):
            if uid not in skip:
                s.add(Notification(user_id=uid, kind=kind, discussion_id=d.id, event_id=e.id, actor_id=actor.user_id))

    def _notify_comment(self, s: Session, d: Discussion, e: DiscussionEvent, actor: Principal) -> None:
        mentioned = set()
        for name in set(MENTION_RE.findall(e.body or "")):
            uid = s.scalar(select(User.id).where(User.name == name))
            if uid is not None and uid != actor.user_id:
                mentioned.add(uid)
                s.add(Notification(user_id=uid, kind="mention", discussion_id=d.id, event_id=e.id,
                                   actor_id=actor.user_id))
                self._watch(s, d.id, uid)
        self._notify(s, d, e, actor, "comment", skip=mentioned)

    def notifications(self, principal: Principal, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.session() as s:
            q = (select(Notification, Discussion, Repository).join(Discussion, Discussion.id == Notification.discussion_id)
                 .join(Repository, Repository.id == Discussion.repo_id).where(Notification.user_id == principal.user_id))
            if unread_only:
                q = q.where(Notification.read_at.is_(None))
            out = []
            for n, d, repo in s.execute(q.order_by(Notification.id.desc()).limit(min(limit, 200))):
                actor = s.get(User, n.actor_id) if n.actor_id else None
                out.append({"id": n.id, "kind": n.kind, "repo": f"{repo.namespace}/{repo.name}",
                            "repoType": repo.repo_type, "num": d.num, "title": d.title,
                            "isPullRequest": d.is_pull_request, "actor": actor.name if actor else None,
                            "createdAt": n.created_at, "read": n.read_at is not None})
            return out

    def unread_count(self, principal: Principal) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(Notification).where(
                Notification.user_id == principal.user_id, Notification.read_at.is_(None))) or 0

    def mark_read(self, principal: Principal, notification_id: int | None = None) -> int:
        """Mark one notification (or all, with None) as read; returns how many changed."""
        with self.db.session(write=True) as s:
            q = select(Notification).where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
            if notification_id is not None:
                q = q.where(Notification.id == notification_id)
            rows = s.scalars(q).all()
            if notification_id is not None and not rows:
                exists = s.scalar(select(Notification.id).where(Notification.id == notification_id,
                                                                Notification.user_id == principal.user_id))
                if exists is None:
                    raise NotFound("No such notification")
            now = utcnow()
            for n in rows:
                n.read_at = now
            return len(rows)

    # ---- pull requests and commits ------------------------------------------------------------
    def pr_for_ref(self, repo: RepoView, ref: str) -> DiscussionView | None:
        m = PR_REF_RE.match(ref)
        if not m:
            return None
        with self.db.session() as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            return self._view(s, d, None, repo) if d is not None and d.is_pull_request else None

    def check_pr_commit(self, principal: Principal | None, repo: RepoView, ref: str) -> None:
        """May `principal` commit to refs/pr/N? Maintainers and the PR's author, while it is open."""
        m = PR_REF_RE.match(ref)
        if not m:
            return
        with self.db.session() as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            if d is None or not d.is_pull_request:
                raise NotFound(f"No pull request #{m.group(1)} in {repo.repo_id}")
            if d.status not in ("open", "draft"):
                raise BadRequest(f"Pull request #{d.num} is {d.status}: reopen it to add commits")
            if not policy.can_push_to_pr(principal, repo.namespace, d.author_id):
                raise Forbidden(f"Only the author of pull request #{d.num} and maintainers can add commits to it")

    def pushable_pr_refs(self, principal: Principal | None, repo: RepoView) -> list[str]:
        """The refs/pr/N `principal` may push to: open pull requests it authored, or all if maintainer."""
        with self.db.session() as s:
            rows = s.execute(select(Discussion.num, Discussion.author_id).where(
                Discussion.repo_id == repo.id, Discussion.is_pull_request.is_(True),
                Discussion.status.in_(("open", "draft")))).all()
        return [f"refs/pr/{num}" for num, author in rows if policy.can_push_to_pr(principal, repo.namespace, author)]

    def _on_ref_moved(self, repo: RepoView, ref: str, old: str | None, new: str) -> None:
        """Commits that land on refs/pr/N (API or git push) appear in the pull request's timeline."""
        m = PR_REF_RE.match(ref)
        if not m or new is None:
            return
        with self.registry.git.open(repo.storage_key) as git:
            commits = []
            for c in git.history(new):
                if c.sha == old or len(commits) >= 100:
                    break
                commits.append(c)
            # Stop at commits already on the target branch (a PR starts at its head).
        with self.db.session(write=True) as s:
            d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == int(m.group(1))))
            if d is None:
                return
            known = s.scalars(select(DiscussionEvent.data).where(
                DiscussionEvent.discussion_id == d.id, DiscussionEvent.type == "commit")).all()
            known_oids = {k.get("oid") for k in known if isinstance(k, dict)}
            for c in reversed(commits):
                if c.sha in known_oids:
                    continue
                author = s.scalar(select(User.id).where(User.name == c.author_name))
                s.add(DiscussionEvent(discussion_id=d.id, type="commit", author_id=author,
                                      data={"subject": c.title, "oid": c.sha}, created_at=utcnow()))
            d.updated_at = utcnow()

    def diff(self, repo: RepoView, num: int) -> tuple[list, str, list[str]]:
        """(changed files, unified diff text, conflicting paths) of a pull request against its target."""
        from models_registry.merging import changes, files_of, merge_base, three_way, unified_diff

        with self.db.session() as s:
            d = self._get(s, repo, num)
            if not d.is_pull_request:
                return [], "", []
            target = d.target_branch or repo.default_branch
            merged_commit = d.merge_commit
        with self.registry.git.open(repo.storage_key) as git:
            head = git.ref_sha(f"refs/pr/{num}")
            tip = git.ref_sha(f"refs/heads/{target}")
            if head is None:
                return [], "", []
            if merged_commit:
                base = git.commit(merged_commit).parents[0]
            else:
                base = merge_base(git, tip, head) if tip else None
            base_files, head_files = files_of(git, base), files_of(git, head)
            changed = changes(base_files, head_files)
            text = "".join(unified_diff(git, c) for c in changed[:200])
            conflicts: list[str] = []
            if tip and not merged_commit:
                conflicts = three_way(base_files, files_of(git, tip), head_files)[1]
            return changed, text, conflicts
