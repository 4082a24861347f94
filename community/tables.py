"""Tables of the community features (same metadata as the registry, so one migration history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models_registry.tables import Base, User, utcnow


class Discussion(Base):
    """A discussion or a pull request, numbered per repository (shared sequence, as on the Hub)."""

    __tablename__ = "discussions"
    __table_args__ = (UniqueConstraint("repo_id", "num"), Index("ix_discussions_repo_status", "repo_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed, merged, draft
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    target_branch: Mapped[str | None] = mapped_column(String(255))
    merge_commit: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class DiscussionEvent(Base):
    """What happened in a discussion: a comment, a status or title change, a commit, a moderation note."""

    __tablename__ = "discussion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Comments only:
    body: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pending_review: Mapped[bool] = mapped_column(Boolean, default=False)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    discussion: Mapped[Discussion] = relationship()


class CommentRevision(Base):
    """Every earlier text of an edited comment, oldest first."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("discussion_events.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Reaction(Base):
    __tablename__ = "reactions"

    event_id: Mapped[int] = mapped_column(ForeignKey("discussion_events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    emoji: Mapped[str] = mapped_column(String(16), primary_key=True)


class Watcher(Base):
    """Who hears about a discussion: its author, commenters, the mentioned, and explicit watchers."""

    __tablename__ = "discussion_watchers"

    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # comment, mention, status, merged, new
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("discussion_events.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Report(Base):
    """A user's report of a discussion or comment, waiting in the moderation queue."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("discussion_events.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open, resolved, dismissed
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ModerationAction(Base):
    """The audit log: every moderation action, who took it, on what, when and why."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target_type: Mapped[str] = mapped_column(String(16))  # discussion, comment, user, report
    target_id: Mapped[int] = mapped_column(Integer)
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Collection(Base):
    """A curated list of repositories (and other collections), owned by a user or an organization.

    `hex_id` is the Hub's 24-hex object id that ends the slug (`namespace/title-slug-<hex_id>`): a
    renamed collection gets a new slug, and the old one still finds it by this id. A title is unique
    per owner (as its slug), which is what `create_collection(exists_ok=True)` relies on."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("namespace", "title_slug"), Index("ix_collections_updated", "last_updated"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hex_id: Mapped[str] = mapped_column(String(24), unique=True)
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_slug: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)  # among the owner's collections
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CollectionItem(Base):
    """One entry of a collection: a repository or another collection, at a position, with a note.

    A repository (or collection) is in a collection at most once (the unique pairs; NULLs never
    collide). Deleting the repository or the collection it names removes the entry."""

    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("collection_id", "repo_id"),
                      UniqueConstraint("collection_id", "item_collection_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hex_id: Mapped[str] = mapped_column(String(24), unique=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    item_type: Mapped[str] = mapped_column(String(16))  # model, dataset, space, collection
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    item_collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"),
                                                           index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Webhook(Base):
    """A user's webhook: what it watches (repositories, users, organizations), which domains (repo,
    discussion), where deliveries go and the secret that signs them (community/webhooks.py)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    hex_id: Mapped[str] = mapped_column(String(24), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(String(200))
    watched: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # [{"type", "name"}]
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The hub as its owner reached it when saving the webhook: the payload's links start with it
    # unless the hub has a PUBLIC_URL (a Host header speaks only for its own sender's webhooks).
    hub_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship()


class WebhookDelivery(Base):
    """One payload for one webhook and how its delivery went (the log the settings page shows).
    A worker claims a due delivery by moving `claimed_until` forward in a conditional UPDATE, so
    several hub nodes on one database never send the same attempt twice."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hex_id: Mapped[str] = mapped_column(String(24), unique=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent (and signed), kept for redelivery
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
