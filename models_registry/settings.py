"""Settings of the registry itself (no web concerns): where data lives and the size rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible store (MODELHUB_STORAGE_URL=s3://BUCKET/PREFIX). Unset values
    fall to boto3's own configuration (AWS_* environment, ~/.aws), as operators of S3 expect."""

    endpoint: str | None = None  # e.g. http://seaweedfs:8333; None: AWS
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    addressing: str = "path"  # "path" (SeaweedFS, MinIO, Ceph) or "virtual" (AWS)
    # Downloads: redirect clients to a presigned URL (they must reach the store), or proxy the bytes.
    redirect: bool = True
    # The store's address as clients reach it, if not `endpoint` (presigned URLs are signed for it).
    public_endpoint: str | None = None
    url_ttl: int = 600  # seconds a presigned download URL stays valid


@dataclass
class RegistrySettings:
    data_dir: Path
    database_url: str
    storage_url: str
    # Files above this size (or binary, or matching .gitattributes LFS patterns) are stored as LFS.
    lfs_threshold: int = 10 * MB
    # preupload answers "regular" (inline base64 in the commit) up to this size, "lfs" above it.
    regular_upload_max: int = 10 * MB
    # Upper bound on one NDJSON commit request body.
    max_commit_bytes: int = 20 * 1024 * MB
    # Upper bound on one LFS object.
    max_lfs_object_bytes: int = 100 * 1024 * MB
    # Partial upload files untouched this long are a stopped process's leftovers (Registry.sweep_uploads).
    stale_upload_hours: float = 6
    s3: S3Options = field(default_factory=S3Options)
    # Refuse a commit or push that adds a file whose pickle imports are dangerous (scanning.py).
    # Off by default, as on the Hub, which flags such files but keeps them.
    refuse_dangerous_uploads: bool = False
    # The bare git repositories. Several hub nodes share one folder (on shared storage) while each
    # keeps its own data folder for scratch, search index and hooks; default: DATA_DIR/repos.
    repos_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.repos_dir is None:
            self.repos_dir = Path(self.data_dir) / "repos"

    @classmethod
    def for_data_dir(cls, data_dir: Path, database_url: str | None = None, storage_url: str | None = None,
                     **kw: Any) -> RegistrySettings:
        data_dir = Path(data_dir).resolve()
        return cls(
            data_dir=data_dir,
            database_url=database_url or f"sqlite:///{data_dir / 'modelhub.db'}",
            storage_url=storage_url or f"file://{data_dir / 'lfs'}",
            **kw,
        )
