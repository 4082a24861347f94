"""Turning what people type into whoosh queries, and results into plain data.

No query syntax is exposed: text is cut into words (jieba for Chinese), and each word must match
somewhere — the repository name (exact, as a prefix, or within one typo), its tags, or its card —
with name and tag matches weighted above card text. Quoted text is a phrase in the card. This
keeps every query bounded: no wildcards to expand, no parser errors to report.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from whoosh import collectors
from whoosh.highlight import ContextFragmenter, HtmlFormatter
from whoosh.searching import Results
from whoosh.query import And, ConstantScoreQuery, Every, FuzzyTerm, NullQuery, Or, Phrase, Prefix, Query, Term

from .analysis import _NAME_TOKENS, _segmenter, name_analyzer, split_name_word, text_analyzer
from .documents import PUBLIC
from .engine import DISCUSSIONS, REPOS, SearchIndex

MAX_QUERY_CHARS = 256
MAX_WORDS = 12
FACETS = {"license": "license", "task": "task", "library": "library", "language": "language",
          "author": "author", "industry": "industry", "region": "region"}
MULTI_VALUED = {"license", "language", "industry", "region"}
LOWERCASED = {"license", "industry", "region"}  # indexed lowercased (see hub/search_writer.py repo_doc)
SORTS = {"downloads": "downloads", "likes": "likes", "trending": "trending", "trendingScore": "trending",
         "lastModified": "last_modified", "recent": "last_modified", "createdAt": "created_at"}
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
_WORD = re.compile(r"[^\W_]+(?:\.[0-9]+)*", re.UNICODE)


@dataclass
class SearchRequest:
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet -> values (all must match)
    repo_type: str | None = "model"
    sort: str | None = None  # None: relevance (or most downloaded without text)
    ascending: bool = False
    offset: int = 0
    limit: int = 20
    viewer: list[str] | None = field(default_factory=list)  # namespaces whose private repos are visible; None = all
    facets: bool = False
    facet_limit: int | None = None  # values per facet (the most frequent; filtered-on ones too)
    highlight: bool = False
    gated: bool | None = None


@dataclass
class Hit:
    pk: int
    repo_id: str
    score: float
    snippet: str | None = None


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None
    took_ms: float = 0.0


def clean_text(text: str) -> str:
    """Normalized, bounded user input: NFKC, no control characters, at most MAX_QUERY_CHARS."""
    text = unicodedata.normalize("NFKC", text or "")[:MAX_QUERY_CHARS * 4]
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    return " ".join(text.split())[:MAX_QUERY_CHARS]


def _words(text: str) -> list[str]:
    """Query words: Chinese runs segmented precisely, other runs split on non-word characters."""
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(text):
        out += _WORD.findall(text[pos:m.start()])
        out += [w for w in _segmenter().cut(m.group(0)) if w.strip()]
        pos = m.end()
    out += _WORD.findall(text[pos:])
    return [w.lower()[:64] for w in out][:MAX_WORDS]


# Name and tag matches score in fixed tiers above anything card text can reach, so a repository
# named or tagged with a word ranks above one that merely mentions it, however often.
NAME_SCORE, PREFIX_SCORE, TAG_SCORE, FUZZY_SCORE = 40.0, 20.0, 25.0, 10.0
# A whole query that is one of a repository's own labels (a tag, its task, library, license or
# language) finds it whatever the words make of the text (jieba cuts 工业质检 in two, `-` splits
# object-detection), ranked above every word match (12 words at most stay far below this).
EXACT_SCORE = 1000.0
EXACT_MAX_CHARS = 100
LABEL_FIELDS = ("tags", "task", "library", "language")


def _word_query(word: str) -> Query:
    card_terms = [t.text for t in text_analyzer()(word)]
    options: list[Query] = []
    for whole, parts in _name_words(word):
        options.append(ConstantScoreQuery(Term("name", whole), NAME_SCORE))
        if parts:  # "qwen2.5" also matches a name with "qwen" and "2.5" as separate words
            options.append(ConstantScoreQuery(And([Term("name", p) for p in parts]), NAME_SCORE * 0.9))
        if len(whole) >= 2:
            options.append(ConstantScoreQuery(Term("name_prefix", whole[:20]), PREFIX_SCORE))
        if 4 <= len(whole) <= 32 and not _CJK_RUN.search(whole):  # typo tolerance, bounded in cost
            options.append(ConstantScoreQuery(FuzzyTerm("name", whole, maxdist=1, prefixlength=1), FUZZY_SCORE))
    options.append(ConstantScoreQuery(Term("tags", word), TAG_SCORE))
    for t in card_terms:
        options.append(Term("card", t))
    return Or(options) if options else NullQuery


def _name_words(word: str) -> list[tuple[str, list[str]]]:
    """Each name word of `word` with its letter/digit parts (empty if it has none)."""
    out: list[tuple[str, list[str]]] = []
    for t in name_analyzer()(word):
        if out and t.text in out[-1][1]:
            continue
        parts = [p for p in split_name_word(t.text)]
        out.append((t.text, parts))
    return out


def _label_query(text: str) -> Query | None:
    """The repositories labelled with exactly `text` (as typed, or lowercased)."""
    if len(text) > EXACT_MAX_CHARS or '"' in text:
        return None
    values = list(dict.fromkeys([text, text.lower()]))
    terms: list[Query] = [Term(f, v) for f in LABEL_FIELDS for v in values]
    terms.append(Term("license", text.lower()))  # indexed lowercased (LOWERCASED)
    return ConstantScoreQuery(Or(terms), EXACT_SCORE)


def _is_stop_word(word: str) -> bool:
    """An English word the card analyzer drops (to, of, for...): it must not be required."""
    return not _CJK_RUN.search(word) and not [t for t in text_analyzer()(word)]


def build_query(text: str) -> Query:
    text = clean_text(text)
    if not text:
        return Every()
    parts: list[Query] = []
    for phrase in re.findall(r'"([^"]+)"', text)[:3]:
        terms = [t.text for t in text_analyzer()(phrase)]
        if len(terms) > 1:
            parts.append(Phrase("card", terms))
        elif terms:
            parts.append(Term("card", terms[0]))
    rest = re.sub(r'"[^"]*"', " ", text)
    words = _words(rest)
    kept = [w for w in words if not _is_stop_word(w)] or words
    parts += [_word_query(w) for w in kept]
    parts = [p for p in parts if p is not NullQuery]
    words_query = NullQuery if not parts else parts[0] if len(parts) == 1 else And(parts)
    label = _label_query(text)
    if label is None:
        return words_query
    return label if words_query is NullQuery else Or([label, words_query])


def visibility_filter(viewer: list[str] | None) -> Query | None:
    if viewer is None:
        return None
    return Or([Term("visible_to", PUBLIC)] + [Term("visible_to", ns) for ns in viewer])


def _filters(req: SearchRequest) -> Query | None:
    clauses: list[Query] = []
    vis = visibility_filter(req.viewer)
    if vis is not None:
        clauses.append(vis)
    if req.repo_type:
        clauses.append(Term("repo_type", req.repo_type))
    if req.gated is not None:
        clauses.append(Term("gated", req.gated))
    for facet, values in req.filters.items():
        fieldname = FACETS.get(facet, facet if facet == "tags" else None)
        if fieldname is None:
            continue
        for v in values:
            clauses.append(Term(fieldname, v.lower() if facet in LOWERCASED else v))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else And(clauses)


def search(index: SearchIndex, req: SearchRequest) -> SearchResult:
    """Matches, total and facet counts come from bitmaps (search_index.bitmaps); the relevance page
    from search_index.ranking (whoosh's scores, computed for a few candidates); sorted pages from
    cached column orders. Same results as whoosh scoring and counting every match."""
    from . import ranking
    from .bitmaps import BitmapAllow

    started = time.perf_counter()
    s = index.searcher(REPOS)
    bm = index.bitmaps(s, REPOS)
    text = clean_text(req.text)
    q = build_query(req.text)
    filt = _filters(req)
    # The query whoosh would run: its filter terms are scored too (a `tag` filter's BM25 orders ties).
    if filt is not None:
        q = And([q, filt]) if not isinstance(q, Every) else filt
    matches = bm.eval(q)
    total = matches.bit_count()
    limit = max(1, min(req.limit, 1001))  # listings ask for a page plus one (to know there is more)
    offset = max(0, min(req.offset, 10_000))
    need = offset + limit
    sort_field = SORTS.get(req.sort or "") or (None if text else "downloads")
    reverse = not req.ascending if req.sort and SORTS.get(req.sort) else True
    page: list[tuple[float, int]] | None = []
    if total and sort_field:
        page = [(0.0, d) for d in bm.top_by_column(matches, sort_field, need, reverse)]
    elif total:
        page = ranking.top(bm, q, matches, need)
        if page is None:  # a query ranking cannot score: whoosh scores every match
            page = list(_ranked(s, q, BitmapAllow(matches, bm.n), limit=need).top_n)
    page = page[offset:need]
    hits: list[Hit] = []
    if req.highlight and text and page:
        results = Results(s, q, page)  # whoosh's hits, for its highlighter (the query's card terms)
        results.fragmenter = ContextFragmenter(maxchars=160, surround=40)
        results.formatter = HtmlFormatter(tagname="mark", classname="match", termclass="term")
        for hit in results:
            snippet = hit.highlights("card", top=2)
            hits.append(Hit(hit["pk"], hit["repo_id"], float(hit.score or 0.0), snippet or None))
    else:
        for score, d in page:
            f = s.stored_fields(d)
            hits.append(Hit(f["pk"], f["repo_id"], float(score or 0.0), None))
    out = SearchResult(total=total, hits=hits)
    if req.facets:
        for name, fieldname in FACETS.items():
            counts = bm.facet_counts(fieldname, matches, single_valued=name not in MULTI_VALUED,
                                     limit=req.facet_limit, keep=frozenset(req.filters.get(name, ())))
            out.facets[name] = counts  # most frequent first
    if out.total == 0 and text:
        out.suggestion = suggest(index, req.text)
    out.took_ms = (time.perf_counter() - started) * 1000
    return out


def _ranked(s, q: Query, allow, limit: int):
    """s.search(q, filter=allow, limit=...) without whoosh's matcher replacement (the fallback of
    search_index.ranking, and what it reproduces). Every few matches whoosh's ScoredCollector
    replaces the matcher tree by a cheaper one, dropping (or making required) the branches whose
    max_quality() cannot lift a document above the page's current minimum score; BM25F's
    max_quality() is computed from quantized field lengths and can be a little low, and with the
    constant name/tag tiers many documents tie exactly at that minimum — so whole groups of
    better-scored documents were left off the page (4% of the bench's distinct queries at 10,000
    documents). Without replacement the page is the true top by score."""
    top = collectors.TopCollector(limit=limit, usequality=False)
    top.replace = 0
    c = collectors.FilterCollector(top, allow=allow)
    s.search_with_collector(q, c)
    return c.results()


def respell(text: str, is_known: Callable[[str, list[str]], bool],
            nearest: Callable[[str], str | None]) -> str | None:
    """"Did you mean", whatever holds the words: each query word the index does not know
    (`is_known(word, its card stems)`) replaced by `nearest(word)`; None when nothing changed.
    Long words, Chinese runs and stop words are kept as they are."""
    changed = False
    out = []
    for w in _words(clean_text(text)):
        stems = [t.text for t in text_analyzer()(w)]
        if len(w) > 32 or _CJK_RUN.search(w) or not stems or is_known(w, stems):
            out.append(w)
            continue
        near = nearest(w)
        out.append(near or w)
        changed = changed or near is not None
    return " ".join(out) if changed else None


def suggest(index: SearchIndex, text: str) -> str | None:
    """"Did you mean": each unknown word replaced by the closest repository-name or card word."""
    s = index.searcher(REPOS)

    def is_known(w: str, stems: list[str]) -> bool:
        return bool(s.doc_frequency("name", w) or any(s.doc_frequency("card", t) for t in stems)
                    or s.doc_frequency("tags", w))

    def nearest(w: str) -> str | None:
        cands = (s.suggest("name", w, limit=1, maxdist=2, prefix=1)
                 or s.suggest("card", w, limit=1, maxdist=2, prefix=1))
        return cands[0] if cands else None

    return respell(text, is_known, nearest)


QUICK_MAX_WORDS = 4


def quick_name_words(text: str) -> list[str]:
    """The name prefixes quick search requires: each whole name word of the input (2 to 20
    characters), as name_prefix holds them ("qwen2.5" is one, not also "2.5", which starts no word)."""
    words = re.findall(_NAME_TOKENS, clean_text(text).lower())
    return [w[:20] for w in words if len(w) >= 2][:QUICK_MAX_WORDS]


@dataclass
class QuickText:
    """Quick search's second tier, for input with Chinese in it. A repository qualifies when one of
    its tags starts with the whole input (鹦鹉巡检 for 鹦鹉巡检机器人), or when every word (jieba's
    precise cut) starts one of its tags or its name, or is a word of its card: names are rarely
    Chinese, so 工业 or 语音 must reach the tags (工业质检) and the card text (jieba's search mode
    indexed 语音 inside 语音识别). Latin input keeps to names, as the Hub's quick search does: a
    card mentions too many words to suggest from."""

    tag_prefix: str
    words: list[tuple[str, list[str]]]  # each word, with its card terms


def quick_text(text: str) -> QuickText | None:
    """The second tier's terms for `text`, or None when it has no Chinese."""
    text = clean_text(text)
    if not _CJK_RUN.search(text):
        return None
    words = _words(text)
    kept = [w for w in words if not _is_stop_word(w)] or words
    return QuickText(text[:EXACT_MAX_CHARS],
                     [(w[:20], [t.text for t in text_analyzer()(w)]) for w in kept[:QUICK_MAX_WORDS]])


