"""Shard parsing and building (spec: docs/xet/shard.md).

An uploaded shard lists file reconstructions (File Info section: terms, one verification hash per
term, the file's sha256) and the xorbs the client created (CAS Info section). A dedup answer is a
shard with no files and one CAS Info block, with a footer carrying the HMAC key that protects its
chunk hashes.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

from ...errors import BadRequest
from .hashing import hash_to_str, hmac_hash

HEADER_TAG = bytes([72, 70, 82, 101, 112, 111, 77, 101, 116, 97, 68, 97, 116, 97, 0, 85,
                    105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169])
HEADER_VERSION = 2
FOOTER_VERSION = 1
FOOTER_SIZE = 200
ENTRY_SIZE = 48
BOOKEND = b"\xff" * 32 + b"\x00" * 16
FLAG_WITH_VERIFICATION = 1 << 31
FLAG_WITH_METADATA_EXT = 1 << 30
MAX_SHARD_BYTES = 64 * 1024 * 1024


class InvalidShard(BadRequest):
    """A truncated, malformed or unverifiable shard."""


@dataclass(frozen=True)
class Term:
    xorb: str  # string form
    unpacked_bytes: int
    chunk_start: int
    chunk_end: int


@dataclass
class FileEntry:
    file_hash: str
    terms: list[Term]
    verification: list[bytes] | None
    sha256: str | None


@dataclass
class CasEntry:
    xorb: str
    num_chunks: int
    unpacked_bytes: int
    stored_bytes: int
    chunks: list[tuple[bytes, int, int]] = field(default_factory=list)  # (hash, byte start, size)


@dataclass
class Shard:
    files: list[FileEntry]
    xorbs: list[CasEntry]


class _Cursor:
    def __init__(self, data: bytes, end: int) -> None:
        self.data, self.pos, self.end = data, 0, end

    def take(self, n: int) -> bytes:
        if self.pos + n > self.end:
            raise InvalidShard("Truncated shard: a section ends before its bookend")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def parse_shard(data: bytes) -> Shard:
    if len(data) > MAX_SHARD_BYTES:
        raise InvalidShard("Shard exceeds the 64 MiB limit")
    if len(data) < 48 or data[:32] != HEADER_TAG:
        raise InvalidShard("Not a shard: missing the shard header tag")
    version, footer_size = struct.unpack_from("<QQ", data, 32)
    if version != HEADER_VERSION:
        raise InvalidShard(f"Unsupported shard header version {version}")
    if footer_size not in (0, FOOTER_SIZE) or footer_size > len(data) - 48:
        raise InvalidShard(f"Invalid shard footer size {footer_size}")
    cur = _Cursor(data, len(data) - footer_size)
    cur.pos = 48
    files: list[FileEntry] = []
    while True:
        entry = cur.take(ENTRY_SIZE)
        if entry == BOOKEND:
            break
        if entry[:32] == b"\xff" * 32:
            raise InvalidShard("Malformed file info bookend")
        flags, n = struct.unpack_from("<II", entry, 32)
        if n == 0:
            raise InvalidShard("A file reconstruction needs at least one term")
        terms = []
        for _ in range(n):
            t = cur.take(ENTRY_SIZE)
            _flags, unpacked, start, end = struct.unpack_from("<IIII", t, 32)
            if end <= start:
                raise InvalidShard(f"Invalid chunk range [{start}, {end}) in a file term")
            terms.append(Term(hash_to_str(t[:32]), unpacked, start, end))
        verification = None
        if flags & FLAG_WITH_VERIFICATION:
            verification = [cur.take(ENTRY_SIZE)[:32] for _ in range(n)]
        sha256 = None
        if flags & FLAG_WITH_METADATA_EXT:
            # stored like every other hash: as four little-endian words
            sha256 = hash_to_str(cur.take(ENTRY_SIZE)[:32])
        files.append(FileEntry(hash_to_str(entry[:32]), terms, verification, sha256))
    xorbs: list[CasEntry] = []
    while True:
        entry = cur.take(ENTRY_SIZE)
        if entry == BOOKEND:
            break
        _flags, n, unpacked, stored = struct.unpack_from("<IIII", entry, 32)
        cas = CasEntry(hash_to_str(entry[:32]), n, unpacked, stored)
        for _ in range(n):
            c = cur.take(ENTRY_SIZE)
            start, size = struct.unpack_from("<II", c, 32)
            cas.chunks.append((c[:32], start, size))
        xorbs.append(cas)
    if cur.pos != cur.end and not footer_size:  # with a footer, lookup tables may follow
        raise InvalidShard("Trailing bytes after the shard's CAS info section")
    if footer_size:
        fversion = struct.unpack_from("<Q", data, cur.end)[0]
        if fversion != FOOTER_VERSION:
            raise InvalidShard(f"Unsupported shard footer version {fversion}")
    if any(f.verification is None for f in files):
        raise InvalidShard("Every file in an uploaded shard needs verification entries")
    return Shard(files, xorbs)




def _truncated(h: bytes) -> int:
    return int.from_bytes(h[:8], "little")


@dataclass(frozen=True)
class DedupXorb:
    hash: str
    chunks: list[tuple[bytes, int, int]]  # (raw chunk hash, byte offset in the xorb, size)
    unpacked: int
    stored: int


def build_dedup_shard(xorbs: list[DedupXorb], hmac_key: bytes, expiry_seconds: int = 7 * 24 * 3600) -> bytes:
    """A shard with one CAS Info block per xorb, chunk hashes protected with `hmac_key`.

    After the CAS Info section come the sorted lookup tables the client indexes shards with
    (files: none; xorbs: truncated hash -> entry index of the block; chunks: truncated hash ->
    (entry index of its block, chunk index)), whose offsets and counts fill the footer fields the
    spec lists as reserved.
    """
    from .hashing import str_to_hash

    out = [HEADER_TAG, struct.pack("<QQ", HEADER_VERSION, FOOTER_SIZE), BOOKEND]
    cas_offset = 48 + ENTRY_SIZE
    cas_keys: list[tuple[int, int]] = []
    chunk_keys: list[tuple[int, int, int]] = []
    entry = 0
    for x in xorbs:
        raw = str_to_hash(x.hash)
        cas_keys.append((_truncated(raw), entry))
        out.append(raw + struct.pack("<IIII", 0, len(x.chunks), x.unpacked, x.stored))
        for i, (h, start, size) in enumerate(x.chunks):
            protected = hmac_hash(h, hmac_key)
            chunk_keys.append((_truncated(protected), entry, i))
            out.append(protected + struct.pack("<II", start, size) + bytes(8))
        entry += 1 + len(x.chunks)
    out.append(BOOKEND)
    file_lookup = sum(len(p) for p in out)
    cas_lookup = file_lookup
    out += [struct.pack("<QI", k, e) for k, e in sorted(cas_keys)]
    chunk_lookup = cas_lookup + 12 * len(cas_keys)
    out += [struct.pack("<QII", k, e, i) for k, e, i in sorted(chunk_keys)]
    footer_offset = chunk_lookup + 16 * len(chunk_keys)
    now = int(time.time())
    stored = sum(x.stored for x in xorbs)
    unpacked = sum(x.unpacked for x in xorbs)
    footer = (struct.pack("<QQQ", FOOTER_VERSION, 48, cas_offset)
              + struct.pack("<QQQQQQ", file_lookup, 0, cas_lookup, len(cas_keys), chunk_lookup, len(chunk_keys))
              + hmac_key + struct.pack("<QQ", now, now + expiry_seconds) + bytes(48)
              + struct.pack("<QQQQ", stored, unpacked, unpacked, footer_offset))
    assert len(footer) == FOOTER_SIZE
    out.append(footer)
    return b"".join(out)
