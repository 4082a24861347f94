"""Reading a discussion and its timeline inside an open session: the rows every concern looks up
and the views it returns. Functions of a session, not a service, so that a write can return the
view of what it changed from the same transaction."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models_registry.errors import NotFound
from models_registry.messages import N_
from models_registry.tables import User
from models_registry.permissions import Principal
from models_registry.records import RepoView

from . import policy
from .tables import CommentRevision, Discussion, DiscussionEvent, Reaction
from .records import DiscussionView, EventView


def discussion_row(s: Session, repo: RepoView, num: int) -> Discussion:
    """Discussion (or pull request) #num of `repo`; NotFound otherwise."""
    d = s.scalar(select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num))
    if d is None:
        raise NotFound(N_("Discussion #%(num)s not found in %(repo)s", num=num, repo=repo.repo_id))
    return d


def comment_row(s: Session, repo: RepoView, num: int, event_id: int) -> tuple[Discussion, DiscussionEvent]:
    """A comment of discussion #num; NotFound if the id names another discussion's event or no comment."""
    d = discussion_row(s, repo, num)
    e = s.get(DiscussionEvent, event_id)
    if e is None or e.discussion_id != d.id or e.type != "comment":
        raise NotFound(f"Comment {event_id:x} not found in discussion #{num}")
    return d, e


def discussion_view(s: Session, d: Discussion, principal: Principal | None, repo: RepoView,
                    with_events: bool = False) -> DiscussionView:
    """The record of `d` as `principal` sees it; its timeline only when asked (lists do not need it)."""
    v = DiscussionView(d.id, d.num, d.title, d.status, d.is_pull_request, d.author.name if d.author else None,
                       d.created_at, d.updated_at, d.pinned, d.locked, d.target_branch, d.merge_commit)
    v.num_comments = s.scalar(select(func.count()).select_from(DiscussionEvent).where(
        DiscussionEvent.discussion_id == d.id, DiscussionEvent.type == "comment",
        DiscussionEvent.pending_review.is_(False))) or 0
    if with_events:
        v.events = events(s, d, principal, repo)
    return v


def events(s: Session, d: Discussion, principal: Principal | None, repo: RepoView) -> list[EventView]:
    """The timeline: held posts only for moderators and their authors, hidden bodies only for moderators."""
    rows = s.scalars(select(DiscussionEvent).where(DiscussionEvent.discussion_id == d.id)
                     .order_by(DiscussionEvent.created_at, DiscussionEvent.id)).all()
    moderator = policy.is_moderator(principal, repo.namespace)
    ids = [e.id for e in rows if e.type == "comment"]
    history: dict[int, list[CommentRevision]] = {}
    reactions: dict[int, dict[str, list[str]]] = {}
    if ids:  # two queries for the whole timeline, not two per comment
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


def event_view(s: Session, e: DiscussionEvent, principal: Principal | None, repo: RepoView) -> EventView:
    """One event as it appears in the timeline: what a write answers with."""
    d = s.get(Discussion, e.discussion_id)
    return next(ev for ev in events(s, d, principal, repo) if ev.id == e.id)
