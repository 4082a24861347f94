"""Content-addressed blob store for LFS objects, keyed by sha256.

Layout (local): ``<root>/<oid[:2]>/<oid[2:4]>/<oid>``, as git-lfs and the Hub lay them out. An
object appears under its final name only once complete and verified (rename from staging), so a
reader never sees a partial object, and the name is flushed to disk (storage/durable.py) before
any commit can reference it.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import BadRequest
from ..names import OID_RE
from ..settings import S3Options
from .durable import publish
from .staging import StagedFile


def check_oid(oid: str) -> str:
    if not isinstance(oid, str) or not OID_RE.match(oid):
        raise BadRequest(f"Invalid LFS object id {oid!r}: expected 64 lowercase hex digits (sha256)")
    return oid


class BlobStore(Protocol):
    """What the registry needs from blob storage: local disk (below) or S3-compatible (s3.py)."""

    def exists(self, oid: str) -> bool: ...

    def size(self, oid: str) -> int | None: ...

    def put(self, staged: StagedFile) -> None:
        """Publish a verified staged file under its sha256 (consumes the staging file)."""

    def open(self, oid: str) -> BinaryIO: ...

    def read_range(self, oid: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end): one ranged read, so a reader of
        a file's header (safetensors) fetches only that, whatever the file's size."""

    def local_path(self, oid: str) -> Path | None:
        """A path on local disk for zero-copy serving (sendfile), or None for remote stores."""

    def download_url(self, oid: str, download_name: str | None = None) -> str | None:
        """A short-lived URL clients may fetch the bytes from themselves (object storage), or None:
        then the hub serves them."""

    def delete(self, oid: str) -> None: ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, oid: str) -> Path:
        check_oid(oid)
        return self.root / oid[:2] / oid[2:4] / oid

    def exists(self, oid: str) -> bool:
        return self._path(oid).is_file()

    def size(self, oid: str) -> int | None:
        try:
            return self._path(oid).stat().st_size
        except FileNotFoundError:
            return None

    def put(self, staged: StagedFile) -> None:
        target = self._path(staged.sha256)
        if target.exists():
            staged.discard()
            return
        publish(staged.path, target)

    def open(self, oid: str) -> BinaryIO:
        return open(self._path(oid), "rb")

    def read_range(self, oid: str, offset: int, length: int) -> bytes:
        with open(self._path(oid), "rb") as f:
            f.seek(offset)
            return f.read(length)

    def local_path(self, oid: str) -> Path | None:
        return self._path(oid)

    def download_url(self, oid: str, download_name: str | None = None) -> str | None:
        return None

    def delete(self, oid: str) -> None:
        try:
            self._path(oid).unlink()
        except FileNotFoundError:
            pass


def open_blob_store(url: str, s3: S3Options | None = None) -> BlobStore:
    """``file:///path`` or a bare path -> LocalBlobStore; ``s3://BUCKET/PREFIX`` -> S3BlobStore."""
    if url.startswith("file://"):
        return LocalBlobStore(Path(url[len("file://"):]))
    if url.startswith("s3://"):
        from .s3 import S3BlobStore

        return S3BlobStore(url, s3 or S3Options())
    if "://" in url:
        raise ValueError(f"Unsupported storage URL {url!r} (supported: file://PATH, s3://BUCKET/PREFIX)")
    return LocalBlobStore(Path(url))
