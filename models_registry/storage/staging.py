"""Incoming bytes are written to a staging file while every hash we need is computed in one pass.

Staging files live on the same filesystem as the blob store so that publishing one is a rename.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO

from . import scratch_owner
from .direct_writer import DirectWriter

CHUNK = 1 << 20
SAMPLE_BYTES = 8000  # git looks for a NUL byte in the first 8000 bytes to call a file binary
# The git blob sha1 of a file's *content* only matters for files a client may send inline
# (preupload compares it); beyond this size it is not computed at all (in the same pass as the
# sha256 it would still cost ~1 CPU-second per GiB of upload).
SHA1_MAX_SECOND_PASS = 128 * 1024 * 1024
# Uploads announced at least this large are written by another thread, with O_DIRECT (see
# direct_writer); below it a thread and 16 MiB of buffers are not worth their set-up.
DIRECT_MIN = 16 * 1024 * 1024


@dataclass
class StagedFile:
    """A file on local disk with its sha256, git blob sha1 and size already known."""

    path: Path
    size: int
    sha256: str
    sha1: str | None  # None for large files whose size was not known in advance
    head: bytes = field(repr=False, default=b"")

    @property
    def is_binary(self) -> bool:
        return b"\x00" in self.head

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def discard(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class StagingWriter:
    """File-like sink: write() chunks, then finish() once the size is known."""

    def __init__(self, directory: Path, max_bytes: int | None = None, expected_size: int | None = None) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix=scratch_owner.prefix("stage"))
        self._file = os.fdopen(fd, "wb")
        self.path = Path(name)
        self._sha256 = hashlib.sha256()
        # With the size known up front, the git sha1 (whose header holds the size) is one pass too.
        self.expected_size = expected_size
        self._sha1 = (hashlib.sha1(b"blob %d\x00" % expected_size)
                      if expected_size is not None and expected_size <= SHA1_MAX_SECOND_PASS else None)
        self.size = 0
        self.head = b""
        self.max_bytes = max_bytes
        self._direct: DirectWriter | None = None
        if expected_size is not None and expected_size >= DIRECT_MIN:
            self._direct = DirectWriter(self._file.fileno(), [h for h in (self._sha256, self._sha1) if h])

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._count(len(data))
        if len(self.head) < SAMPLE_BYTES:
            self.head += data[: SAMPLE_BYTES - len(self.head)]
        if self._direct is not None:
            self._direct.write(data)
            return
        self._sha256.update(data)
        if self._sha1 is not None:
            self._sha1.update(data)
        self._file.write(data)

    @property
    def takes_readinto(self) -> bool:
        """Whether fill_from() may be used: the bytes can then be received into our own buffers."""
        return self._direct is not None

    def fill_from(self, readinto: Callable[[memoryview], int], limit: int) -> None:
        """Receive up to `limit` bytes by calling `readinto` (io's protocol) until it returns 0:
        the head sample into a small buffer of its own, the rest straight into our buffers."""
        assert self._direct is not None
        while limit > 0 and len(self.head) < SAMPLE_BYTES:
            sample = bytearray(min(limit, SAMPLE_BYTES - len(self.head)))
            n = readinto(memoryview(sample)) or 0
            if n == 0:
                return
            self.write(sample[:n])
            limit -= n
        while limit > 0:
            n = self._direct.readinto_from(readinto, limit)
            if n == 0:
                return
            self._count(n)
            limit -= n

    def _count(self, n: int) -> None:
        self.size += n
        if self.max_bytes is not None and self.size > self.max_bytes:
            from ..errors import PayloadTooLarge

            self.abort()
            raise PayloadTooLarge(f"File larger than the limit of {self.max_bytes} bytes")

    def finish(self) -> StagedFile:
        if self._direct is not None:
            try:
                self._direct.close()
            except BaseException:
                self.abort()
                raise
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if self._sha1 is not None and self.size == self.expected_size:
            sha1: str | None = self._sha1.hexdigest()
        elif self.size <= SHA1_MAX_SECOND_PASS:
            # The size was not known (base64 inside a commit): a second pass over a file that is
            # still in the page cache.
            h = hashlib.sha1(b"blob %d\x00" % self.size)
            with open(self.path, "rb") as f:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
            sha1 = h.hexdigest()
        else:
            sha1 = None
        return StagedFile(self.path, self.size, self._sha256.hexdigest(), sha1, self.head)

    def abort(self) -> None:
        try:
            if self._direct is not None:
                self._direct.abort()
            self._file.close()
        finally:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


class Stager:
    """Creates staging files under one directory (``<data>/tmp``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def sweep(self, max_age: float, now: float | None = None) -> int:
        """Delete staging files a stopped process left behind (see remove_stale)."""
        return remove_stale(self.directory, "stage-*", max_age, now)

    def writer(self, max_bytes: int | None = None, expected_size: int | None = None) -> StagingWriter:
        return StagingWriter(self.directory, max_bytes, expected_size)

    def from_stream(self, stream: BinaryIO, max_bytes: int | None = None, length: int | None = None) -> StagedFile:
        w = self.writer(max_bytes, expected_size=length)
        try:
            if w.takes_readinto and length is not None and hasattr(stream, "readinto"):
                w.fill_from(stream.readinto, length)  # type: ignore[arg-type]
            else:
                remaining = length
                while (n := CHUNK if remaining is None else min(CHUNK, remaining)) and (chunk := stream.read(n)):
                    w.write(chunk)
                    if remaining is not None:
                        remaining -= len(chunk)
        except BaseException:
            w.abort()
            raise
        return w.finish()

    def from_file(self, source: Path, link: bool = False,
                  progress: Callable[[int], None] | None = None) -> StagedFile:
        """Stage a file already on this machine (imports): copied while it is hashed, or, with
        `link`, hard-linked into the staging folder and then hashed — one read either way.

        A hard link shares the inode with `source`: whoever rewrites `source` in place would change
        the stored object behind our back, so linking is for immutable sources (a Hugging Face
        cache's blobs) and only when asked. Across filesystems it falls back to copying."""
        size = source.stat().st_size
        if link:
            path = Path(tempfile.mkstemp(dir=self.directory, prefix=scratch_owner.prefix("stage"))[1])
            path.unlink()
            try:
                os.link(source.resolve(), path)  # the file itself, not a symlink to it
            except OSError:  # another filesystem, or links not allowed: copy instead
                link = False
            else:
                try:
                    return _hash_in_place(path, size, progress)
                except BaseException:
                    path.unlink(missing_ok=True)
                    raise
        w = self.writer(expected_size=size)
        try:
            with open(source, "rb") as f:
                while chunk := f.read(CHUNK):
                    w.write(chunk)
                    if progress:
                        progress(len(chunk))
        except BaseException:
            w.abort()
            raise
        return w.finish()

    def from_bytes(self, data: bytes) -> StagedFile:
        w = self.writer()
        w.write(data)
        return w.finish()


def remove_stale(folder: Path, pattern: str, max_age: float, now: float | None = None) -> int:
    """Delete the files matching `pattern` directly in `folder` whose writer has died
    (scratch_owner), or whose inode has not changed for `max_age` seconds; returns how many. Why: a
    process killed in the middle of an upload (or a power cut) leaves its partial file behind, up to
    the size of a model, and nothing else ever removes it. The inode's ctime, not mtime: every write
    and the hard link of Stager.from_file(link=True) update it, so a file that is still being
    filled never looks old."""
    now = time.time() if now is None else now
    removed = 0
    for path in folder.glob(pattern):
        try:
            st = path.lstat()
            if stat.S_ISREG(st.st_mode) and (scratch_owner.owner_gone(path.name) or now - st.st_ctime >= max_age):
                path.unlink()
                removed += 1
        except FileNotFoundError:  # its writer finished (renamed it) meanwhile
            continue
    return removed


def _hash_in_place(path: Path, size: int, progress: Callable[[int], None] | None) -> StagedFile:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(b"blob %d\x00" % size)
    head = b""
    read = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if len(head) < SAMPLE_BYTES:
                head += chunk[: SAMPLE_BYTES - len(head)]
            sha256.update(chunk)
            sha1.update(chunk)
            read += len(chunk)
            if progress:
                progress(len(chunk))
        os.fsync(f.fileno())  # the linked inode's bytes may still be only in the page cache
    if read != size:
        raise OSError(f"{path} changed size while it was being read")
    return StagedFile(path, size, sha256.hexdigest(), sha1.hexdigest(), head)
