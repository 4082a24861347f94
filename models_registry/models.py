"""Database models. The git repositories hold files and history; these tables hold everything else."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Site moderators moderate every repository's community (admins do too).
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A suspended user can read but not post, push or create repositories.
    suspended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="org", cascade="all, delete-orphan")


class Membership(Base):
    """A user's role in an organization: admin (manage members, delete repos), write, or read."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    org: Mapped[Organization] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class AccessToken(Base):
    """An API token. Only the sha256 of the secret is stored: tokens are random, so no slow hash is needed."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class Repository(Base):
    __tablename__ = "repositories"
    __table_args__ = (
        UniqueConstraint("repo_type", "namespace", "name"),
        Index("ix_repositories_type_modified", "repo_type", "last_modified"),
        Index("ix_repositories_type_created", "repo_type", "created_at"),
        Index("ix_repositories_type_downloads", "repo_type", "downloads"),
        Index("ix_repositories_type_likes", "repo_type", "likes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_type: Mapped[str] = mapped_column(String(16), default="model")
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    name: Mapped[str] = mapped_column(String(96))
    # The bare git repository lives under this key, so renames and moves never touch the disk.
    storage_key: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: uuid.uuid4().hex)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    # git push --force to the default branch (rewriting its history) is refused unless the owner allows it.
    allow_force_push: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    head_sha: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_modified: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    downloads_all_time: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    card_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    pipeline_tag: Mapped[str | None] = mapped_column(String(64), index=True)
    library_name: Mapped[str | None] = mapped_column(String(64))
    # Problems found in the card that did not block the commit, shown to the owner.
    card_warnings: Mapped[list[str] | None] = mapped_column(JSON)
    # {"parameters": {dtype: n}, "total": n} over the default branch's .safetensors files.
    safetensors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    trending_score: Mapped[float] = mapped_column(Float, default=0.0, index=True)

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


class LfsObject(Base):
    """A verified object of the content-addressed blob store (key: sha256 of the bytes)."""

    __tablename__ = "lfs_objects"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # git blob sha1 of the same bytes: what preupload reports for files the client sends inline.
    sha1: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RepoLfsObject(Base):
    """Which repository references which LFS object: access checks for LFS downloads and garbage collection."""

    __tablename__ = "repo_lfs_objects"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    oid: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid"), primary_key=True)


class GitBlobInfo(Base):
    """Size and LFS facts of a git blob, keyed by its (content-addressed) sha1.

    Filled at commit time so that tree listings and downloads never re-read or re-hash blobs.
    Being content-addressed, a row is valid for every repository that holds the blob.
    """

    __tablename__ = "git_blob_info"

    sha: Mapped[str] = mapped_column(String(40), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    lfs_oid: Mapped[str | None] = mapped_column(String(64))
    lfs_size: Mapped[int | None] = mapped_column(BigInteger)


class RepoTag(Base):
    """One row per (repository, tag): the listing's tag filters are indexed joins, not JSON scans."""

    __tablename__ = "repo_tags"
    __table_args__ = (Index("ix_repo_tags_tag_repo", "tag", "repo_id"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


class Like(Base):
    __tablename__ = "likes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DownloadDay(Base):
    """Downloads of a repository on one UTC day: "last 30 days" and "all time" are exact sums."""

    __tablename__ = "download_days"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AccessRequest(Base):
    """A user's request to download a gated repository, and its current decision."""

    __tablename__ = "access_requests"
    __table_args__ = (UniqueConstraint("repo_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, accepted, rejected
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()


class AccessEvent(Base):
    """Append-only record of every request, grant, acceptance of terms, rejection and revocation."""

    __tablename__ = "access_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SafetensorsFile(Base):
    """Parameter counts of one .safetensors object (by sha256), read once from its header."""

    __tablename__ = "safetensors_files"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    parameters: Mapped[dict[str, int]] = mapped_column(JSON)


class SearchQueueEntry(Base):
    """Something the search index must re-read: written in the same transaction as the change."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # "repo" or "discussion"
    key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
