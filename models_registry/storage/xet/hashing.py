"""Xet hashes (spec: docs/xet/hashing.md, docs/xet/api.md "Converting Hashes to Strings").

All hashes are 32 bytes. On the wire and in URLs a hash is written as four little-endian u64
words in hex, so its string form is not the plain hex of its bytes: `hash_to_str` / `str_to_hash`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from blake3 import blake3

DATA_KEY = bytes([102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
                  157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41])
INTERNAL_NODE_KEY = bytes([1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
                           93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63])
VERIFICATION_KEY = bytes([127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
                          164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195])
ZERO_KEY = bytes(32)

HASH_STR_RE = re.compile(r"^[0-9a-f]{64}$")
# The Merkle tree used for xorb and file hashes has a variable branching factor: a node closes
# after a child whose hash is 0 modulo this mean, with at least 2 and at most 2*mean+1 children.
MEAN_BRANCHING = 4
GLOBAL_DEDUP_MODULUS = 1024


def hash_to_str(h: bytes) -> str:
    """Protocol string form: each 8-byte word byte-reversed, then hex (api.md)."""
    return "".join(h[i:i + 8][::-1].hex() for i in range(0, 32, 8))


def str_to_hash(s: str) -> bytes:
    """Inverse of `hash_to_str`; ValueError on anything but 64 lowercase hex digits."""
    if not isinstance(s, str) or not HASH_STR_RE.match(s):
        raise ValueError(f"Invalid Xet hash {s!r}: expected 64 lowercase hex digits")
    raw = bytes.fromhex(s)
    return b"".join(raw[i:i + 8][::-1] for i in range(0, 32, 8))


def last_word(h: bytes) -> int:
    """The hash's last 8 bytes as a little-endian integer (branching and dedup eligibility)."""
    return int.from_bytes(h[24:32], "little")


def chunk_hash(data: bytes) -> bytes:
    return blake3(data, key=DATA_KEY).digest()


def _node_hash(children: Sequence[tuple[bytes, int]]) -> tuple[bytes, int]:
    text = "".join(f"{hash_to_str(h)} : {size}\n" for h, size in children)
    return blake3(text.encode(), key=INTERNAL_NODE_KEY).digest(), sum(size for _, size in children)


def _next_cut(level: Sequence[tuple[bytes, int]], start: int) -> int:
    remaining = len(level) - start
    if remaining <= 2:
        return len(level)
    end = start + min(2 * MEAN_BRANCHING + 1, remaining)
    for i in range(start + 2, end):
        if last_word(level[i][0]) % MEAN_BRANCHING == 0:
            return i + 1
    return end


def merkle_root(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Root of the aggregated-hash tree over (chunk hash, chunk length) leaves: the xorb hash."""
    if not chunks:
        return bytes(32)
    level = list(chunks)
    while len(level) > 1:
        nxt = []
        i = 0
        while i < len(level):
            cut = _next_cut(level, i)
            nxt.append(_node_hash(level[i:cut]))
            i = cut
        level = nxt
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    return merkle_root(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Merkle root of all the file's chunks, hashed once more with the all-zero key."""
    return blake3(merkle_root(chunks), key=ZERO_KEY).digest()


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    """Term verification hash: keyed blake3 of the raw chunk hashes of the term's range."""
    return blake3(b"".join(chunk_hashes), key=VERIFICATION_KEY).digest()


def dedup_eligible(h: bytes) -> bool:
    """Chunks (besides each file's first) that the client may ask the global dedup API about."""
    return last_word(h) % GLOBAL_DEDUP_MODULUS == 0


def hmac_hash(h: bytes, key: bytes) -> bytes:
    """A chunk hash as shown in a dedup answer protected by `key`: only a holder of the chunk matches it."""
    return blake3(h, key=key).digest()