def quick(index: SearchIndex, prefix: str, viewer: list[str] | None, limit: int = 10) -> list[str]:
    """Autocomplete: repositories whose name words start with `prefix`, most downloaded first; then,
    for Chinese input, those whose tags or card hold its words (QuickText)."""
    s = index.searcher(REPOS)
    bm = index.bitmaps(s, REPOS)
    vis = visibility_filter(viewer)
    visible = bm.eval(vis) if vis is not None else bm.live
    names = quick_name_words(prefix)
    by_name = bm.eval(And([Term("name_prefix", w) for w in names])) & visible if names else 0
    found = bm.top_by_column(by_name, "downloads", limit, True)
    more = quick_text(prefix)
    if more and len(found) < limit:
        q = Or([Prefix("tags", more.tag_prefix),
                And([Or([Prefix("tags", w), Term("name_prefix", w)] + [Term("card", t) for t in terms])
                     for w, terms in more.words])])
        found += bm.top_by_column(bm.eval(q) & visible & ~by_name, "downloads", limit - len(found), True)
    return [s.stored_fields(d)["repo_id"] for d in found]


def search_discussions(index: SearchIndex, repo_pk: int, text: str, viewer: list[str] | None,
                       limit: int = 20) -> list[dict]:
    s = index.searcher(DISCUSSIONS)
    words = _words(clean_text(text))
    if not words:
        return []
    parts = []
    for w in words:
        terms = [t.text for t in text_analyzer()(w)]
        parts.append(Or([Term("title", t) for t in terms] + [Term("text", t) for t in terms]) if terms else NullQuery)
    parts = [p for p in parts if p is not NullQuery]
    if not parts:
        return []
    q: Query = And(parts + [Term("repo_pk", str(repo_pk))])
    vis = visibility_filter(viewer)
    if vis is not None:
        q = And([q, vis])
    return [{"num": h["num"], "title": h["title"], "status": h["status"], "isPullRequest": h["is_pr"],
             "author": h["author"], "score": float(h.score or 0)} for h in s.search(q, limit=limit)]
