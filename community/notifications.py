"""Watchers and notifications: who follows a discussion, who is told about what, and the inbox.

The writing half is functions of a session: a notification is added in the same transaction as the
comment, status change or merge it announces, so there is never one without the other."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models_registry.db import Database
from models_registry.errors import NotFound
from models_registry.messages import N_
from models_registry.tables import Membership, Organization, Repository, User, utcnow
from models_registry.permissions import Principal
from models_registry.rendering import MENTION_PATTERN
from models_registry.records import RepoView

from .tables import Discussion, DiscussionEvent, Notification, Watcher

MENTION_RE = re.compile(MENTION_PATTERN)


# ---- in the writer's transaction ------------------------------------------------------------
def watch(s: Session, discussion_id: int, user_id: int) -> None:
    """`user_id` follows the discussion (idempotent)."""
    if s.get(Watcher, (discussion_id, user_id)) is None:
        s.add(Watcher(discussion_id=discussion_id, user_id=user_id))
        s.flush()


def owner_ids(s: Session, repo: RepoView) -> list[int]:
    """Who owns `repo`: the user of its namespace, or the admins of its organization."""
    uid = s.scalar(select(User.id).where(User.name == repo.namespace))
    if uid is not None:
        return [uid]
    return list(s.scalars(select(Membership.user_id).join(Organization).where(
        Organization.name == repo.namespace, Membership.role == "admin")))


def watch_owner(s: Session, d: Discussion, repo: RepoView) -> None:
    """The repository's owners follow every discussion opened on it."""
    for uid in owner_ids(s, repo):
        watch(s, d.id, uid)


def notify(s: Session, d: Discussion, e: DiscussionEvent, actor: Principal, kind: str,
           skip: set[int] | None = None) -> None:
    """Tell every watcher of `d` but the actor (and `skip`) about event `e`."""
    skip = (skip or set()) | {actor.user_id}
    for uid in s.scalars(select(Watcher.user_id).where(Watcher.discussion_id == d.id)):
        if uid not in skip:
            s.add(Notification(user_id=uid, kind=kind, discussion_id=d.id, event_id=e.id, actor_id=actor.user_id))


def notify_comment(s: Session, d: Discussion, e: DiscussionEvent, actor: Principal) -> None:
    """A published comment: @mentioned users get a mention (and start watching), the other watchers a comment."""
    mentioned = set()
    for name in set(MENTION_RE.findall(e.body or "")):
        uid = s.scalar(select(User.id).where(User.name == name))
        if uid is not None and uid != actor.user_id:
            mentioned.add(uid)
            s.add(Notification(user_id=uid, kind="mention", discussion_id=d.id, event_id=e.id,
                               actor_id=actor.user_id))
            watch(s, d.id, uid)
    notify(s, d, e, actor, "comment", skip=mentioned)


# ---- the inbox ------------------------------------------------------------------------------
class Inbox:
    """A user's inbox: read it, count it, mark it read."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def notifications(self, principal: Principal, unread_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        """`principal`'s notifications, newest first, with what the inbox shows of each discussion."""
        with self.db.session() as s:
            q = (select(Notification, Discussion, Repository)
                 .join(Discussion, Discussion.id == Notification.discussion_id)
                 .join(Repository, Repository.id == Discussion.repo_id)
                 .where(Notification.user_id == principal.user_id))
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
                    raise NotFound(N_("No such notification"))
            now = utcnow()
            for n in rows:
                n.read_at = now
            return len(rows)
