"""The ORM tables. The git repositories hold files and history; these tables hold everything else."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .clock import utcnow  # the column defaults use it; services import it from here too


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


class WebSession(Base):
    """A signed-in browser. The cookie carries a random secret; only its sha256 is stored (as for
    tokens), so that deleting the row ends the session on every process at once."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Repository(Base):
    __tablename__ = "repositories"
    __table_args__ = (
        UniqueConstraint("repo_type", "namespace", "name"),
        # One per sort of the listings, ending in id: the order, and the seek of a keyset page (listing.py).
        Index("ix_repositories_type_modified", "repo_type", "last_modified", "id"),
        Index("ix_repositories_type_created", "repo_type", "created_at", "id"),
        Index("ix_repositories_type_downloads", "repo_type", "downloads", "id"),
        Index("ix_repositories_type_likes", "repo_type", "likes", "id"),
        Index("ix_repositories_type_trending", "repo_type", "trending_score", "id"),
        # Repository ids are case-insensitive (repos.py `get`, `create`, `move`): without this a lookup
        # that misses the exact spelling reads every row.
        Index("ix_repositories_type_lower_id", "repo_type", text("lower(namespace)"), text("lower(name)")),
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
    card_warnings: Mapped[list[str | dict] | None] = mapped_column(JSON)  # messages.Message.to_json()
    # {"parameters": {dtype: n}, "total": n} over the default branch's .safetensors files.
    safetensors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parameter_count: Mapped[int | None] = mapped_column(BigInteger)
    trending_score: Mapped[float] = mapped_column(Float, default=0.0)

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
    # Last time a writer counted on this object (a commit or push naming it, a re-upload): garbage
    # collection deletes only objects unused since before its grace window (models_registry/storage_gc.py).
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


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


class RepoRedirect(Base):
    """An old name of a renamed repository (lower-cased): it keeps working, as on the Hub, until
    a repository is created or moved under that name."""

    __tablename__ = "repo_redirects"

    repo_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(96), primary_key=True)
    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RepoTag(Base):
    """One row per (repository, tag): the listing's tag filters are indexed joins, not JSON scans."""

    __tablename__ = "repo_tags"
    __table_args__ = (Index("ix_repo_tags_tag_repo", "tag", "repo_id"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


class ModelLink(Base):
    """One row per (model, base model id it names): the model tree (model_tree.py). Counting a base's
    public derivatives reads only this index (no join, however many there are); `public` mirrors
    the model's `private`, kept in step where that changes (Repos.update_settings)."""

    __tablename__ = "model_links"
    __table_args__ = (Index("ix_model_links_base", "base_id", "public", "relation"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    base_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean)


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
    # Why the header could not be read: such a file is accepted, as on the Hub, but counts nothing
    # and its page says so.
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class SearchQueueEntry(Base):
    """Something the search index must re-read: written in the same transaction as the change."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # "repo" or "discussion"
    key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SearchCursor(Base):
    """How far one search index (one hub node) has followed search_queue (models_registry.search_feed).

    applied_through: every entry up to it was applied (or given up as rolled back); the log is pruned
    below the lowest one. read_through and gaps: the highest id read, and the ranges below it not
    visible yet ([lo, hi, first noticed], re-read until they appear or time out)."""

    __tablename__ = "search_cursors"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_through: Mapped[int] = mapped_column(BigInteger)
    read_through: Mapped[int] = mapped_column(BigInteger)
    gaps: Mapped[list[Any]] = mapped_column(JSON)
    # True from the moment a rebuild recorded its starting point until its index is live: an
    # interrupted rebuild leaves a cursor the node must not follow (it rebuilds again).
    rebuilding: Mapped[bool] = mapped_column(Boolean)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class BackgroundJob(Base):
    """When a cluster-wide background job (models_registry.jobs) last ran, where, and how it ended."""

    __tablename__ = "background_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # ok | failed
    last_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)


class XetXorb(Base):
    """A verified Xet xorb (key: its Merkle hash in the protocol's string form); bytes live on disk."""

    __tablename__ = "xet_xorbs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    num_chunks: Mapped[int] = mapped_column(Integer)
    unpacked_bytes: Mapped[int] = mapped_column(BigInteger)
    stored_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # as LfsObject.used_at


class XetChunk(Base):
    """Global dedup index: the chunks the spec makes eligible for the dedup query, and where they are."""

    __tablename__ = "xet_chunks"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash"))
    chunk_index: Mapped[int] = mapped_column(Integer)


class XetFile(Base):
    """A file registered by a shard upload: its reconstruction terms and its verified sha256."""

    __tablename__ = "xet_files"

    file_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # [[xorb_hash, chunk_start, chunk_end, unpacked_bytes], ...] in file order
    terms: Mapped[list[list[Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Mirror(Base):
    """A local repository kept as a copy of an upstream one (see models_registry/sync/mirrors.py).

    Identified by the local id (type, namespace, name) until its first sync creates the repository;
    `repo_pk` links it from then on, and a linked repository is read-only except to the sync."""

    __tablename__ = "mirrors"
    __table_args__ = (UniqueConstraint("repo_type", "namespace", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_type: Mapped[str] = mapped_column(String(16), default="model")
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    repo_pk: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), unique=True)
    upstream_url: Mapped[str] = mapped_column(String(1000))
    upstream_repo: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str | None] = mapped_column(String(255))  # only this branch/revision, or all refs
    # Sent to the upstream by `sync run`; stored as given (it must be usable unattended), never shown.
    token: Mapped[str | None] = mapped_column(Text)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)  # None: a one-off pull, no schedule
    origin: Mapped[str] = mapped_column(String(16), default="followed")  # followed, pull, on-demand
    next_due: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(16))  # ok, failed
    last_error: Mapped[str | None] = mapped_column(Text)
    last_synced_commit: Mapped[str | None] = mapped_column(String(40))
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The head commit whose LFS files were all checked (possibly none): the "verified" badge needs it.
    lfs_checked_commit: Mapped[str | None] = mapped_column(String(40))
    # What an admin last accepted; shown instead of the upstream's values while an alert is open.
    accepted_license: Mapped[Any] = mapped_column(JSON)
    accepted_gated: Mapped[str | None] = mapped_column(String(16))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MirrorRun(Base):
    """One sync of one mirror: the history admins read."""

    __tablename__ = "mirror_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    mirror_id: Mapped[int] = mapped_column(ForeignKey("mirrors.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule, manual, pull, on-demand
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # running, ok, failed
    method: Mapped[str | None] = mapped_column(String(8))
    refs_updated: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    git_objects: Mapped[int] = mapped_column(Integer, default=0)
    lfs_objects: Mapped[int] = mapped_column(Integer, default=0)
    bytes_transferred: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[str | None] = mapped_column(Text)


class MirrorLfsCheck(Base):
    """One LFS file of a mirrored commit: the sha256 the upstream reported and the one we computed."""

    __tablename__ = "mirror_lfs_checks"
    __table_args__ = (UniqueConstraint("repo_pk", "commit", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_pk: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    commit: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(1000))
    upstream_sha256: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MirrorAlert(Base):
    """The upstream changed a mirror's license or gating; shown only once an admin acknowledges."""

    __tablename__ = "mirror_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    mirror_id: Mapped[int] = mapped_column(ForeignKey("mirrors.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # license, gating
    old: Mapped[Any] = mapped_column(JSON)
    new: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(96))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class XetFileXorb(Base):
    """Which xorbs a file's reconstruction uses: a dedup answer for one xorb also lists its siblings."""

    __tablename__ = "xet_file_xorbs"

    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.file_hash", ondelete="CASCADE"), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class RepoEvent(Base):
    """Something a webhook may be told of (models_registry.repo_events): written in the transaction of
    the change where there is one, right after the ref moved where git made the change. Holds a
    snapshot of the repository, so a deleted one can still be described."""

    __tablename__ = "repo_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))  # repo, repo.content, repo.config, discussion, discussion.comment
    action: Mapped[str] = mapped_column(String(16))  # create, update, delete
    repo_pk: Mapped[int] = mapped_column(Integer)  # no foreign key: the event outlives a deleted repository
    repo_type: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    private: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the payload's other parts
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class FileScan(Base):
    """The security scan of one stored file's bytes (issue #23): keyed like safetensors_files, by the
    LFS object's sha256 or `git:<blob sha>` for a file kept in git, so a blob shared by many
    repositories is scanned once. `status` is "queued" until the scanner has read it."""

    __tablename__ = "file_scans"

    key: Mapped[str] = mapped_column(String(68), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, safe, suspicious, dangerous
    # [{"module", "name", "safety"}]: the imports found, as the Hub's pickleImportScan lists them
    imports: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    # Where it was first seen: the name decides how it is read, the repository holds a git blob's
    # bytes, and the admin list of flagged files links there.
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(String(1000))
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    scanned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
