"""Matching, totals, facet counts and sorted pages on cached bitmaps (Python ints), not postings.

Why: whoosh decodes and walks postings in pure Python (~1 us per posting and clause), and its
facet collector costs a few Python calls per matching document and facet, plus — for the
multi-valued KEYWORD facets, which have no column — a per-document list of values rebuilt over
the *whole index* on every search. At 100,000 documents that made every search cost 0.5-2 s of CPU.

Here each term's posting list becomes, once, a bitmap (an int with bit d set for document d); a
query is evaluated with `&` and `|`, the total is `int.bit_count()`, a facet count is
`(matches & value).bit_count()` (a numpy bincount for a facet with many values, i.e. author).
A two-word phrase is one term of the `<field>_pairs` field; longer phrases are checked by whoosh
(positions), once per segment. The relevance page is search_index.ranking's; sorted pages walk
cached column orders.

Caching, memory and invalidation: segments never change except for deletions, so bitmaps, posting
arrays, facet bitmaps and codes, sort orders and field lengths are cached per segment (shared by
every searcher and thread of the process) and survive commits; each searcher applies its own
live-documents mask, so a deletion shows as soon as a searcher opens after its commit. Term bitmaps
and posting arrays are LRU-bounded in bytes per segment; the rest is a fixed number of arrays per
segment. Segments merged away, and every segment of a generation a rebuild replaced, are dropped
when the next searcher of that index opens (see _segment_caches). Thread safety: the LRUs and the
table of segments are behind locks; the other per-segment caches are filled idempotently; the
per-searcher memo (bounded) is only used by the searcher's own thread.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections import OrderedDict
from pathlib import Path

import numpy as np

from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton
from whoosh.idsets import DocIdSet
from whoosh.query import And, Every, FuzzyTerm, NullQuery, Or, Phrase, Query, Term, WrappingQuery
from whoosh.reading import TermNotFound

from .postings_table import MIN_DOCS, PostingsTable, decode

# Per segment, and a parallel rebuild leaves a segment per process: 32 MiB holds ~2,500 term bitmaps
# at 100,000 documents (~500 of a half-million-document segment); with 64 MiB a worker passed 1 GiB
# at a million repositories (bench/scale.py).
MAX_TERM_CACHE_BYTES = 32 * 2**20
MAX_POSTINGS_CACHE_BYTES = 32 * 2**20  # 16 bytes a posting
# Per searcher (one per thread and index): the bitmaps of the terms and clauses it has seen. Bounded
# in bytes, not entries: a bitmap is N/8 bytes (125 KB at a million repositories), and with 8 threads
# a worker held 5.8 GiB at a million when 4,096 entries were allowed (bench/scale.py).
MAX_MEMO_BYTES = 16 * 2**20
MANY_VALUES = 64  # facets with more values than this (author) are counted per document instead


def _matcher(reader, field: str, btext: bytes):
    terms = getattr(reader, "_terms", None)
    if terms is None:  # an empty index
        return None
    try:
        return terms.matcher(field, btext, reader.schema[field].format)
    except (KeyError, TermNotFound):
        return None


def _ids(reader, field: str, btext: bytes) -> list[int]:
    """Segment-local docnums of a term, deletions included (the live mask removes them)."""
    m = _matcher(reader, field, btext)
    if m is None:
        return []
    out: list[int] = []
    try:  # whole blocks at a time (W3LeafMatcher internals)
        while m.is_active():
            if m._ids is None:
                m._read_ids()
            out.extend(m._ids[m._i:])
            m._next_block()
    except AttributeError:
        out = list(m.all_ids())
    return out


def _postings(reader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Segment-local docnums and posting weights (what whoosh's scorers read) of a term."""
    m = _matcher(reader, field, btext)
    if m is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    try:
        ids, weights = decode(m)
    except AttributeError:  # not a W3LeafMatcher: an inlined list (a ListMatcher)
        m = _matcher(reader, field, btext)
        ids, weights = [], []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
    return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64)


