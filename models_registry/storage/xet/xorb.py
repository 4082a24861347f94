"""Xorb parsing and verification (spec: docs/xet/xorb.md).

A xorb is a sequence of chunks (8-byte header + possibly compressed bytes), optionally followed by a
metadata footer whose length is the xorb's last 4 bytes. The server trusts nothing in the footer:
it decompresses every chunk, hashes it, and recomputes the xorb hash from the chunks.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from collections.abc import Sequence
from typing import BinaryIO

import lz4.frame

from ...errors import BadRequest
from .hashing import chunk_hash, hash_to_str, xorb_hash

CHUNK_HEADER_SIZE = 8
MAX_CHUNK_SIZE = 128 * 1024
MAX_XORB_BYTES = 64 * 1024 * 1024
COMPRESSION_NONE, COMPRESSION_LZ4, COMPRESSION_BG4_LZ4 = 0, 1, 2


class InvalidXorb(BadRequest):
    """A malformed xorb, or one whose content does not hash to its name."""


@dataclass(frozen=True)
class ChunkInfo:
    hash: bytes
    offset: int  # of the chunk header within the serialized xorb
    size: int  # uncompressed length


@dataclass(frozen=True)
class XorbInfo:
    hash: str
    chunks: list[ChunkInfo]
    chunks_end: int  # where the chunk sequence ends (the footer, if any, starts here)
    stored_bytes: int

    @property
    def unpacked_bytes(self) -> int:
        return sum(c.size for c in self.chunks)


def parse_chunk_header(header: bytes) -> tuple[int, int, int]:
    """(compressed size, compression type, uncompressed size) from an 8-byte chunk header."""
    if len(header) != CHUNK_HEADER_SIZE:
        raise InvalidXorb("Truncated xorb: incomplete chunk header")
    if header[0] != 0:
        raise InvalidXorb(f"Unsupported xorb chunk version {header[0]}")
    compressed = int.from_bytes(header[1:4], "little")
    kind = header[4]
    size = int.from_bytes(header[5:8], "little")
    if kind not in (COMPRESSION_NONE, COMPRESSION_LZ4, COMPRESSION_BG4_LZ4):
        raise InvalidXorb(f"Unknown chunk compression type {kind}")
    if size > MAX_CHUNK_SIZE or size == 0:
        raise InvalidXorb(f"Invalid chunk size {size} (chunks hold 1 byte to 128 KiB)")
    return compressed, kind, size


def _ungroup4(data: bytes) -> bytes:
    """Undo byte grouping: group i holds the bytes at positions i, i+4, i+8, ..."""
    n = len(data)
    out = bytearray(n)
    start = 0
    for i in range(4):
        length = n // 4 + (1 if i < n % 4 else 0)
        out[i::4] = data[start:start + length]
        start += length
    return bytes(out)


def decompress_chunk(kind: int, payload: bytes, size: int) -> bytes:
    try:
        if kind == COMPRESSION_NONE:
            data = payload
        else:
            data = lz4.frame.decompress(payload)
            if kind == COMPRESSION_BG4_LZ4:
                data = _ungroup4(data)
    except RuntimeError as exc:
        raise InvalidXorb(f"Corrupted xorb chunk: LZ4 data does not decompress ({exc})") from None
    if len(data) != size:
        raise InvalidXorb(f"Corrupted xorb chunk: {len(data)} bytes after decompression, header says {size}")
    return data


def chunk_run(chunks: Sequence[ChunkInfo], chunks_end: int, i: int, end: int, limit: int) -> tuple[int, int]:
    """(j, end byte) of the run of whole chunks i..j-1 (j <= end) starting at chunk i that fits in
    `limit` bytes of the xorb (at least one chunk): what one read should fetch."""
    first = chunks[i].offset
    j = i + 1
    while j < end and (chunks[j + 1].offset if j + 1 < len(chunks) else chunks_end) - first <= limit:
        j += 1
    return j, chunks[j].offset if j < len(chunks) else chunks_end


def unpack_chunks(view: memoryview, base: int, chunks: Sequence[ChunkInfo]) -> list[bytes | memoryview]:
    """The uncompressed bytes of consecutive `chunks` read into `view` from xorb offset `base`: views
    of `view` for chunks stored as is, new bytes for compressed ones. Headers are checked against the
    index (the xorb was verified on upload; this catches a damaged file, not a forged one)."""
    out: list[bytes | memoryview] = []
    for c in chunks:
        o = c.offset - base
        compressed, kind, size = parse_chunk_header(bytes(view[o:o + CHUNK_HEADER_SIZE]))
        if size != c.size:
            raise InvalidXorb(f"Corrupted xorb chunk: header says {size} bytes, the index {c.size}")
        payload = view[o + CHUNK_HEADER_SIZE:o + CHUNK_HEADER_SIZE + compressed]
        if len(payload) != compressed:
            raise InvalidXorb("Truncated xorb chunk")
        out.append(decompress_chunk(kind, payload, size))
    return out


class XorbVerifier:
    """Verifies a xorb in one pass as its bytes arrive (`feed`), then checks the whole (`finish`).

    Chunks follow one another until the end of the body or until a byte that cannot start a chunk
    header (version 0): there the optional footer begins (it starts with an ASCII identifier), and
    its length, in the last 4 bytes, must then point exactly back to that place. hf_xet 1.8.0 sends
    no footer.
    """

    def __init__(self, expected_hash: str, limit: int = MAX_XORB_BYTES + 1024 * 1024) -> None:
        self.expected_hash = expected_hash
        self.limit = limit
        self.chunks: list[ChunkInfo] = []
        self._buf = bytearray()
        self._pos = 0  # offset of _buf[0] in the xorb
        self._length = 0
        self._footer_start: int | None = None
        self._tail = b""  # the last 4 bytes seen

    def feed(self, data: bytes | memoryview) -> None:
        self._length += len(data)
        if self._length > self.limit:
            raise InvalidXorb("Xorb exceeds the 64 MiB limit")
        self._tail = (self._tail + bytes(data[-4:]))[-4:]
        if self._footer_start is not None:
            return
        # Chunks are parsed, decompressed and hashed from views of the received block: only the
        # incomplete chunk at its end is carried over (copied) to the next one.
        if self._buf:
            self._buf += data
            src = self._buf
        else:
            src = data
        view = memoryview(src)
        off, n = 0, len(view)
        while n - off >= CHUNK_HEADER_SIZE:
            if view[off] != 0:
                self._footer_start = self._pos + off
                break
            compressed, kind, size = parse_chunk_header(view[off:off + CHUNK_HEADER_SIZE].tobytes())
            if n - off - CHUNK_HEADER_SIZE < compressed:
                break
            start = off + CHUNK_HEADER_SIZE
            chunk = decompress_chunk(kind, view[start:start + compressed], size)
            self.chunks.append(ChunkInfo(chunk_hash(chunk), self._pos + off, size))
            off = start + compressed
        if self._footer_start is not None:
            view.release()
            self._buf = bytearray()
        elif off or src is not self._buf:  # else: no chunk completed, the carried bytes stay as they are
            rest = view[off:].tobytes()
            view.release()
            self._buf = bytearray(rest)
            self._pos += off
        else:
            view.release()

    update = feed  # a verifier is fed like a hash (direct_writer.DirectWriter's `hashes`)

    def finish(self) -> XorbInfo:
        chunks_end = self._footer_start
        if chunks_end is None:
            if self._buf and self._buf[0] != 0:
                chunks_end = self._pos
            elif self._buf:
                raise InvalidXorb("Truncated xorb: the last chunk is incomplete")
            else:
                chunks_end = self._length
        if chunks_end < self._length:  # a footer: its length must lead back to where the chunks end
            info_length = struct.unpack("<I", self._tail)[0] if len(self._tail) == 4 else -1
            if self._length - 4 - info_length != chunks_end:
                raise InvalidXorb("Malformed xorb footer (or a truncated chunk sequence)")
        if not self.chunks:
            raise InvalidXorb("A xorb must hold at least one chunk")
        actual = hash_to_str(xorb_hash([(c.hash, c.size) for c in self.chunks]))
        if actual != self.expected_hash:
            raise InvalidXorb(f"Xorb hash mismatch: the chunks hash to {actual}, not {self.expected_hash}")
        return XorbInfo(actual, self.chunks, chunks_end, self._length)


def parse_xorb(f: BinaryIO, length: int, expected_hash: str) -> XorbInfo:
    """Verify a serialized xorb read from `f` against the hash it was sent under."""
    verifier = XorbVerifier(expected_hash)
    f.seek(0)
    for block in iter(lambda: f.read(1 << 20), b""):
        verifier.feed(block)
    return verifier.finish()


# ---- the per-xorb chunk index kept beside each stored xorb ---------------------------------------

_INDEX_MAGIC = b"XIDX1\0\0\0"
_ENTRY = struct.Struct("<32sII")


def encode_index(info: XorbInfo) -> bytes:
    parts = [_INDEX_MAGIC, struct.pack("<II", len(info.chunks), info.chunks_end)]
    parts += [_ENTRY.pack(c.hash, c.offset, c.size) for c in info.chunks]
    return b"".join(parts)


def decode_index(data: bytes) -> tuple[list[ChunkInfo], int]:
    if not data.startswith(_INDEX_MAGIC):
        raise ValueError("not a xorb index")
    n, chunks_end = struct.unpack_from("<II", data, len(_INDEX_MAGIC))
    base = len(_INDEX_MAGIC) + 8
    chunks = [ChunkInfo(*_ENTRY.unpack_from(data, base + i * _ENTRY.size)) for i in range(n)]
    return chunks, chunks_end
