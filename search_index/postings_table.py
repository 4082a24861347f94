"""A big segment's posting lists, decoded once by the writer and saved beside it as flat arrays.

Why: whoosh stores each posting list as zlib-compressed, pickled blocks of 128 postings. Decoding
a word found in every card of a 100,000-document segment takes ~0.1 s of Python, and every
process paid it again for every word it had not seen yet, and again whenever the bounded caches
of search_index.bitmaps let a word go. A segment never changes (deletions are kept apart), so its
lists can be decoded once, right after the commit that made the segment, by the process that
holds the writer lock; searchers then read a term's documents and weights as two slices of a
memory-mapped file: no decoding, and one copy in the OS page cache for every gunicorn worker.

Only segments of at least MIN_DOCS documents get a table (a small segment decodes in no time, and
the single-document commits of incremental updates stay as fast as they were), and only lists
stored out of line: whoosh inlines the postings of rare terms into the term's own entry, which
costs nothing to decode. A segment without a table (an index written before this existed, or a
table still being written) is read through whoosh, as before.

File `<segment id>.postings` in the index folder, so whoosh deletes it with its segment (its name
matches whoosh's segment-file pattern). Written under a dot name and renamed: a reader sees a
whole table or none. Layout: MAGIC, a JSON header line (array names, dtypes, lengths, offsets),
then the arrays, each 64-byte aligned:
    keys     uint64  each list's offset in the segment's postings file (whoosh's TermInfo
                     extent()), ascending: how a term is found, after whoosh's own term lookup
    starts   uint64  where each list starts in ids/weights (one more entry: the end)
    ids      uint32  segment-local document numbers, ascending within a list
    weights  float32 the posting weights (whoosh stores them as float32 too: exact)
"""

from __future__ import annotations

import json
import mmap
import os
from pathlib import Path

import numpy as np
from whoosh import index as windex
from whoosh.reading import SegmentReader, TermNotFound

MAGIC = b"MODELHUB-POSTINGS-1\n"
SUFFIX = ".postings"
MIN_DOCS = 1000
_ALIGN = 64


def table_path(folder: Path, segment) -> Path:
    return Path(folder) / segment.make_filename(SUFFIX)


class PostingsTable:
    """The decoded posting lists of one segment (read-only, memory-mapped, thread-safe)."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._mm[:len(MAGIC)] != MAGIC:
            raise ValueError(f"{path}: not a postings table")
        end = self._mm.find(b"\n", len(MAGIC))
        header = json.loads(self._mm[len(MAGIC):end])
        arrays = {}
        for name, (dtype, count, offset) in header["arrays"].items():
            arrays[name] = np.frombuffer(self._mm, dtype=np.dtype(dtype), count=count, offset=offset)
        self.keys, self.starts = arrays["keys"], arrays["starts"]
        self.ids, self.weights = arrays["ids"], arrays["weights"]

    @classmethod
    def open(cls, folder: Path, segment) -> PostingsTable | None:
        """The segment's table, or None when it has none (yet)."""
        try:
            return cls(table_path(folder, segment))
        except (OSError, ValueError):
            return None

    def lookup(self, terms, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(local docnums as uint32, weights as float64) of a term; empty arrays when the segment
        does not have it; None when its list is inlined (`terms`: the segment's W3TermsReader)."""
        try:
            info = terms.term_info(field, btext)
        except (KeyError, TermNotFound):
            return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float64)
        if info.is_inlined():
            return None
        key = info.extent()[0]
        i = int(np.searchsorted(self.keys, key))
        if i == len(self.keys) or int(self.keys[i]) != key:
            return None  # not in the table: let whoosh decode it
        a, b = int(self.starts[i]), int(self.starts[i + 1])
        return self.ids[a:b], self.weights[a:b].astype(np.float64)


def decode(m) -> tuple[list[int], list[float]]:
    """Docnums and weights of a whoosh posting-list matcher (from its current position)."""
    ids: list[int] = []
    weights: list[float] = []
    while m.is_active():  # whole blocks at a time (W3LeafMatcher internals)
        if m._ids is None:
            m._read_ids()
        if m._weights is None:
            m._read_weights()
        ids.extend(m._ids[m._i:])
        weights.extend(m._weights[m._i:])
        m._next_block()
    return ids, weights


def _decode(terms, info, fmt) -> tuple[list[int], list[float]]:
    return decode(terms._codec.postings_reader(terms._postfile, info, fmt))


def write(folder: Path, storage, schema, segment) -> Path:
    """Decode every out-of-line posting list of `segment` into its table file."""
    reader = SegmentReader(storage, schema, segment)
    try:
        terms = reader._terms
        entries = []
        for (field, _btext), info in terms.items():
            if not info.is_inlined():
                entries.append((info.extent()[0], field, info))
        entries.sort(key=lambda e: e[0])
        keys = np.array([e[0] for e in entries], dtype=np.uint64)
        starts = np.zeros(len(entries) + 1, dtype=np.uint64)
        id_parts, weight_parts = [], []
        total = 0
        for k, (_key, field, info) in enumerate(entries):
            ids, weights = _decode(terms, info, schema[field].format)
            id_parts.append(np.array(ids, dtype=np.uint32))
            weight_parts.append(np.array(weights, dtype=np.float32))
            total += len(ids)
            starts[k + 1] = total
    finally:
        reader.close()
    arrays = {
        "keys": keys, "starts": starts,
        "ids": np.concatenate(id_parts) if id_parts else np.zeros(0, dtype=np.uint32),
        "weights": np.concatenate(weight_parts) if weight_parts else np.zeros(0, dtype=np.float32),
    }
    return _save(table_path(folder, segment), arrays)


def _save(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    # The header holds the offsets, which depend on the header's length: reserve room for it.
    layout, offset = {}, 4096
    for name, a in arrays.items():
        layout[name] = [a.dtype.str, int(a.size), offset]
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = MAGIC + json.dumps({"arrays": layout}).encode() + b"\n"
    if len(header) > 4096:
        raise ValueError("postings table header too long")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(header.ljust(4096, b" "))
            for name, a in arrays.items():
                f.seek(layout[name][2])
                f.write(a.tobytes())
            f.truncate(max(offset, 4096))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_missing(folder: Path, indexname: str) -> int:
    """Tables for the index's segments of MIN_DOCS documents or more that have none; the caller
    holds the writer lock (whoosh deletes a table with its segment). Returns how many it wrote."""
    for stale in Path(folder).glob(f".{indexname}_*{SUFFIX}.*.tmp"):  # a writer killed while writing
        stale.unlink(missing_ok=True)
    ix = windex.open_dir(str(folder), indexname=indexname)
    written = 0
    try:
        for segment in ix._segments():
            if segment.doc_count_all() >= MIN_DOCS and not table_path(folder, segment).exists():
                write(Path(folder), ix.storage, ix.schema, segment)
                written += 1
    finally:
        ix.close()
    return written
