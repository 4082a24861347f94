"""Configuration: defaults, then MODELHUB_* environment variables, then explicit overrides (CLI, tests)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from community.webhook_sender import AllowList
from community.webhooks import WebhookSettings
from models_registry.settings import MB, RegistrySettings, S3Options

# name -> (default, type). Each is read from MODELHUB_<NAME>.
SETTINGS: dict[str, tuple[Any, type]] = {
    "DATA_DIR": ("hub-data", str),
    "DATABASE_URL": (None, str),
    "STORAGE_URL": (None, str),  # file://PATH (default: DATA_DIR/lfs) or s3://BUCKET/PREFIX
    # S3-compatible storage; unset values fall to boto3's own (AWS_* variables, ~/.aws).
    "S3_ENDPOINT": (None, str),
    "S3_REGION": (None, str),
    "S3_ACCESS_KEY": (None, str),
    "S3_SECRET_KEY": (None, str),
    "S3_ADDRESSING": ("path", str),  # path (SeaweedFS, MinIO, Ceph) or virtual (AWS)
    "S3_REDIRECT": (True, bool),  # downloads: 302 to a presigned URL, or (0) the hub proxies the bytes
    "S3_URL_TTL": (600, int),  # seconds a presigned download URL is valid
    "S3_PUBLIC_ENDPOINT": (None, str),  # the store as clients reach it, if not S3_ENDPOINT
    "REPOS_DIR": (None, str),  # the git repositories (default: DATA_DIR/repos); several nodes share one
    "PUBLIC_URL": (None, str),  # the URL clients use, if not the Host header (behind a proxy)
    "SECRET_KEY": (None, str),
    "LFS_THRESHOLD": (10 * MB, int),
    "REGULAR_UPLOAD_MAX": (10 * MB, int),
    "MAX_COMMIT_BYTES": (20 * 1024 * MB, int),
    "MAX_LFS_OBJECT_BYTES": (100 * 1024 * MB, int),
    "MAX_PUSH_BYTES": (5 * 1024 * MB, int),  # one git pack (large files travel through LFS)
    "STALE_UPLOAD_HOURS": (6.0, float),  # `serve` removes partial uploads untouched this long
    "PAGE_SIZE": (100, int),  # listings (models, commits); trees use TREE_PAGE_SIZE
    "TREE_PAGE_SIZE": (1000, int),
    "AUTO_MIGRATE": (True, bool),
    # git smart HTTP (clone/fetch/push). 0 makes those routes answer 404, as on a hub that serves
    # only the HF HTTP API (the LFS batch API and /resolve keep working); `sync pull` then falls back.
    "GIT_HTTP": (True, bool),
    # The search index: "whoosh" (a folder per node, under DATA_DIR/search) or "postgres" (one index
    # in the PostgreSQL database, shared by every node: search_index/postgres.py).
    "SEARCH": ("whoosh", str),
    "SEARCH_WORKER": (True, bool),  # run the (single, lock-elected) search index writer in this process
    # Serving workers run the cluster-wide background jobs (hub/housekeeping.py), checked this often.
    "BACKGROUND_JOBS": (True, bool),
    "JOBS_CHECK_SECONDS": (60.0, float),
    "REFUSE_DANGEROUS_UPLOADS": (False, bool),  # refuse commits/pushes of pickles with dangerous imports
    "STORAGE_GC": (False, bool),  # the daily `storage gc` background job (hub/housekeeping.py)
    "POSTS_PER_MINUTE": (10, int),  # comments per user (429 beyond)
    "POSTS_PER_HOUR": (120, int),
    "HOLD_FIRST_POSTS": (False, bool),  # new accounts' first comments wait for a moderator
    "NEW_ACCOUNT_HOURS": (24, int),
    # Web sessions (server-side rows, see models_registry/accounts.py) end after this long without
    # a request, and this long after sign-in whatever the activity.
    "SESSION_IDLE_DAYS": (7.0, float),
    "SESSION_MAX_DAYS": (30.0, float),
    # On-demand mirroring (models_registry/sync/on_demand.py): a missing repository whose id matches
    # MIRROR_ALLOW (comma-separated fnmatch patterns, e.g. "Qwen/*,THUDM/*") is pulled from
    # MIRROR_UPSTREAM on its first request; nothing else is ever fetched. Requests wait up to
    # MIRROR_WAIT seconds for the pull, then get 503 + Retry-After.
    "MIRROR_UPSTREAM": (None, str),
    "MIRROR_ALLOW": ("", str),
    "MIRROR_TOKEN": (None, str),
    "MIRROR_WAIT": (60, int),
    # Webhooks (community/webhooks.py): deliveries go only to public addresses unless a host name or
    # network is listed here (comma-separated: "localhost,127.0.0.0/8,10.1.0.0/16,ci.internal").
    "WEBHOOK_ALLOW_HOSTS": ("", str),
    "WEBHOOK_MAX_ATTEMPTS": (5, int),
    "WEBHOOK_RETRY_SECONDS": (10.0, float),  # first retry after this; each next one waits twice as long
    "WEBHOOK_TIMEOUT": (5.0, float),  # seconds to connect and between bytes of the answer
    "WEBHOOK_POLL_SECONDS": (1.0, float),  # how often a serving worker looks for events and due deliveries
}


def _coerce(value: str, kind: type) -> Any:
    if kind is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    for name, (default, kind) in SETTINGS.items():
        env = os.environ.get(f"MODELHUB_{name}")
        cfg[name] = _coerce(env, kind) if env not in (None, "") else default
    cfg.update(overrides or {})
    cfg["DATA_DIR"] = str(Path(cfg["DATA_DIR"]).resolve())
    return cfg


SEARCH_BACKENDS = ("whoosh", "postgres")


def search_backend(cfg: dict[str, Any]) -> str:
    """MODELHUB_SEARCH, checked at start-up: the postgres backend keeps its index in the hub's
    database, so it needs that database to be PostgreSQL."""
    backend = str(cfg["SEARCH"]).strip().lower()
    if backend not in SEARCH_BACKENDS:
        raise ValueError(f"MODELHUB_SEARCH={cfg['SEARCH']!r}: expected one of {', '.join(SEARCH_BACKENDS)}")
    if backend == "postgres" and not str(cfg["DATABASE_URL"] or "").startswith("postgresql"):
        raise ValueError("MODELHUB_SEARCH=postgres keeps the search index in the database, which must then be "
                         "PostgreSQL (MODELHUB_DATABASE_URL=postgresql+psycopg://...); "
                         f"this hub's database is {cfg['DATABASE_URL'] or 'the embedded SQLite one'}")
    return backend


def registry_settings(cfg: dict[str, Any]) -> RegistrySettings:
    return RegistrySettings.for_data_dir(
        Path(cfg["DATA_DIR"]), cfg["DATABASE_URL"], cfg["STORAGE_URL"],
        lfs_threshold=cfg["LFS_THRESHOLD"], regular_upload_max=cfg["REGULAR_UPLOAD_MAX"],
        max_commit_bytes=cfg["MAX_COMMIT_BYTES"], max_lfs_object_bytes=cfg["MAX_LFS_OBJECT_BYTES"],
        stale_upload_hours=cfg["STALE_UPLOAD_HOURS"], refuse_dangerous_uploads=cfg["REFUSE_DANGEROUS_UPLOADS"],
        repos_dir=Path(cfg["REPOS_DIR"]).resolve() if cfg["REPOS_DIR"] else None,
        s3=S3Options(endpoint=cfg["S3_ENDPOINT"], region=cfg["S3_REGION"], access_key=cfg["S3_ACCESS_KEY"],
                     secret_key=cfg["S3_SECRET_KEY"], addressing=cfg["S3_ADDRESSING"],
                     redirect=cfg["S3_REDIRECT"], url_ttl=cfg["S3_URL_TTL"],
                     public_endpoint=cfg["S3_PUBLIC_ENDPOINT"]),
    )


def webhook_settings(cfg: dict[str, Any]) -> WebhookSettings:
    """The webhooks' delivery rules; a malformed allow-list stops the start with a clear error."""
    try:
        allow = AllowList.parse(cfg["WEBHOOK_ALLOW_HOSTS"])
    except ValueError as e:
        raise SystemExit(f"MODELHUB_WEBHOOK_ALLOW_HOSTS: {e}") from None
    return WebhookSettings(allow=allow, max_attempts=max(1, cfg["WEBHOOK_MAX_ATTEMPTS"]),
                           retry_seconds=cfg["WEBHOOK_RETRY_SECONDS"], timeout=cfg["WEBHOOK_TIMEOUT"],
                           base_url=cfg["PUBLIC_URL"] or "")


def secret_key(cfg: dict[str, Any]) -> str:
    """The configured key, or one generated once and kept in the data folder (shared by all workers)."""
    if cfg.get("SECRET_KEY"):
        return str(cfg["SECRET_KEY"])
    path = Path(cfg["DATA_DIR"]) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        key = secrets.token_hex(32)
        f.write(key)
    return key
