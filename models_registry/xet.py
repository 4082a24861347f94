"""Xet uploads and downloads as the registry sees them: which xorbs and files are recorded, which
repository may read a file, and the global dedup index. The bytes are the store's
(storage/xet/store.py), which only stores.

A xorb's row comes after its file is published; a file's rows (and its sha256 as an LFS object
linked to the repository) only after the whole shard was verified: every term's chunks, every file
hash, and every file's bytes against the sha256 the shard declares.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from .clock import utcnow
from .db import Database
from .errors import BadRequest, NotFound, StorageUnavailable
from .locks import Locks
from .object_use import USE_REFRESH, mark_used, mark_xorbs_used, xorb_lock
from .tables import LfsObject, RepoLfsObject, XetChunk, XetFile, XetFileXorb, XetXorb
from .storage.staging import SHA1_MAX_SECOND_PASS
from .storage.xet.hashing import dedup_eligible, file_hash, hash_to_str, str_to_hash, verification_hash
from .storage.xet.rehash import hash_file
from .storage.xet.shard import MAX_SHARD_BYTES, DedupXorb, InvalidShard, build_dedup_shard, parse_shard
from .storage.xet.store import COPY_BUFFER, PlannedTerm, XetStore
from .storage.xet.xorb import MAX_XORB_BYTES, ChunkInfo

# A dedup answer lists the xorbs of at most this many files using the queried xorb, and at most
# this many xorbs in all (~64 MiB of data each; the answer stays around 1.5 MB).
DEDUP_FILES = 4
DEDUP_XORBS = 32


@dataclass(frozen=True)
class RegisteredFile:
    file_hash: str
    sha256: str
    size: int


# Built once: every LFS download asks (for the X-Xet-Hash header).
_FILE_BY_SHA256 = select(XetFile).where(XetFile.sha256 == bindparam("sha256")).limit(1)


class Xet:
    def __init__(self, db: Database, store: XetStore, locks: Locks) -> None:
        self.db = db
        self.store = store
        self.locks = locks

    # ---- the store's, for the transfer views --------------------------------------------------
    def sweep(self, max_age: float, now: float | None = None) -> int:
        return self.store.sweep(max_age, now)

    def xorb_path(self, h: str) -> Path | None:
        return self.store.xorb_path(h)

    def xorb_url(self, h: str) -> str | None:
        return self.store.xorb_url(h)

    def open_xorb(self, h: str) -> BinaryIO:
        return self.store.open_xorb(h)

    def load_index(self, h: str) -> tuple[list[ChunkInfo], int]:
        return self.store.load_index(h)

    # ---- xorbs ---------------------------------------------------------------------------------
    def has_xorb(self, h: str) -> bool:
        with self.db.session() as s:
            return s.get(XetXorb, h) is not None

    def put_xorb(self, h: str, body: BinaryIO, limit: int = MAX_XORB_BYTES + 1024 * 1024,
                 body_length: int | None = None) -> bool:
        """Verify and store a xorb read from `body` (`body_length` bytes, when the request said so);
        False if it was already stored."""
        try:
            str_to_hash(h)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        if self.has_xorb(h):
            for _ in iter(lambda: body.read(COPY_BUFFER), b""):  # drain: the client sent it anyway
                pass
            return False
        info = self.store.receive_xorb(h, body, limit, body_length)
        eligible = {hash_to_str(c.hash): i for i, c in enumerate(info.chunks) if dedup_eligible(c.hash)}
        eligible.setdefault(hash_to_str(info.chunks[0].hash), 0)
        # Garbage collection deletes a xorb's row, then its bytes, under this lock: the bytes just
        # stored are still there once the row is recorded (or the upload is refused, to be retried).
        with self.locks.hold(xorb_lock(h)):
            if not self.store.has_xorb(h):
                raise StorageUnavailable(f"Xorb {h} was removed by garbage collection as it arrived; upload it again")
            try:
                with self.db.session(write=True) as s:
                    if s.get(XetXorb, h) is not None:
                        return False
                    s.add(XetXorb(hash=h, num_chunks=len(info.chunks), unpacked_bytes=info.unpacked_bytes,
                                  stored_bytes=info.stored_bytes))
                    s.flush()
                    known = set(s.scalars(select(XetChunk.hash).where(XetChunk.hash.in_(list(eligible)))))
                    for ch, i in eligible.items():
                        if ch not in known:
                            s.add(XetChunk(hash=ch, xorb_hash=h, chunk_index=i))
            except IntegrityError:
                return False  # a concurrent upload of the same xorb won
        return True

    def stored_bytes(self) -> int:
        """Bytes of all stored xorbs (what dedup saves)."""
        with self.db.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(XetXorb.stored_bytes), 0))))

    # ---- global dedup --------------------------------------------------------------------------
    def dedup_shard(self, chunk: str) -> bytes:
        """The dedup answer for an eligible chunk: the xorb holding it, then the other xorbs of files
        using that xorb (a re-upload of a changed file finds all of its old parts from one query),
        chunk hashes behind a fresh HMAC key so that only a holder of a chunk learns where it is."""
        try:
            str_to_hash(chunk)
        except ValueError as e:
            raise BadRequest(str(e)) from None
        with self.db.session() as s:
            row = s.get(XetChunk, chunk)
            if row is None:
                raise NotFound(f"Chunk {chunk} is not known to global deduplication")
            names = [row.xorb_hash]
            files = s.scalars(select(XetFileXorb.file_hash).where(XetFileXorb.xorb_hash == row.xorb_hash)
                              .limit(DEDUP_FILES)).all()
            for fh in files:
                for xh in s.scalars(select(XetFileXorb.xorb_hash).where(XetFileXorb.file_hash == fh)
                                    .order_by(XetFileXorb.position)):
                    if xh not in names and len(names) < DEDUP_XORBS:
                        names.append(xh)
            rows = {x.hash: x for x in s.scalars(select(XetXorb).where(XetXorb.hash.in_(names)))}
        # The client may name these xorbs in uploads for the shard's lifetime without sending them:
        # garbage collection keeps them (storage_gc.py); one that it took meanwhile is left out.
        stale = {h for h, x in rows.items() if x.used_at is None or x.used_at < utcnow() - USE_REFRESH}
        if stale:
            with self.db.session(write=True) as s:
                for h in mark_xorbs_used(s, stale):
                    del rows[h]
        answer = []
        for name in names:
            if name in rows:
                chunks, _ = self.store.load_index(name)
                answer.append(DedupXorb(name, [(c.hash, c.offset, c.size) for c in chunks],
                                        rows[name].unpacked_bytes, rows[name].stored_bytes))
        return build_dedup_shard(answer, secrets.token_bytes(32))

    # ---- shards and files ----------------------------------------------------------------------
    def register_shard(self, data: bytes, repo_id: int) -> list[RegisteredFile]:
        """Verify a shard completely, then record its files and link their sha256 to the repository.

        Nothing is recorded unless every xorb it names exists, every term's verification hash and
        every file hash matches, and every file's bytes hash to the sha256 the shard declares.
        """
        shard = parse_shard(data)
        for cas in shard.xorbs:
            if not self.has_xorb(cas.xorb):
                raise InvalidShard(f"Shard names xorb {cas.xorb}, which was never uploaded")
        # Files are hashed in parallel (hashlib releases the GIL): an upload_folder shard verifies
        # its files at the speed of the CPUs, not of one.
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            verified = list(pool.map(self._verify_file, shard.files))
        for attempt in range(2):  # a concurrent registration of the same file may win the insert
            try:
                self._record(verified, repo_id)
                break
            except IntegrityError:
                if attempt:
                    raise
        return [RegisteredFile(r.file_hash, r.sha256, r.size) for r, _ in verified]

    def _record(self, verified: list[tuple[XetFile, str | None]], repo_id: int) -> None:
        """Record verified files and link their sha256 to the repository, in one transaction."""
        with self.db.session(write=True) as s:
            # Before anything names them: garbage collection keeps these xorbs and objects now.
            collected = mark_xorbs_used(s, {t[0] for row, _ in verified for t in row.terms})
            if collected:
                raise InvalidShard(f"Xorb {min(collected)} was removed by garbage collection; upload it again")
            mark_used(s, {row.sha256 for row, _ in verified})
            for row, sha1 in verified:
                if s.get(XetFile, row.file_hash) is None:
                    s.add(row)
                    s.flush()
                    seen: list[str] = []
                    for t in row.terms:
                        if t[0] not in seen:
                            seen.append(t[0])
                    for position, xh in enumerate(seen):
                        s.add(XetFileXorb(file_hash=row.file_hash, xorb_hash=xh, position=position))
                if s.get(LfsObject, row.sha256) is None:
                    s.add(LfsObject(oid=row.sha256, size=row.size, sha1=sha1))
                s.flush()
                if s.get(RepoLfsObject, (repo_id, row.sha256)) is None:
                    s.add(RepoLfsObject(repo_id=repo_id, oid=row.sha256))
                first = hash_to_str(self.store.load_index(row.terms[0][0])[0][row.terms[0][1]].hash)
                if s.get(XetChunk, first) is None:
                    s.add(XetChunk(hash=first, xorb_hash=row.terms[0][0], chunk_index=row.terms[0][1]))
                s.flush()

    def _verify_file(self, f) -> tuple[XetFile, str | None]:  # type: ignore[no-untyped-def]
        if f.sha256 is None:
            raise InvalidShard(f"File {f.file_hash} has no sha256 (metadata extension) in the shard")
        leaves: list[tuple[bytes, int]] = []
        terms: list[list] = []
        for t, vhash in zip(f.terms, f.verification or []):
            if not self.has_xorb(t.xorb):
                raise InvalidShard(f"Shard names xorb {t.xorb}, which was never uploaded")
            chunks, _ = self.store.load_index(t.xorb)
            if t.chunk_end > len(chunks):
                raise InvalidShard(f"Term [{t.chunk_start}, {t.chunk_end}) is outside xorb {t.xorb} "
                                   f"({len(chunks)} chunks)")
            part = chunks[t.chunk_start:t.chunk_end]
            if sum(c.size for c in part) != t.unpacked_bytes:
                raise InvalidShard(f"Term of xorb {t.xorb} declares {t.unpacked_bytes} bytes, its chunks hold "
                                   f"{sum(c.size for c in part)}")
            if verification_hash([c.hash for c in part]) != vhash:
                raise InvalidShard(f"Verification hash mismatch for a term of xorb {t.xorb}")
            leaves += [(c.hash, c.size) for c in part]
            terms.append([t.xorb, t.chunk_start, t.chunk_end, t.unpacked_bytes])
        if hash_to_str(file_hash(leaves)) != f.file_hash:
            raise InvalidShard(f"File hash mismatch: the terms hash to {hash_to_str(file_hash(leaves))}, "
                               f"not {f.file_hash}")
        size = sum(t[3] for t in terms)
        known = self.file(f.file_hash)
        if known is not None:
            # Same file hash, same bytes: their sha256 was verified when first registered (a re-upload,
            # or a client retrying a slow shard upload, costs no second pass over the file).
            if known.sha256 != f.sha256:
                raise InvalidShard(f"sha256 mismatch for file {f.file_hash}: its bytes hash to {known.sha256}, "
                                   f"the shard says {f.sha256}")
            return XetFile(file_hash=f.file_hash, sha256=f.sha256, size=size, terms=terms), None
        # The git blob sha1 (only what preupload compares for inline uploads) is skipped for big files,
        # as for staged uploads: it would double the verification time of every large upload.
        sha256 = hashlib.sha256()
        sha1 = hashlib.sha1(f"blob {size}\0".encode()) if size <= SHA1_MAX_SECOND_PASS else None
        # On the client's critical path (it waits for the shard's answer): large reads, overlapped with hashing.
        hash_file(terms, self.store.load_index, self.store.open_xorb, [sha256] if sha1 is None else [sha256, sha1])
        if sha256.hexdigest() != f.sha256:
            raise InvalidShard(f"sha256 mismatch for file {f.file_hash}: its bytes hash to {sha256.hexdigest()}, "
                               f"the shard says {f.sha256}")
        return XetFile(file_hash=f.file_hash, sha256=f.sha256, size=size, terms=terms), (
            sha1.hexdigest() if sha1 is not None else None)

    def file(self, file_hash: str) -> XetFile | None:
        with self.db.session() as s:
            return s.get(XetFile, file_hash)

    def file_hashes(self, sha256s: list[str]) -> dict[str, str]:
        """sha256 -> Xet file hash, for those of `sha256s` uploaded through Xet (one query)."""
        if not sha256s:
            return {}
        with self.db.session() as s:
            rows = s.execute(select(XetFile.sha256, XetFile.file_hash).where(XetFile.sha256.in_(set(sha256s))))
            return {sha: fh for sha, fh in rows}

    def linked(self, repo_id: int, sha256: str) -> bool:
        """Whether the repository may read the object (it uploaded or references it)."""
        with self.db.session() as s:
            return s.get(RepoLfsObject, (repo_id, sha256)) is not None

    def file_by_sha256(self, sha256: str) -> XetFile | None:
        with self.db.session() as s:
            return s.scalars(_FILE_BY_SHA256, {"sha256": sha256}).first()

    def open_file(self, row: XetFile) -> BinaryIO:
        return self.store.open_file(row.terms, row.size)

    def plan_reconstruction(self, row: XetFile, start: int = 0,
                            end: int | None = None) -> tuple[int, list[PlannedTerm]]:
        """The terms covering bytes [start, end] (inclusive) of a file: XetStore.plan_reconstruction."""
        return self.store.plan_reconstruction(row.terms, row.size, start, end)
