"""A read-only, seekable file rebuilt on the fly from a Xet file reconstruction.

Serving Xet-uploaded files this way (instead of materializing each version into the sha256 blob
store) is what lets a 1%-changed re-upload cost ~1% of the disk: see the storage README.
"""

from __future__ import annotations

import io
from bisect import bisect_right
from collections.abc import Callable
from typing import BinaryIO

from ..sized_stream import SizedStream
from .xorb import ChunkInfo, InvalidXorb, chunk_run, unpack_chunks

# (xorb hash) -> (chunk list, chunks_end); (xorb hash) -> open binary file of the xorb
IndexLoader = Callable[[str], tuple[list[ChunkInfo], int]]
XorbOpener = Callable[[str], BinaryIO]
MAX_OPEN_XORBS = 8
RUN_BYTES = 512 * 1024  # of a xorb read at once: whole chunks, one seek and one read


class XetFileReader(SizedStream):
    def __init__(self, terms: list[list], size: int, load_index: IndexLoader, open_xorb: XorbOpener) -> None:
        super().__init__(size)
        self._terms = terms  # [xorb, chunk_start, chunk_end, unpacked_bytes]
        self._load_index = load_index
        self._open_xorb = open_xorb
        self._starts: list[int] = []
        pos = 0
        for t in terms:
            self._starts.append(pos)
            pos += int(t[3])
        self._files: dict[str, BinaryIO] = {}
        # the chunks read last: (term, index of the first within the term, their uncompressed bytes)
        self._run: tuple[int, int, list] | None = None
        # the current term: (term index, its chunks, offset of each chunk within the term)
        self._term_cache: tuple[int, list[ChunkInfo], list[int]] | None = None

    # -- io protocol --
    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        out = memoryview(buf).cast("B")
        done = 0
        while done < len(out) and self._pos < self._size:
            piece = self._read_some(len(out) - done)
            out[done:done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._size - self._pos
        out = []
        while n > 0 and self._pos < self._size:
            piece = self._read_some(n)
            out.append(piece)
            n -= len(piece)
            self._pos += len(piece)
        return b"".join(out)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
        super().close()

    # -- reconstruction --
    def _term_chunks(self, term: int) -> tuple[list[ChunkInfo], list[int]]:
        xorb, start, end = self._terms[term][0], int(self._terms[term][1]), int(self._terms[term][2])
        chunks = self._load_index(xorb)[0][start:end]
        offsets, pos = [], 0
        for c in chunks:
            offsets.append(pos)
            pos += c.size
        return chunks, offsets

    def _load_run(self, term: int, i: int) -> tuple[int, int, list]:
        """Chunks i, i+1, ... of a term (whole chunks, about RUN_BYTES of the xorb) with one read."""
        xorb, start, end = self._terms[term][0], int(self._terms[term][1]), int(self._terms[term][2])
        chunks, chunks_end = self._load_index(xorb)
        first_chunk = start + i
        first = chunks[first_chunk].offset
        j, stop = chunk_run(chunks, chunks_end, first_chunk, end, RUN_BYTES)
        f = self._files.get(xorb)
        if f is None:
            if len(self._files) >= MAX_OPEN_XORBS:  # a file made of many xorbs: bounded descriptors
                for other in self._files.values():
                    other.close()
                self._files.clear()
            f = self._files[xorb] = self._open_xorb(xorb)
        f.seek(first)
        data = f.read(stop - first)
        if len(data) != stop - first:
            raise InvalidXorb(f"Truncated xorb {xorb}")
        return term, i, unpack_chunks(memoryview(data), first, chunks[first_chunk:j])

    def _read_some(self, n: int) -> memoryview:
        """Up to n bytes at the current position, without copying them."""
        term = bisect_right(self._starts, self._pos) - 1
        if self._term_cache is None or self._term_cache[0] != term:
            chunks, offsets = self._term_chunks(term)
            self._term_cache = (term, chunks, offsets)
        _, chunks, offsets = self._term_cache
        within = self._pos - self._starts[term]
        i = bisect_right(offsets, within) - 1
        run = self._run
        if run is None or run[0] != term or not run[1] <= i < run[1] + len(run[2]):
            run = self._run = self._load_run(term, i)
        data = memoryview(run[2][i - run[1]])
        skip = within - offsets[i]
        return data[skip:skip + n]


def open_reader(terms: list[list], size: int, load_index: IndexLoader, open_xorb: XorbOpener) -> BinaryIO:
    return io.BufferedReader(XetFileReader(terms, size, load_index, open_xorb), buffer_size=1024 * 1024)
