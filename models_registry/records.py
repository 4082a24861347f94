"""Plain-data snapshots handed out by the services, so that no ORM object leaves a session."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .messages import Message
from .tables import Repository


@dataclass(frozen=True)
class RepoView:
    id: int
    repo_type: str
    namespace: str
    name: str
    storage_key: str
    private: bool
    gated: str | None
    disabled: bool
    default_branch: str
    allow_force_push: bool
    head_sha: str | None
    created_at: dt.datetime
    last_modified: dt.datetime
    downloads: int
    downloads_all_time: int
    likes: int
    card_data: dict[str, Any] | None
    tags: list[str]
    pipeline_tag: str | None
    library_name: str | None
    card_warnings: list[str]  # Messages where stored with their template (pages translate them)
    safetensors: dict[str, Any] | None
    trending_score: float

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, r: Repository) -> RepoView:
        return cls(
            id=r.id, repo_type=r.repo_type, namespace=r.namespace, name=r.name, storage_key=r.storage_key,
            private=r.private, gated=r.gated, disabled=r.disabled, default_branch=r.default_branch,
            allow_force_push=bool(r.allow_force_push),
            head_sha=r.head_sha, created_at=r.created_at, last_modified=r.last_modified,
            downloads=r.downloads, downloads_all_time=r.downloads_all_time, likes=r.likes,
            card_data=r.card_data, tags=list(r.tags or []), pipeline_tag=r.pipeline_tag,
            library_name=r.library_name, card_warnings=[Message.from_json(w) for w in r.card_warnings or []], safetensors=r.safetensors,
            trending_score=r.trending_score or 0.0,
        )


@dataclass(frozen=True)
class LfsInfo:
    oid: str
    size: int
    pointer_size: int


@dataclass(frozen=True)
class FileEntry:
    """A tree entry as the API reports it: `size` is the real content size, LFS or not."""

    path: str
    type: str  # "file" or "directory"
    oid: str  # git blob (or tree) sha1
    size: int = 0
    lfs: LfsInfo | None = None


@dataclass(frozen=True)
class ResolvedFile:
    commit: str
    path: str
    blob_sha: str
    size: int
    lfs: LfsInfo | None

    @property
    def etag(self) -> str:
        return self.lfs.oid if self.lfs else self.blob_sha
