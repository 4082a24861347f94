"""What a commit cannot change, remembered per process: the file at a path of a commit (its blob,
size and LFS pointer, or its absence), the commit that last changed a path as seen from a commit,
the total size of a commit's files, and the bytes of small blobs.

Why: `snapshot_download` and mirrors fetch a repository's small files (configs, tokenizers) by the
thousand, each as a HEAD and a GET, and resolving one took a repository open, a tree walk and a
database query, twice per file. A commit id names its tree for good, and a blob sha its bytes, so
these answers never go stale: no invalidation, only a bound on memory (least recently used out).
Keys carry the repository's storage key: a commit resolved in one repository says nothing about
another (a sha is only readable where it was found). Moving a branch changes which commit a name
resolves to, which is read from the refs each time (`GitStore.branch_tip`), never cached here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from .records import LfsInfo

K = TypeVar("K")
V = TypeVar("V")

ABSENT = object()  # no file at that path of that commit (a folder, or nothing)
FileFact = tuple[str, int, LfsInfo | None]  # blob sha, size, LFS pointer

MAX_FILES = 20_000
SMALL_BLOB = 64 * 1024  # bytes: configs, tokenizers, cards; larger reads go to git
MAX_BLOB_BYTES = 32 * 1024 * 1024


class _Lru(Generic[K, V]):
    """A thread-safe LRU map bounded by a total weight."""

    def __init__(self, max_weight: int) -> None:
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._max = max_weight
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int = 1) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, weight)
            self._weight += weight
            while self._weight > self._max and self._items:
                _, (_, w) = self._items.popitem(last=False)
                self._weight -= w


class FileFacts:
    def __init__(self, max_files: int = MAX_FILES, max_blob_bytes: int = MAX_BLOB_BYTES) -> None:
        self._files: _Lru[tuple[str, str, str], object] = _Lru(max_files)
        self._changes: _Lru[tuple[str, str, str], object] = _Lru(max_files)
        self._blobs: _Lru[str, bytes] = _Lru(max_blob_bytes)
        self._totals: _Lru[tuple[str, str], int] = _Lru(max_files)

    def last_change(self, storage_key: str, commit: str, path: str) -> object | None:
        """The commit (storage.gitrepo.CommitData) that last changed `path` as of `commit`, if known."""
        return self._changes.get((storage_key, commit, path))

    def remember_last_change(self, storage_key: str, commit: str, path: str, change: object) -> None:
        self._changes.put((storage_key, commit, path), change)

    def total_size(self, storage_key: str, commit: str) -> int | None:
        """The sum of the sizes of all files at `commit`, if known."""
        return self._totals.get((storage_key, commit))

    def remember_total_size(self, storage_key: str, commit: str, size: int) -> None:
        self._totals.put((storage_key, commit), size)

    def file(self, storage_key: str, commit: str, path: str) -> FileFact | object | None:
        """The fact remembered for `path` at `commit` (ABSENT for no file), or None if unknown."""
        return self._files.get((storage_key, commit, path))

    def remember_file(self, storage_key: str, commit: str, path: str, fact: FileFact | object) -> None:
        self._files.put((storage_key, commit, path), fact)

    def blob(self, sha: str) -> bytes | None:
        return self._blobs.get(sha)

    def remember_blob(self, sha: str, data: bytes) -> None:
        if len(data) <= SMALL_BLOB:
            self._blobs.put(sha, data, max(1, len(data)))
