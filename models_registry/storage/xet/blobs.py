"""A BlobStore that also answers for files uploaded through Xet, rebuilding them from xorbs.

Callers (resolve with Range, git-lfs downloads, the safetensors reader, mirroring) keep using
the sha256 BlobStore interface; `local_path` is None for a Xet-only file, so they stream `open`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ..blobs import BlobStore
from ..staging import StagedFile


class XetFiles(Protocol):
    """What this needs of the registry's Xet service (models_registry/xet.py)."""

    def file_by_sha256(self, sha256: str) -> Any: ...

    def open_file(self, row: Any) -> BinaryIO: ...


class XetBackedBlobStore:
    def __init__(self, inner: BlobStore, xet: XetFiles) -> None:
        self.inner = inner
        self.xet = xet

    def exists(self, oid: str) -> bool:
        return self.inner.exists(oid) or self.xet.file_by_sha256(oid) is not None

    def size(self, oid: str) -> int | None:
        size = self.inner.size(oid)
        if size is None:
            row = self.xet.file_by_sha256(oid)
            size = row.size if row is not None else None
        return size

    def put(self, staged: StagedFile) -> None:
        self.inner.put(staged)

    def open(self, oid: str) -> BinaryIO:
        if self.inner.exists(oid):
            return self.inner.open(oid)
        row = self.xet.file_by_sha256(oid)
        if row is None:
            raise FileNotFoundError(oid)
        return self.xet.open_file(row)

    def read_range(self, oid: str, offset: int, length: int) -> bytes:
        if self.inner.exists(oid):
            return self.inner.read_range(oid, offset, length)
        with self.open(oid) as f:  # rebuilt from xorbs: seek is what the Xet reader offers
            f.seek(offset)
            return f.read(length)

    def local_path(self, oid: str) -> Path | None:
        # Asked first, so that a store with no local paths (S3) costs no existence check here.
        path = self.inner.local_path(oid)
        return path if path is not None and self.inner.exists(oid) else None

    def download_url(self, oid: str, download_name: str | None = None) -> str | None:
        return self.inner.download_url(oid, download_name) if self.inner.exists(oid) else None

    def delete(self, oid: str) -> None:
        self.inner.delete(oid)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        # Anything backend-specific (e.g. LocalBlobStore.root) is the wrapped store's.
        return getattr(self.inner, name)
