"""The relevance page: whoosh's own scores, but computed for a handful of documents, not every match.

whoosh ranks by walking the matcher tree over every matching document in Python (several
microseconds per document and clause), so a common word at 100,000 documents cost 0.3-0.8 s. Its
usual shortcut (replacing matchers that cannot lift a document above the page's lowest score) is
off here (see query._ranked), so the cost was all of it.

Here the page is found in two steps, with the same result as scoring every match:

1. Every match gets an *approximate* score with numpy: each leaf clause's per-document score
   (BM25F with whoosh's own formula, idf, average and byte-quantized field lengths and posting
   weights; a constant for ConstantScoreQuery), summed. The values of each leaf are exactly
   whoosh's; only the order in which whoosh adds them (a tree that depends on each segment's term
   statistics) can differ, which moves a sum by a few units in the last place. So every document
   of the true page has an approximate score within DELTA of the k-th best approximate score or
   above it: those are the candidates.
2. The candidates are scored exactly, by whoosh's matcher tree for the query (skip_to each one).
   Candidates of one segment with the same leaf values get the same exact score, so one of each
   group is scored (a word matching 30,000 documents only through, say, a tag is one group per
   segment, not 30,000 skip_tos). The page is then the candidates by (-score, docnum), as whoosh's
   collector orders them.

Anything this does not know how to score (a query type other than those query.build_query and
query._filters make, another weighting model) returns None, and the caller ranks with whoosh.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from types import MethodType

import numpy as np
from whoosh.matching import ListMatcher, NullMatcher, ReadTooFar
from whoosh.query import And, ConstantScoreQuery, FuzzyTerm, NullQuery, Or, Phrase, Query, Term
from whoosh.scoring import BM25F

from .bitmaps import SearcherBitmaps, bits

DELTA = 1e-6  # relative; summation order moves a score by ~1e-15 relative


class _Unsupported(Exception):
    pass


def _bisecting_skip_to(self, id):
    """ListMatcher.skip_to, by bisection (whoosh's walks the list one id at a time)."""
    if not self.is_active():
        raise ReadTooFar
    if id <= self.id():
        return
    self._i = bisect_left(self._ids, id, self._i)


class _CachedConstantScore(ConstantScoreQuery):
    """ConstantScoreQuery whose matcher lists the child's matches from the bitmap caches instead of
    walking the child's postings (same documents, same constant, same estimate_size, so whoosh
    builds the same matcher tree around it)."""

    def __init__(self, child: Query, score: float, local_ids, bm: SearcherBitmaps) -> None:
        super().__init__(child, score)
        self._local_ids = local_ids  # segment reader -> sorted local docnums
        self._bm = bm

    def estimate_size(self, ixreader) -> int:
        # A typo clause's size is the sum of its words' frequencies: whoosh would walk the term
        # file once more to find the words; the bitmaps already know them.
        if isinstance(self.child, FuzzyTerm):
            got = self._bm.fuzzy_size(self.child, ixreader)
            if got is not None:
                return got
        return super().estimate_size(ixreader)

    def matcher(self, searcher, context=None):
        if context is None or context.needs_current:
            return super().matcher(searcher, context)
        ids = self._local_ids(searcher.reader())
        if not ids:  # (None: a reader this search does not know) as whoosh would
            return super().matcher(searcher, context)
        # A plain ListMatcher, as whoosh's: matcher types decide the order of equal-sized branches
        # in whoosh's matcher trees, so the order in which scores are added.
        m = ListMatcher(ids, all_weights=self.score)
        m.skip_to = MethodType(_bisecting_skip_to, m)
        return m


class _CandidateLeaf(ListMatcher):
    """A Term's matcher for step 2: only the candidates of one segment that have the term, with
    the term's score for each already computed in step 1 (exactly whoosh's, see _term_scores), so
    scoring the candidates decodes no postings. One class for every such leaf, as whoosh's leaves
    are all W3LeafMatcher: whoosh orders equal-weight branches of its matcher trees by whether
    their matcher types are the same, so the trees (and the order of the additions) stay whoosh's."""

    skip_to = _bisecting_skip_to

    def __init__(self, ids: list[int], scores: list[float]) -> None:
        super().__init__(ids, weights=scores)

    def score(self) -> float:
        return self._weights[self._i]

    def weight(self) -> float:
        return self._weights[self._i]


class _CandidateTerm(Term):
    """A Term (same field, text and estimate_size, so the same place in whoosh's trees) whose
    matcher is a _CandidateLeaf; readers it does not know get whoosh's own matcher."""

    def __init__(self, q: Term, leaf_of) -> None:
        super().__init__(q.fieldname, q.text)
        self._leaf_of = leaf_of  # reader -> (local ids, scores) of the candidates, or None

    def matcher(self, searcher, context=None):
        got = self._leaf_of(searcher.reader())
        if got is None:
            return super().matcher(searcher, context)
        if got is _ABSENT:  # not in this segment's lexicon: whoosh's NullMatcher too
            return NullMatcher()
        return _CandidateLeaf(*got)


_ABSENT = object()


class Ranker:
    """Ranks for one searcher (and so one thread); built per search, cheap."""

    def __init__(self, bm: SearcherBitmaps) -> None:
        self.bm = bm
        self.s = bm.searcher
        w = self.s.weighting
        if type(w) is not BM25F or w._field_B:
            raise _Unsupported("weighting")
        self.B, self.K1 = w.B, w.K1
        self.seg_starts = np.array([offset for _, _, offset in bm.leaves], dtype=np.int64)
        # (field, text) -> (per-document scores, global; each segment's local docnums with the term)
        self._terms: dict[tuple[str, object], tuple[np.ndarray, list[np.ndarray]]] = {}

    # ---- step 1: approximate scores --------------------------------------------------------
    def _leaves(self, q: Query, out: list[np.ndarray]) -> None:
        if type(q) is Term and q.boost == 1.0 and not q.minquality:
            out.append(self._term_scores(q.fieldname, q.text))
        elif type(q) is ConstantScoreQuery:
            out.append(np.where(bits(self.bm.eval(q.child), self.bm.n), float(q.score), 0.0))
        elif type(q) in (And, Or) and q.boost == 1.0:
            for sub in q.subqueries:
                self._leaves(sub, out)
        elif type(q) is Phrase and q.boost == 1.0:  # scored as the sum of its terms' scores
            for word in q.words:
                self._leaves(Term(q.fieldname, word), out)
        elif q is NullQuery:
            pass
        else:
            raise _Unsupported(repr(q))

    def _term_scores(self, fieldname: str, text) -> np.ndarray:
        got = self._terms.get((fieldname, text))
        if got is not None:
            return got[0]
        s, bm = self.s, self.bm
        field = s.schema[fieldname]
        btext = field.to_bytes(text)
        out = np.zeros(bm.n, dtype=np.float64)
        scorable = field.scorable
        if scorable:
            parent = s  # the top-level searcher: global idf and average length, as BM25FScorer
            idf = parent.idf(fieldname, btext)
            avgfl = parent.avg_field_length(fieldname) or 1
            B, K1 = self.B, self.K1
        seg_ids = []
        for c, r, offset in bm.leaves:
            ids, weights = c.postings(r, fieldname, btext)
            seg_ids.append(ids)
            if not len(ids):
                continue
            if scorable:
                fl = c.lengths(r, fieldname)[ids]
                # whoosh.scoring.bm25, operation for operation (numpy float64 = Python float)
                vals = idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * fl / avgfl)))
            else:
                vals = weights
            out[ids + offset] = vals
        self._terms[(fieldname, text)] = (out, seg_ids)
        return out

    # ---- step 2: exact scores --------------------------------------------------------------
    def _exact_query(self, q: Query, candidates: list[np.ndarray]) -> Query:
        if isinstance(q, ConstantScoreQuery):
            return _CachedConstantScore(q.child, q.score, self._local_ids_of(q.child), self.bm)
        if type(q) in (And, Or):
            return q.__class__([self._exact_query(x, candidates) for x in q.subqueries], boost=q.boost)
        if type(q) is Term and q.boost == 1.0 and not q.minquality and (q.fieldname, q.text) in self._terms:
            return _CandidateTerm(q, self._candidate_leaves(q, candidates))
        return q

    def _candidate_leaves(self, q: Term, candidates: list[np.ndarray]):
        """reader -> (the candidates of its segment with term q, their scores) for _CandidateTerm."""
        scores, seg_ids = self._terms[(q.fieldname, q.text)]
        by_reader = {id(r): (i, offset) for i, (_c, r, offset) in enumerate(self.bm.leaves)}

        def leaf_of(reader):
            got = by_reader.get(id(reader))
            if got is None:
                return None
            i, offset = got
            ids = seg_ids[i]
            if not len(ids):
                return _ABSENT
            cand = candidates[i]
            at = np.minimum(np.searchsorted(ids, cand), len(ids) - 1)
            local = cand[ids[at] == cand]
            return local.tolist(), scores[local + offset].tolist()
        return leaf_of

    def _local_ids_of(self, child: Query):
        bm = self.bm
        global_bits = bits(bm.eval(child), bm.n)
        by_reader = {id(r): (offset, c.n) for c, r, offset in bm.leaves}

        def local(reader):
            got = by_reader.get(id(reader))
            if got is None:
                return None
            offset, n = got
            return array("I", np.flatnonzero(global_bits[offset:offset + n]).tolist())
        return local

    def _exact(self, q: Query, docs: np.ndarray) -> dict[int, float]:
        """whoosh's score of each document of `docs` (global docnums) for q."""
        seg = np.searchsorted(self.seg_starts, docs, side="right") - 1
        candidates = [np.sort(docs[seg == i] - offset) for i, (_sub, offset) in enumerate(self.bm.subsearchers)]
        qx = self._exact_query(q, candidates)
        context = self.s.context()
        out: dict[int, float] = {}
        for i, (sub, offset) in enumerate(self.bm.subsearchers):
            local = candidates[i].tolist()
            if not local:
                continue
            m = qx.matcher(sub, context)
            for d in local:
                if not m.is_active():
                    break
                m.skip_to(d)
                if m.is_active() and m.id() == d:
                    out[d + offset] = m.score()
        return out

    # ---- the page --------------------------------------------------------------------------
    def top(self, q: Query, matches: int, k: int) -> list[tuple[float, int]]:
        """The first k of `matches` (a bitmap of the documents q matches) by whoosh's score for q,
        ties by docnum: [(score, docnum)]."""
        leaves: list[np.ndarray] = []
        self._leaves(q, leaves)
        docs = np.flatnonzero(bits(matches, self.bm.n))
        if not len(docs) or k <= 0:
            return []
        if leaves:
            values = np.stack([leaf[docs] for leaf in leaves])  # leaves x docs
            approx = values.sum(axis=0)
        else:
            values = np.zeros((0, len(docs)))
            approx = np.zeros(len(docs))
        if len(docs) > k:
            kth = np.partition(approx, len(docs) - k)[len(docs) - k]
            keep = approx >= kth - DELTA * max(1.0, abs(kth))
            docs, values = docs[keep], values[:, keep]
        seg = np.searchsorted(self.seg_starts, docs, side="right") - 1
        rows = np.vstack([seg.astype(np.float64), values]).T
        _, first, group = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        group = group.reshape(-1)
        reps = docs[first]
        exact = self._exact(q, reps)
        if len(exact) != len(reps):
            raise _Unsupported("bitmap and whoosh matching disagree")
        scores = np.array([exact[int(d)] for d in reps], dtype=np.float64)[group]
        order = np.lexsort((docs, -scores))[:k]
        return [(float(scores[i]), int(docs[i])) for i in order]


def top(bm: SearcherBitmaps, q: Query, matches: int, k: int) -> list[tuple[float, int]] | None:
    """Ranker(bm).top(...), or None when it cannot rank this query (the caller asks whoosh)."""
    try:
        return Ranker(bm).top(q, matches, k)
    except _Unsupported:
        return None
