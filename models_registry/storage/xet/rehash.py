"""Hash a file rebuilt from its xorbs: the sha256 check of a Xet upload, on the upload's critical path.

When the shard arrives, every file's bytes must hash to the sha256 the shard declares before the
file is linked, and the client waits for that answer. Rather than going through the seekable reader,
each term's chunks (back to back in the xorb) are fetched with a few large reads into reused
buffers; uncompressed chunks are hashed straight from those buffers, compressed ones are
decompressed first. For a file larger than one block a reader thread fetches the next block while
the calling thread hashes, and a second hash (the git sha1 of files up to 128 MiB) runs in its own
thread beside the sha256: file reads, lz4 and hashlib release the GIL on large buffers, so on an idle
machine these overlap. The sha256 itself stays the floor (~0.85 s per GiB on the 2-CPU box).

Xorbs are read with O_DIRECT where the filesystem allows, into page-aligned buffers, rounding each
read out to the alignment: they were written around the page cache (direct_writer), and reading
them through it would fill fresh pages at ~1.7 CPU-s per GiB here, for bytes read once.
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from ..direct_writer import ALIGN, set_direct
from .reader import IndexLoader, XorbOpener
from .xorb import InvalidXorb, chunk_run, unpack_chunks

BLOCK = 8 * 1024 * 1024  # bytes of a xorb read at once (whole chunks)
BUFFERS = 3  # blocks in flight between the reader thread and the hashing thread
SLACK = 2 * ALIGN  # a read of n bytes rounded out to ALIGN at both ends needs at most n + SLACK
_DONE = object()


def _buffer(n: int) -> mmap.mmap:
    return mmap.mmap(-1, n)  # anonymous mappings are page-aligned, as O_DIRECT reads want


class _Xorb:
    """One xorb file open for reading, with O_DIRECT while the filesystem takes it."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        try:
            self.fd: int | None = f.fileno()
        except OSError:  # io.UnsupportedOperation: a xorb on object storage, read by ranged GETs
            self.fd = None
        self.direct = self.fd is not None and set_direct(self.fd, True)

    def read(self, buf: mmap.mmap, first: int, length: int) -> memoryview:
        """`length` bytes at offset `first`, as a view of `buf` (len(buf) >= length + SLACK)."""
        if self.fd is None:
            self.f.seek(first)
            return memoryview(buf)[:self.f.readinto(memoryview(buf)[:length]) or 0]
        if self.direct:
            start = first - first % ALIGN
            span = -(-(first + length - start) // ALIGN) * ALIGN
            try:
                got = os.preadv(self.f.fileno(), [memoryview(buf)[:span]], start) - (first - start)
            except OSError as e:  # some filesystems accept O_DIRECT at open and refuse the I/O
                if e.errno != errno.EINVAL:
                    raise
                self.direct = set_direct(self.f.fileno(), False)
            else:
                return memoryview(buf)[first - start:first - start + min(max(got, 0), length)]
        got = os.preadv(self.f.fileno(), [memoryview(buf)[:length]], first)
        return memoryview(buf)[:got]


Terms = Sequence[Sequence[Any]]  # [xorb, chunk_start, chunk_end, unpacked_bytes]


def _blocks(terms: Terms, load_index: IndexLoader, open_xorb: XorbOpener,
            take: Any) -> Iterator[tuple[mmap.mmap, list]]:
    """(buffer, uncompressed pieces) for the file in order; `take(n)` gives a buffer of >= n bytes,
    None to stop."""
    files: dict[str, _Xorb] = {}
    try:
        for t in terms:
            xorb, i, end = t[0], int(t[1]), int(t[2])
            chunks, chunks_end = load_index(xorb)
            while i < end:
                first = chunks[i].offset
                j, stop = chunk_run(chunks, chunks_end, i, end, BLOCK)
                buf = take(stop - first + SLACK)
                if buf is None:
                    return
                f = files.get(xorb)
                if f is None:
                    for other in files.values():
                        other.f.close()
                    files.clear()
                    f = files[xorb] = _Xorb(open_xorb(xorb))
                view = f.read(buf, first, stop - first)
                if len(view) != stop - first:
                    raise InvalidXorb(f"Truncated xorb {xorb}: {len(view)} bytes at {first}, {stop - first} expected")
                yield buf, unpack_chunks(view, first, chunks[i:j])
                i = j
    finally:
        for f in files.values():
            f.f.close()


def hash_file(terms: Terms, load_index: IndexLoader, open_xorb: XorbOpener, hashers: Sequence[Any]) -> None:
    """Feed the file made of `terms` to every hasher in `hashers` (objects with `update`), in order."""
    size = sum(int(t[3]) for t in terms)
    if size <= BLOCK:  # one or two reads: threads would cost more than they save
        own = _buffer(ALIGN)

        def reuse(n: int) -> mmap.mmap:
            nonlocal own
            if len(own) < n:
                own = _buffer(n)
            return own

        for _, pieces in _blocks(terms, load_index, open_xorb, reuse):
            for h in hashers:
                _update(h, pieces)
        return
    _pipelined(terms, load_index, open_xorb, hashers)


def _pipelined(terms: Terms, load_index: IndexLoader, open_xorb: XorbOpener, hashers: Sequence[Any]) -> None:
    free: queue.Queue = queue.Queue()
    made = 0
    full: queue.Queue = queue.Queue(maxsize=BUFFERS)
    stop = threading.Event()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                full.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def take(n: int) -> mmap.mmap | None:
        nonlocal made
        if made < BUFFERS and free.empty():
            made += 1
            return _buffer(max(n, BLOCK + SLACK))
        while not stop.is_set():
            try:
                buf = free.get(timeout=0.1)
            except queue.Empty:
                continue
            return buf if len(buf) >= n else _buffer(n)  # (no chunk run exceeds BLOCK in practice)
        return None

    def produce() -> None:
        try:
            for item in _blocks(terms, load_index, open_xorb, take):
                put(item)
            put(_DONE)
        except BaseException as exc:  # handed to the hashing thread, which raises it
            put(exc)

    reader = threading.Thread(target=produce, name="xet-rehash", daemon=True)
    reader.start()
    side = ThreadPoolExecutor(max_workers=1) if len(hashers) > 1 else None
    try:
        while True:
            item = full.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            buf, pieces = item
            pending = [side.submit(_update, h, pieces) for h in hashers[1:]] if side else []
            _update(hashers[0], pieces)
            for p in pending:
                p.result()
            pieces.clear()  # no view of the buffer is left when the reader fills it again
            free.put(buf)
    finally:
        stop.set()
        reader.join()
        if side is not None:
            side.shutdown()


def _update(hasher: Any, pieces: list) -> None:
    for p in pieces:
        hasher.update(p)
