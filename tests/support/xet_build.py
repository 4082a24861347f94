"""Build Xet xorbs and shards by hand (for refusal tests): fixed-size chunks, chosen compression.

The server does not care where chunk boundaries fall, so tests cut data every `size` bytes
instead of running content-defined chunking.
"""

from __future__ import annotations

import struct

import lz4.frame

from models_registry.storage.xet import hashing
from models_registry.storage.xet.shard import BOOKEND, FLAG_WITH_METADATA_EXT, FLAG_WITH_VERIFICATION, HEADER_TAG


def group4(data: bytes) -> bytes:
    return b"".join(data[i::4] for i in range(4))


def chunk_bytes(data: bytes, kind: int = 0) -> bytes:
    payload = {0: data, 1: lz4.frame.compress(data), 2: lz4.frame.compress(group4(data))}[kind]
    return bytes([0]) + len(payload).to_bytes(3, "little") + bytes([kind]) + len(data).to_bytes(3, "little") + payload


class Xorb:
    def __init__(self, chunks: list[bytes], kinds: list[int] | None = None, footer: bool = True) -> None:
        self.chunks = chunks
        self.hashes = [hashing.chunk_hash(c) for c in chunks]
        self.hash = hashing.hash_to_str(hashing.xorb_hash([(h, len(c)) for h, c in zip(self.hashes, chunks)]))
        kinds = kinds or [0] * len(chunks)
        self.offsets, parts, pos = [], [], 0
        for c, k in zip(chunks, kinds):
            self.offsets.append(pos)
            parts.append(chunk_bytes(c, k))
            pos += len(parts[-1])
        if footer:  # a minimal footer: its length is all the server reads
            info = b"XETBLOB\x01" + hashing.str_to_hash(self.hash) + struct.pack("<I", len(chunks)) + bytes(28)
            parts.append(info + struct.pack("<I", len(info)))
        self.body = b"".join(parts)

    @classmethod
    def of(cls, data: bytes, size: int = 64 * 1024, **kw) -> "Xorb":
        return cls([data[i:i + size] for i in range(0, len(data), size)], **kw)


def shard(files: list[tuple[bytes, list[tuple[Xorb, int, int]]]], xorbs: list[Xorb],
          sha256_override: str | None = None, verification_override: bytes | None = None) -> bytes:
    """A shard (no footer, as uploads are) for files given as (content, [(xorb, start, end), ...])."""
    import hashlib

    out = [HEADER_TAG, struct.pack("<QQ", 2, 0)]
    for content, terms in files:
        leaves = [(x.hashes[i], len(x.chunks[i])) for x, s, e in terms for i in range(s, e)]
        fh = hashing.file_hash(leaves)
        out.append(fh + struct.pack("<II", FLAG_WITH_VERIFICATION | FLAG_WITH_METADATA_EXT, len(terms)) + bytes(8))
        for x, s, e in terms:
            out.append(hashing.str_to_hash(x.hash)
                       + struct.pack("<IIII", 0, sum(len(c) for c in x.chunks[s:e]), s, e))
        for x, s, e in terms:
            out.append((verification_override or hashing.verification_hash(x.hashes[s:e])) + bytes(16))
        sha = sha256_override or hashlib.sha256(content).hexdigest()
        out.append(hashing.str_to_hash(sha) + bytes(16))
    out.append(BOOKEND)
    for x in xorbs:
        out.append(hashing.str_to_hash(x.hash)
                   + struct.pack("<IIII", 0, len(x.chunks), sum(map(len, x.chunks)), len(x.body)))
        for h, off, c in zip(x.hashes, x.offsets, x.chunks):
            out.append(h + struct.pack("<II", off, len(c)) + bytes(8))
    out.append(BOOKEND)
    return b"".join(out)


def file_hash_str(terms: list[tuple[Xorb, int, int]]) -> str:
    leaves = [(x.hashes[i], len(x.chunks[i])) for x, s, e in terms for i in range(s, e)]
    return hashing.hash_to_str(hashing.file_hash(leaves))
