"""Xet storage: content-addressed xorbs on disk and their chunk indexes. Bytes only: which xorbs and
files are recorded, who may read them and the dedup index are the registry's (models_registry/xet.py).

Layout under ``<data>/xet/``: ``xorbs/<h[:2]>/<h>`` (the xorb exactly as uploaded, so that its
byte ranges can be served to Xet clients as they are) and ``xorbs/<h[:2]>/<h>.idx`` (our chunk
index: hash, offset and length of every chunk). A xorb appears under its name only after every
chunk was decompressed and hashed and the xorb hash matched.

With object storage (`remote`, an S3Objects), a xorb is received and verified on local scratch
as always, then uploaded, index first, under the same names as keys (``xet/xorbs/...``); reads
are ranged GETs and clients fetch xorb ranges from presigned URLs.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ...errors import BadRequest, NotFound
from .. import scratch_owner
from ..direct_writer import DirectWriter
from ..durable import publish, write_file
from ..staging import remove_stale
from .hashing import str_to_hash
from .reader import open_reader
from .xorb import MAX_XORB_BYTES, ChunkInfo, XorbInfo, XorbVerifier, decode_index, encode_index

if TYPE_CHECKING:
    from ..s3 import S3Objects

COPY_BUFFER = 1024 * 1024


class XetStore:
    def __init__(self, root: Path, remote: S3Objects | None = None) -> None:
        self.root = root
        self.remote = remote
        self.xorb_dir = root / "xorbs"
        self.tmp_dir = root / "tmp"
        self.xorb_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._index_cache: dict[str, tuple[list[ChunkInfo], int]] = {}

    def sweep(self, max_age: float, now: float | None = None) -> int:
        """Delete xorbs a stopped process left half-received (staging.remove_stale)."""
        return remove_stale(self.tmp_dir, "xorb-*", max_age, now)

    def _xorb_path(self, h: str) -> Path:
        str_to_hash(h)  # validates
        return self.xorb_dir / h[:2] / h

    @staticmethod
    def _key(h: str) -> str:
        str_to_hash(h)  # validates
        return f"xet/xorbs/{h[:2]}/{h}"

    def xorb_path(self, h: str) -> Path | None:
        """Where a stored xorb lives on local disk (NotFound if it is not stored), None on object
        storage (then `xorb_url`)."""
        try:
            path = self._xorb_path(h)
        except ValueError:
            raise NotFound(f"Xorb {h} not found") from None
        if self.remote is not None:
            return None
        if not path.is_file():
            raise NotFound(f"Xorb {h} not found")
        return path

    def has_xorb(self, h: str) -> bool:
        """Whether the xorb's bytes are stored (the database says which xorbs should be)."""
        if self.remote is not None:
            return self.remote.size(self._key(h)) is not None
        return self._xorb_path(h).is_file()

    def delete_xorb(self, h: str) -> None:
        """Remove a xorb and its index (garbage collection; the database row goes first)."""
        self._index_cache.pop(h, None)
        if self.remote is not None:
            self.remote.delete(self._key(h) + ".idx")
            self.remote.delete(self._key(h))
            return
        path = self._xorb_path(h)
        for p in (path.with_suffix(".idx"), path):
            p.unlink(missing_ok=True)

    def xorb_url(self, h: str) -> str | None:
        """A presigned GET of a xorb on object storage (clients ask it for their byte range); None
        on local disk, or when the hub proxies (MODELHUB_S3_REDIRECT=0)."""
        if self.remote is None or not self.remote.options.redirect:
            return None
        return self.remote.url(self._key(h))

    def open_xorb(self, h: str) -> BinaryIO:
        if self.remote is not None:
            key = self._key(h)
            size = self.remote.size(key)
            if size is None:
                raise FileNotFoundError(key)
            return self.remote.open(key, size)
        return open(self._xorb_path(h), "rb")

    def load_index(self, h: str) -> tuple[list[ChunkInfo], int]:
        cached = self._index_cache.get(h)
        if cached is None:
            raw = (self.remote.read_bytes(self._key(h) + ".idx") if self.remote is not None
                   else self._xorb_path(h).with_suffix(".idx").read_bytes())
            cached = decode_index(raw)
            if len(self._index_cache) > 256:
                self._index_cache.clear()
            self._index_cache[h] = cached
        return cached

    def receive_xorb(self, h: str, body: BinaryIO, limit: int = MAX_XORB_BYTES + 1024 * 1024,
                     body_length: int | None = None) -> XorbInfo:
        """Verify a xorb read from `body` (`body_length` bytes, when the request said so) as it
        arrives and publish it with its index under its name; what was in it."""
        try:
            str_to_hash(h)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        fd, tmp = tempfile.mkstemp(prefix=scratch_owner.prefix("xorb"), dir=self.tmp_dir)
        try:
            verifier = XorbVerifier(h, limit)  # verified as it arrives: one pass, no re-read
            try:
                # Around the page cache, as large LFS uploads (direct_writer): filling fresh page-cache
                # pages was ~40% of the server's time in a Xet upload here. The verifier sees each
                # 2 MiB block as the writer's hashes do.
                writer = DirectWriter(fd, [verifier])
                try:
                    if body_length is not None and hasattr(body, "readinto"):  # straight into its buffers
                        left = min(body_length, limit + 1)  # one byte over the limit is enough to refuse it
                        while left > 0 and (n := writer.readinto_from(body.readinto, left)):
                            left -= n
                    else:
                        for block in iter(lambda: body.read(COPY_BUFFER), b""):
                            writer.write(block)
                    writer.close()
                except BaseException:
                    writer.abort()
                    raise
                info = verifier.finish()
                # Durable before it is named, like staged LFS uploads: once the client is told the
                # xorb is stored it will never send it again, and shards will reference it.
                os.fsync(fd)
            finally:
                os.close(fd)
            target = self._xorb_path(h)
            index_tmp = Path(tmp + ".idx")
            write_file(index_tmp, encode_index(info))
            if self.remote is not None:  # the index first: a readable xorb has one
                self.remote.put_file(index_tmp, self._key(h) + ".idx", index_tmp.stat().st_size)
                self.remote.put_file(Path(tmp), self._key(h), os.path.getsize(tmp))
                return info  # the finally below removes the local copies
            publish(index_tmp, target.with_suffix(".idx"))
            publish(tmp, target)
            tmp = None
        finally:
            if tmp is not None:
                for leftover in (tmp, tmp + ".idx"):
                    if os.path.exists(leftover):
                        os.unlink(leftover)
        return info

    def open_file(self, terms: list[list], size: int) -> BinaryIO:
        """A file's bytes, rebuilt from its terms ([xorb, first chunk, end chunk, bytes])."""
        return open_reader(terms, size, self.load_index, self.open_xorb)

    def plan_reconstruction(self, terms: list[list], size: int, start: int = 0,
                            end: int | None = None) -> tuple[int, list[PlannedTerm]]:
        """The terms covering bytes [start, end] (inclusive) of a file, trimmed to whole chunks, with
        the byte range of each term's chunks in its xorb; and the offset of `start` in the first one."""
        end = size - 1 if end is None else min(end, size - 1)
        out: list[PlannedTerm] = []
        offset = 0
        pos = 0
        for xorb, c0, c1, length in terms:
            if pos > end:
                break
            if pos + length <= start:
                pos += length
                continue
            chunks, chunks_end = self.load_index(xorb)
            first, last = c0, c1  # trimmed [first, last)
            p = pos
            for i in range(c0, c1):
                size_i = chunks[i].size
                if p + size_i <= start:
                    first = i + 1
                    p += size_i
                    continue
                break
            if not out:
                offset = start - p
            q = pos
            for i in range(c0, c1):
                q += chunks[i].size
                if q > end:
                    last = i + 1
                    break
            byte_end = chunks[last].offset if last < len(chunks) else chunks_end
            out.append(PlannedTerm(xorb, first, last, sum(c.size for c in chunks[first:last]),
                                   chunks[first].offset, byte_end - 1))
            pos += length
        return offset, out


@dataclass(frozen=True)
class PlannedTerm:
    xorb: str
    chunk_start: int
    chunk_end: int
    unpacked_bytes: int
    byte_start: int  # in the serialized xorb
    byte_end: int  # inclusive