def _bitmap(ids, n: int) -> int:
    """The bitmap of docnums `ids` (any iterable of ints below n)."""
    if not isinstance(ids, np.ndarray):
        ids = np.fromiter(ids, dtype=np.int64)
    flags = np.zeros(((n >> 3) + 1) * 8, dtype=bool)
    flags[ids] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def bits(bm: int, n: int):
    """A bitmap as a numpy bool array of n entries."""

    raw = np.frombuffer(bm.to_bytes((n >> 3) + 1, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n].astype(bool)


def docnums(bm: int) -> list[int]:
    """The set bits of a bitmap, ascending."""

    return np.flatnonzero(bits(bm, bm.bit_length())).tolist()


class SegmentBitmaps:
    """Caches of one segment (immutable but for deletions), keyed by its segment id.

    Term bitmaps and posting arrays are LRU-bounded in bytes (MAX_TERM_CACHE_BYTES,
    MAX_POSTINGS_CACHE_BYTES, per segment); facet bitmaps, facet codes, sort columns and field
    lengths are a fixed number per segment (each about one bit, int or float per document and
    facet value or field). Threads share an instance: a lock guards the LRUs, and the other caches
    are filled idempotently (two threads may both compute a value; either result is the same)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.table: PostingsTable | None = None  # set by _segment_caches once the writer made it
        self.lock = threading.Lock()
        self.terms: OrderedDict[tuple[str, bytes], int] = OrderedDict()
        self.bytes = 0
        self.postings_lru: OrderedDict[tuple[str, bytes], tuple] = OrderedDict()
        self.postings_bytes = 0
        self.facets: dict[str, list[tuple[str, int]]] = {}
        self.codes: dict[str, tuple[list[str], np.ndarray]] = {}
        self.columns: dict[str, list] = {}
        self.lengths_by_field: dict[str, object] = {}

    def term(self, reader, field: str, btext: bytes) -> int:
        key = (field, btext)
        with self.lock:
            bm = self.terms.get(key)
            if bm is not None:
                self.terms.move_to_end(key)
                return bm
        bm = _bitmap(self.postings(reader, field, btext)[0], self.n)
        self._store_term(key, bm)
        return bm

    def query(self, searcher, q, key) -> int:
        """The documents of this segment (`searcher` is its leaf searcher) whoosh matches for q."""
        with self.lock:
            bm = self.terms.get(key)
            if bm is not None:
                self.terms.move_to_end(key)
                return bm
        bm = _bitmap(searcher.docs_for_query(q), self.n)
        self._store_term(key, bm)
        return bm

    def _store_term(self, key, bm: int) -> None:
        with self.lock:
            if key not in self.terms:
                self.terms[key] = bm
                self.bytes += (self.n >> 3) + 1
                while self.bytes > MAX_TERM_CACHE_BYTES and len(self.terms) > 1:
                    self.terms.popitem(last=False)
                    self.bytes -= (self.n >> 3) + 1

    def postings(self, reader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(local docnums, weights) of a term as numpy arrays (int64, float64), for ranking: from
        the segment's postings table when it has one, else decoded by whoosh."""

        key = (field, btext)
        with self.lock:
            got = self.postings_lru.get(key)
            if got is not None:
                self.postings_lru.move_to_end(key)
                return got
        got = self.table.lookup(reader._terms, field, btext) if self.table is not None else None
        if got is None:
            got = _postings(reader, field, btext)
        got = ids, weights = got[0].astype(np.int64), got[1]
        size = 16 * len(ids) + 200
        with self.lock:
            if key not in self.postings_lru:
                self.postings_lru[key] = got
                self.postings_bytes += size
                while self.postings_bytes > MAX_POSTINGS_CACHE_BYTES and len(self.postings_lru) > 1:
                    _, (old_ids, _w) = self.postings_lru.popitem(last=False)
                    self.postings_bytes -= 16 * len(old_ids) + 200
        return got

    def lengths(self, reader, field: str):
        """Per local docnum, the field length whoosh's BM25F reads (byte-quantized), as float64."""

        got = self.lengths_by_field.get(field)
        if got is None:
            got = np.array([reader.doc_field_length(d, field, 1) or 0 for d in range(self.n)], dtype=np.float64)
            self.lengths_by_field[field] = got
        return got

    def facet(self, reader, field: str) -> list[tuple[str, int]]:
        got = self.facets.get(field)
        if got is None:
            from_bytes = reader.schema[field].from_bytes
            got = [(from_bytes(b), _bitmap(_ids(reader, field, b), self.n)) for b in reader.lexicon(field)]
            self.facets[field] = got
        return got

    def value_count(self, reader, field: str) -> int:
        key = f"count:{field}"
        got = self.columns.get(key)
        if got is None:
            got = self.columns[key] = sum(1 for _ in reader.lexicon(field))
        return got

    def facet_codes(self, reader, field: str) -> tuple[list[str], np.ndarray]:
        """Value names and, per local docnum, the index of its value (0: none) — single-valued fields."""
        got = self.codes.get(field)
        if got is None:
            from_bytes = reader.schema[field].from_bytes
            names, codes = [""], np.zeros(self.n, dtype=np.int32)
            for b in reader.lexicon(field):
                names.append(from_bytes(b))
                codes[np.asarray(_ids(reader, field, b), dtype=np.int64)] = len(names) - 1
            got = (names, codes)
            self.codes[field] = got
        return got

    def order(self, reader, field: str, reverse: bool) -> np.ndarray:
        """Local docnums sorted by (column value, docnum), descending if `reverse` (numpy: 4 bytes a
        document, where a list of Python ints took 36 at a million)."""
        key = f"order:{field}:{reverse}"
        got = self.columns.get(key)
        if got is None:
            col = self.column(reader, field)
            got = np.lexsort((np.arange(self.n), col)).astype(np.int32)
            if reverse:
                got = got[::-1].copy()
            self.columns[key] = got
        return got

    def words(self, reader, field: str) -> list[str]:
        """The field's terms as text, ascending (whoosh's term order): typo expansion walks them in
        memory instead of through the term file."""
        key = f"words:{field}"
        got = self.columns.get(key)
        if got is None:
            from_bytes = reader.schema[field].from_bytes
            got = self.columns[key] = [from_bytes(b) for b in reader.lexicon(field)]
        return got

    def column(self, reader, field: str) -> np.ndarray:
        got = self.columns.get(field)
        if got is None:
            got = np.asarray(list(reader.column_reader(field, translate=True)))
            self.columns[field] = got
        return got


_segments: dict[tuple[str, str], SegmentBitmaps] = {}
_merged_codes: OrderedDict = OrderedDict()  # see SearcherBitmaps._facet_codes
_merged_lock = threading.Lock()
MAX_MERGED_CODES = 8  # (segments, field) pairs: the author facet of an index or two, before and after a commit
_segments_lock = threading.Lock()


def _segment_caches(owner: str, readers: list, folder: Path | None = None) -> list[SegmentBitmaps]:
    """The caches of these segment readers; `owner` names the index and generation
    ("<root>:<generation>:<name>"), `folder` is where its segment files are (for the postings
    tables; a segment's table may appear after its first search, so it is looked for again).
    Caches of segments this index no longer has (merged away, or of the generation a rebuild
    replaced) are forgotten here; searchers still using them keep their own references until
    they are closed."""
    keys = [(owner, r.segment().segment_id() if r.segment() is not None else "empty") for r in readers]
    index_of = owner.rsplit(":", 2)[0], owner.rsplit(":", 1)[-1]  # (root, name): any generation
    with _segments_lock:
        out = []
        for key, r in zip(keys, readers):
            c = _segments.get(key)
            if c is None:
                c = _segments[key] = SegmentBitmaps(r.doc_count_all())
            if c.table is None and folder is not None and c.n >= MIN_DOCS and r.segment() is not None:
                c.table = PostingsTable.open(folder, r.segment())
            out.append(c)
        for stale in [k for k in _segments
                      if k not in keys and (k[0].rsplit(":", 2)[0], k[0].rsplit(":", 1)[-1]) == index_of]:
            del _segments[stale]
    return out


def _weight(value) -> int:  # type: ignore[no-untyped-def]
    """Roughly the bytes a memo entry holds: its bitmaps (Python ints), however nested."""
    if isinstance(value, int):
        return (value.bit_length() >> 3) + 64
    if isinstance(value, np.ndarray):
        return value.nbytes + 64
    if isinstance(value, str):
        return len(value) + 64
    if isinstance(value, (tuple, list)):
        return 64 + sum(_weight(v) for v in value)
    return 64


class BitmapAllow(DocIdSet):
    """A bitmap as whoosh's `filter=` (documents outside it are skipped by the collector)."""

    def __init__(self, bm: int, n: int) -> None:
        self._b = bm.to_bytes((n >> 3) + 1, "little")

    def __contains__(self, d: int) -> bool:
        return bool(self._b[d >> 3] >> (d & 7) & 1)

    def __len__(self) -> int:
        return 1

    def __bool__(self) -> bool:
        return True


class SearcherBitmaps:
    """One per searcher (so per thread and index state): leaves, live mask, memoized bitmaps."""

    def __init__(self, searcher, key_prefix: str, folder: Path | None = None) -> None:
        self.searcher = searcher
        self.schema = searcher.schema
        self.n = searcher.doc_count_all()
        subs = searcher.leaf_searchers()
        readers = [sub.reader() for sub, _ in subs]
        caches = _segment_caches(key_prefix, readers, folder)
        self.leaves = [(c, r, offset) for c, r, (_, offset) in zip(caches, readers, subs)]
        live = 0
        for c, r, offset in self.leaves:
            mask = (1 << c.n) - 1
            if r.has_deletions():
                mask &= ~_bitmap(r.deleted_docs_set, c.n)
            live |= mask << offset
        self.live = live
        self.subsearchers = subs
        self._memo: dict = {}
        self._memo_bytes = 0

    def _remember(self, key, value) -> None:
        # Bounded: a searcher lives until the next commit, which may be hours on a quiet hub.
        size = _weight(value)
        if self._memo_bytes + size > MAX_MEMO_BYTES:
            self._memo.clear()
            self._memo_bytes = 0
        self._memo[key] = value
        self._memo_bytes += size

    # ---- matching -----------------------------------------------------------------------
    def _term(self, field: str, text) -> int:
        key = ("t", field, text)
        bm = self._memo.get(key)
        if bm is None:
            btext = self.schema[field].to_bytes(text)
            bm = 0
            for c, r, offset in self.leaves:
                bm |= c.term(r, field, btext) << offset
            bm &= self.live
            self._remember(key, bm)
        return bm

    def _fuzzy(self, q: FuzzyTerm) -> int:
        return self._fuzzy_expansion(q)[0]

    def fuzzy_size(self, q: FuzzyTerm, reader) -> int | None:
        """What q.estimate_size(reader) returns (the sum of its words' document frequencies in
        that segment) without walking the term file again; None for a reader it does not know."""
        return self._fuzzy_expansion(q)[1].get(id(reader))

    def _fuzzy_expansion(self, q: FuzzyTerm) -> tuple[int, dict[int, int]]:
        """(matches, {id(segment reader): estimate_size}) of a FuzzyTerm. The words are those
        whoosh's terms_within() finds — its Levenshtein automaton, walked over each segment's
        term list — but the list is a cached sorted list searched by bisection, not the term file."""
        key = ("f", q.fieldname, q.text, q.maxdist, q.prefixlength)
        got = self._memo.get(key)
        if got is None:
            field = self.schema[q.fieldname]
            spell = field.spelling_fieldname(q.fieldname)
            dfa = levenshtein_automaton(q.text, q.maxdist, q.prefixlength).to_dfa()
            bm, sizes = 0, {}
            for c, r, offset in self.leaves:
                words = c.words(r, spell)

                def first_at_or_after(text: str, words=words) -> str | None:
                    i = bisect_left(words, text)
                    return words[i] if i < len(words) else None
                size = 0
                for word in find_all_matches(dfa, first_at_or_after):
                    t = c.term(r, q.fieldname, field.to_bytes(word))
                    bm |= t << offset
                    size += t.bit_count()
                sizes[id(r)] = size
            got = (bm & self.live, sizes)
            self._remember(key, got)
        return got

    def eval(self, q: Query) -> int:
        """The documents matching `q` (live ones only)."""
        if isinstance(q, Term):
            return self._term(q.fieldname, q.text)
        if isinstance(q, FuzzyTerm):
            return self._fuzzy(q)
        if isinstance(q, And):
            out = self.live
            for sub in q.subqueries:
                out &= self.eval(sub)
                if not out:
                    break
            return out
        if isinstance(q, Or):
            out = 0
            for sub in q.subqueries:
                out |= self.eval(sub)
            return out
        if isinstance(q, WrappingQuery):  # ConstantScoreQuery: same matches, other scores
            return self.eval(q.child)
        if isinstance(q, Every):
            return self.live
        if q is NullQuery:
            return 0
        if isinstance(q, Phrase) and len(q.words) == 2 and q.slop == 1 and f"{q.fieldname}_pairs" in self.schema:
            return self._term(f"{q.fieldname}_pairs", " ".join(q.words))  # see analysis.WordPairsAnalyzer
        # Phrases (positions) and anything else: whoosh's own matching, per segment (cached with
        # the segment's term bitmaps: it never changes but for deletions, which the live mask hides).
        key = ("q", repr(q))
        bm = self._memo.get(key)
        if bm is None:
            bm = 0
            for (c, r, offset), (sub, _) in zip(self.leaves, self.subsearchers):
                bm |= c.query(sub, q, key) << offset
            bm &= self.live
            self._remember(key, bm)
        return bm

    # ---- facets -------------------------------------------------------------------------
    def _facet_values(self, field: str) -> list[tuple[str, int]]:
        key = ("facet", field)
        got = self._memo.get(key)
        if got is None:
            acc: dict[str, int] = {}
            for c, r, offset in self.leaves:
                for value, bm in c.facet(r, field):
                    acc[value] = acc.get(value, 0) | (bm << offset)
            got = [(v, bm & self.live) for v, bm in acc.items()]
            self._remember(key, got)
        return got

    def _facet_codes(self, field: str):
        """(names, per-document codes, each name's rank) over all segments. Shared by every
        searcher of the same segments (module-level, a few kept): at a million documents it is
        4 MB and 33,000 names, which per thread and per commit cost memory and 20 ms each. An entry
        refers to its segments' caches weakly (it must not keep a replaced generation's alive), and
        is good only while they all live: an id in its key may be reused after one died."""
        key = (tuple(id(c) for c, _r, _o in self.leaves), tuple(o for _c, _r, o in self.leaves), field)
        with _merged_lock:
            got = _merged_codes.get(key)
            if got is not None and all(ref() is c for ref, (c, _r, _o) in zip(got[3], self.leaves)):
                _merged_codes.move_to_end(key)
                return got[:3]
        index: dict[str, int] = {}
        parts: list[np.ndarray] = []
        for c, r, _offset in self.leaves:
            names, local = c.facet_codes(r, field)
            remap = np.array([0] + [index.setdefault(v, len(index) + 1) for v in names[1:]], dtype=np.int32)
            parts.append(remap[local])
        names = [""] + sorted(index, key=index.get)
        ranks = np.empty(len(names), dtype=np.int64)  # each name's place in value order
        ranks[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        with _merged_lock:
            _merged_codes[key] = (names, codes, ranks, tuple(weakref.ref(c) for c, _r, _o in self.leaves))
            while len(_merged_codes) > MAX_MERGED_CODES:
                _merged_codes.popitem(last=False)
        return names, codes, ranks

    def facet_counts(self, field: str, m: int, single_valued: bool, limit: int | None = None,
                     keep: frozenset[str] = frozenset()) -> dict[str, int]:
        """{value: number of matching documents with it}, without empty values, most frequent
        first, then by value; the first `limit` of them (and the `keep` values wherever they are:
        the filters a page shows as active), when given: an author facet has a value per namespace."""

        if single_valued and sum(c.value_count(r, field) for c, r, _ in self.leaves) > MANY_VALUES:
            names, codes, ranks = self._facet_codes(field)
            counts = np.bincount(codes[bits(m, self.n)], minlength=len(names))
            counts[0] = 0  # no value
            found = np.flatnonzero(counts)
            found = found[np.lexsort((ranks[found], -counts[found]))].tolist()
            if limit is not None:
                found = found[:limit] + [i for i in found[limit:] if names[i] in keep]
            return {names[i]: int(counts[i]) for i in found}
        out = {}
        for value, bm in self._facet_values(field):
            k = (m & bm).bit_count()
            if k and value:
                out[value] = k
        ranked = sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))
        if limit is not None:
            ranked = ranked[:limit] + [kv for kv in ranked[limit:] if kv[0] in keep]
        return dict(ranked)

    # ---- sorted pages -------------------------------------------------------------------
    def top_by_column(self, m: int, field: str, k: int, reverse: bool) -> list[int]:
        """The first k docnums of `m` ordered by a column, ties by docnum as whoosh orders them."""
        if k <= 0 or not m:
            return []
        mask = bits(m, self.n)
        walk = m.bit_count() > 20_000  # many matches: each segment's cached order, up to k of them
        values, docs = [], []
        for c, r, offset in self.leaves:
            local = mask[offset:offset + c.n]
            if walk:
                order = c.order(r, field, reverse)
                hits = order[local[order]][:k]
            else:
                hits = np.flatnonzero(local)
            values.append(c.column(r, field)[hits])
            docs.append(hits.astype(np.int64) + offset)
        v, d = np.concatenate(values), np.concatenate(docs)
        idx = np.lexsort((d, v))  # by (value, docnum) ascending
        if reverse:
            idx = idx[::-1]
        return d[idx[:k]].tolist()
