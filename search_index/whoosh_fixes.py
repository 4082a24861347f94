"""Two fixes to whoosh-reloaded 2.7.5 internals, applied once on import (engine.py imports this).

1. Opening a segment reader copies whole files. A compound segment (`*.seg`) is mmap'd, and each
   of its sub-files is handed out as `BufferFile(memoryview)`, whose constructor wraps the view in
   `io.BytesIO(buf)` — which copies it. The terms, postings and stored-field sub-files of a
   100,000-document segment are ~500 MB: every searcher (one per thread, reopened after every
   commit) and every writer (update_document opens a reader to find the old version) paid
   ~300 ms of CPU and ~1 GB of RSS for a copy that is only ever read sequentially from its start
   (pickled headers). Random access (`get`, the postings reads) already goes to the memoryview.
   Here the BytesIO is replaced by a small read-only file object over the same memoryview.

   pickle.load() reads the block headers of postings through it, so it also has peek(): the
   unpickler then reads ahead instead of calling read() once per opcode.

2. Flushing a segment stat()s a file once per posting. `W3PerDocReader._cached_reader` caches
   length-column readers but not their absence, so for every posting of a field without lengths
   (ID, KEYWORD, NUMERIC fields) it asks the storage whether the column file exists.

3. Skipping in a posting list reads every block header on the way. W3LeafMatcher.skip_to() walks
   block by block (an unpickled header each) to the block holding the target, then posting by
   posting. search_index.ranking skips each long list (a filter term matches nearly every
   document) to a few dozen documents per search, which cost ~1,000 headers a list. Here a list's
   block offsets and last ids are read once and kept (keyed by the segment file's name — segment
   files are never rewritten — and the list's offset; bounded), and skip_to() bisects them, then
   the block's ids. It lands on exactly the posting the original would.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict

from whoosh.codec import whoosh3
from whoosh.filedb import structfile
from whoosh.matching import ReadTooFar


class _ViewFile:
    """The subset of a binary file that StructFile uses, over a memoryview, without copying it."""

    __slots__ = ("_buf", "_pos", "_len")

    def __init__(self, buf) -> None:
        self._buf = buf
        self._pos = 0
        self._len = len(buf)

    def read(self, n: int | None = -1) -> bytes:
        pos = self._pos
        end = self._len if n is None or n < 0 else min(self._len, pos + n)
        self._pos = end
        return bytes(self._buf[pos:end])

    def peek(self, n: int = 1) -> bytes:
        pos = self._pos
        return bytes(self._buf[pos:min(self._len, pos + max(n, 4096))])

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        pos = self._pos
        end = self._len if size is None or size < 0 else min(self._len, pos + size)
        stop = end
        chunk = pos
        while chunk < end:
            piece = bytes(self._buf[chunk:min(end, chunk + 4096)])
            i = piece.find(b"\n")
            if i >= 0:
                stop = chunk + i + 1
                break
            chunk += len(piece)
        self._pos = stop
        return bytes(self._buf[pos:stop])

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._len
        self._pos = max(0, pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _buffer_file_init(self, buf, name=None, onclose=None):
    self._buf = buf
    self._name = name
    self.file = _ViewFile(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


_MISSING = object()
_original_cached_reader = whoosh3.W3PerDocReader._cached_reader


def _cached_reader(self, fieldname, column):
    got = self._readers.get(fieldname, _MISSING)
    if got is not _MISSING:
        return got
    reader = _original_cached_reader(self, fieldname, column)
    if reader is None:
        self._readers[fieldname] = None  # no such column in this (immutable) segment
    return reader


MAX_BLOCK_INDEXES = 4096
_block_indexes: OrderedDict[tuple, tuple[list[int], list[int]] | None] = OrderedDict()
_block_lock = threading.Lock()


def _block_index(m) -> tuple[list[int], list[int]] | None:
    """(last id of each block, offset of each block) of m's posting list; None: not cacheable."""
    name = getattr(m._postfile, "_name", None)
    if not name:
        return None
    key = (name, m._startoffset, m._length)
    with _block_lock:
        got = _block_indexes.get(key)
        if got is not None:
            _block_indexes.move_to_end(key)
            return got
    f = m._postfile
    maxids: list[int] = []
    offsets: list[int] = []
    pos = m._baseoffset
    while True:
        f.seek(pos)
        length = f.read_int()
        info = f.read_pickle()
        maxids.append(info[1])
        offsets.append(pos)
        if length < 0:
            break
        pos += whoosh3._INT_SIZE + length
    got = (maxids, offsets)
    with _block_lock:
        _block_indexes[key] = got
        while len(_block_indexes) > MAX_BLOCK_INDEXES:
            _block_indexes.popitem(last=False)
    return got


_original_skip_to = whoosh3.W3LeafMatcher.skip_to


def _skip_to(self, targetid):
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():
        return
    if targetid > self._maxid:
        blocks = _block_index(self)
        if blocks is None:
            return _original_skip_to(self, targetid)
        maxids, offsets = blocks
        i = bisect_left(maxids, targetid)
        if i == len(maxids):  # past the last posting
            self._lastblock = True
            self._atend = True
            return
        self._goto(offsets[i])
    if self._ids is None:
        self._read_ids()
    self._i = bisect_left(self._ids, targetid, self._i)


def apply() -> None:
    if getattr(structfile.BufferFile, "_modelhub_fixed", False):
        return
    structfile.BufferFile.__init__ = _buffer_file_init
    structfile.BufferFile._modelhub_fixed = True
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
    whoosh3.W3LeafMatcher.skip_to = _skip_to


apply()
