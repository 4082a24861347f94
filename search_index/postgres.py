"""The PostgreSQL search backend (MODELHUB_SEARCH=postgres): one index, held by the database every
node already shares, instead of a whoosh folder per node.

Same analysis, same query, same answers (as far as SQL allows; README.md says where it differs):

- Tokens come from search_index.analysis, never from PostgreSQL's parsers: jieba for Chinese,
  English stems, the name analyzer's words and letter/digit parts. Each repository's `doc` is a
  tsvector literal built here (`'word':12D`): weight A for the name's words, B for their parts,
  C for tags, D for the card's words at their positions (stop words leave gaps, as in whoosh, so a
  quoted phrase is `'a':D <-> 'b':D` and means what whoosh's Phrase means). PostgreSQL re-stems
  nothing: a tsvector literal and a tsquery literal are taken as written.
- A query word matches as whoosh's `query._word_query` does: the name (exact `:AB`, its parts,
  a prefix `:*A`, one typo), a tag (`:C`) or the card (`:D`); each kind adds its fixed score
  (query.NAME_SCORE...), card words add a text rank (ts_rank on weight D), and a whole query equal
  to a label (tag, task, library, language, license) adds query.EXACT_SCORE.
- Typos: the words within one edit of a query word are looked up in `search_name_words` (the
  name words ever indexed) through its pg_trgm index, checked with whoosh's Levenshtein distance,
  and matched as plain terms; "did you mean" uses the same vocabulary (two edits).
- Facet counts are GROUP BY / unnest over the matches; visibility (`visible_to`) is a condition of
  every query; sorted pages use the (column, pk) indexes.

This package imports nothing of the project: the caller hands in an SQLAlchemy engine and its
locks (hub/search_writer.py), and the tables come from migration 0016.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine
from whoosh.highlight import ContextFragmenter, HtmlFormatter, highlight
from whoosh.support.levenshtein import levenshtein

from .analysis import _NAME_TOKENS, split_name_word, text_analyzer
from .documents import PUBLIC, DiscussionDoc, RepoDoc
from .engine import _epoch
from .query import (_CJK_RUN, EXACT_MAX_CHARS, EXACT_SCORE, FACETS, FUZZY_SCORE, LOWERCASED, MULTI_VALUED, NAME_SCORE,
                    PREFIX_SCORE, SORTS, TAG_SCORE, Hit, SearchRequest, SearchResult, _is_stop_word, _name_words, _words,
                    clean_text, quick_name_words, quick_text, respell)
from .schema import MAX_CARD_CHARS

WRITER_LOCK = "search-writer"  # one writer for the whole cluster: the index is shared
REPOS, WORDS, DISCUSSIONS = "search_repos", "search_name_words", "search_discussions"
# tsvector positions are 1..16383; a lexeme keeps at most 256 of them.
MAX_POSITION, MAX_POSITIONS = 16383, 256
# Positions of the name (A), parts (B) and tags (C) lexemes; card words follow (CARD_BASE + whoosh's position).
NAME_POS, PARTS_POS, TAG_POS, CARD_BASE = 1, 2, 3, 10
# Card rank weights, {D, C, B, A} as ts_rank takes them: only card words rank as text; the name and
# tag tiers are the fixed scores above.
CARD_WEIGHTS = "{1,0,0,0}"
# ts_rank of one card word is below 1; scaled so that, as whoosh's BM25 scores, it orders matches
# of one tier without ever lifting a card mention above a tag or a name.
CARD_SCALE = 10.0
# Candidates for typo tolerance: name words whose trigram similarity with the query word is at
# least this (a single edit in a 4-letter word leaves 0.25), then checked by edit distance.
TRIGRAM_FLOOR = 0.2
REBUILD_CHUNK = 500  # documents analysed per task of a rebuild's worker processes

_NAME_WORD = re.compile(_NAME_TOKENS, re.UNICODE)
_REPO_COLUMNS = ("pk", "repo_type", "repo_id", "author", "card", "doc", "tags", "licenses", "task", "library",
                 "languages", "regions", "industries", "labels", "downloads", "likes", "trending", "last_modified",
                 "created_at", "visible_to", "gated")
_DISCUSSION_COLUMNS = ("pk", "repo_pk", "repo_id", "num", "title", "author", "status", "is_pr", "created_at",
                       "visible_to", "doc")
_FACET_COLUMNS = {"license": "licenses", "task": "task", "library": "library", "language": "languages",
                  "author": "author", "industry": "industries", "region": "regions"}
_SORT_COLUMNS = {"downloads", "likes", "trending", "last_modified", "created_at"}


class Locks(Protocol):
    """Named exclusive locks that die with their holder, seen by every node (advisory locks)."""

    def hold(self, name: str) -> AbstractContextManager[None]: ...

    def try_hold(self, name: str) -> AbstractContextManager[bool]: ...


# ---- documents -> rows ----------------------------------------------------------------------------

def _lexeme(word: str) -> str:
    """A quoted lexeme of a tsvector or tsquery literal."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _keywords(values: Iterable[str]) -> list[str]:
    """A KEYWORD(commas=True) field's terms: comma-separated, stripped, no empty ones."""
    out: list[str] = []
    for v in values:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return list(dict.fromkeys(out))


def name_words(name: str) -> list[tuple[str, list[str]]]:
    """Each word of a repository name (lowercased) with its letter/digit parts, as the name field
    of the whoosh schema indexes them (analysis.name_analyzer)."""
    return [(w, split_name_word(w)) for w in (m.lower() for m in _NAME_WORD.findall(name))]


def card_words(card: str) -> list[tuple[str, int]]:
    """The card field's terms and positions (stop words leave gaps, as whoosh counts them)."""
    return [(t.text, t.pos) for t in text_analyzer()(card, positions=True, mode="index")]


def tsvector_literal(name: str, tags: list[str], card: str) -> str:
    """The `doc` of a repository: name words (A), their parts (B), tags (C), card words (D)."""
    positions: dict[str, list[str]] = {}
    for whole, parts in name_words(name):
        positions.setdefault(whole, []).append(f"{NAME_POS}A")
        for p in parts:
            positions.setdefault(p, []).append(f"{PARTS_POS}B")
    for tag in tags:
        positions.setdefault(tag, []).append(f"{TAG_POS}C")
    for word, pos in card_words(card):
        at = positions.setdefault(word, [])
        if len(at) < MAX_POSITIONS:
            at.append(f"{min(CARD_BASE + pos, MAX_POSITION)}D")
    return " ".join(f"{_lexeme(w)}:{','.join(dict.fromkeys(p))}" for w, p in positions.items())


def repo_row(d: RepoDoc) -> dict[str, Any]:
    """The search_repos row of a document (plus `words`: its name words, for the vocabulary)."""
    card = d.card_text[:MAX_CARD_CHARS]
    name = d.repo_id.replace("/", " ")
    tags = _keywords(t.replace(",", " ") for t in d.tags)
    licenses, languages = _keywords(d.licenses), _keywords(d.languages)
    labels = list(dict.fromkeys(tags + [x for x in (d.task, d.library) if x] + languages + licenses))
    words = name_words(name)
    return {
        "pk": d.pk, "repo_type": d.repo_type, "repo_id": d.repo_id, "author": d.namespace, "card": card,
        "doc": tsvector_literal(name, tags, card), "tags": tags, "licenses": licenses, "task": d.task or "",
        "library": d.library or "", "languages": languages, "regions": _keywords(d.regions),
        "industries": _keywords(d.industries), "labels": labels, "downloads": int(d.downloads),
        "likes": int(d.likes), "trending": float(d.trending), "last_modified": _epoch(d.last_modified),
        "created_at": _epoch(d.created_at), "visible_to": d.namespace if d.private else PUBLIC,
        "gated": bool(d.gated),
        "words": sorted({w for whole, parts in words for w in [whole, *parts]}),
    }


def discussion_row(d: DiscussionDoc) -> dict[str, Any]:
    positions: dict[str, list[str]] = {}
    for weight, value in (("A", d.title), ("D", d.text[:MAX_CARD_CHARS])):
        for word, pos in card_words(value):
            at = positions.setdefault(word, [])
            if len(at) < MAX_POSITIONS:
                at.append(f"{min(1 + pos, MAX_POSITION)}{weight}")
    doc = " ".join(f"{_lexeme(w)}:{','.join(dict.fromkeys(p))}" for w, p in positions.items())
    return {"pk": d.pk, "repo_pk": d.repo_pk, "repo_id": d.repo_id, "num": d.num, "title": d.title,
            "author": d.author, "status": d.status, "is_pr": d.is_pull_request, "created_at": _epoch(d.created_at),
            "visible_to": d.namespace if d.private else PUBLIC, "doc": doc}


def _rows_of(docs: list[RepoDoc]) -> list[dict[str, Any]]:
    """A rebuild worker's task: analysing is the costly part (jieba), so it runs in processes."""
    return [repo_row(d) for d in docs]


# ---- queries ---------------------------------------------------------------------------------------

@dataclass
class _Query:
    """The SQL of one search: a WHERE clause, a score expression, and their parameters."""

    where: list[str]
    score: str
    params: dict[str, Any]
    card_terms: list[str]

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _or(parts: list[str]) -> str:
    return " | ".join(f"({p})" for p in parts)


class PostgresIndex:
    """The search index in PostgreSQL: SearchIndex's writing interface (writer_lock, apply, rebuild)
    and the reading one of search_index.query (search, quick, discussions)."""

    def __init__(self, engine: Engine, locks: Locks) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the PostgreSQL search backend needs a PostgreSQL database")
        self.engine = engine
        self.locks = locks

    # ---- writing ---------------------------------------------------------------------------------
    @contextmanager
    def writer_lock(self, blocking: bool = True) -> Iterator[bool]:
        """The single writer of the whole cluster (the index is shared); with blocking=False,
        yields False if someone else holds it."""
        if not blocking:
            with self.locks.try_hold(WRITER_LOCK) as mine:
                yield mine
            return
        with self.locks.hold(WRITER_LOCK):
            yield True

    def is_current_schema(self) -> bool:
        """Always: the tables' shape is the migrations' business."""
        return True

    def apply(self, repos: Iterable[RepoDoc] = (), deleted_repos: Iterable[int] = (),
              discussions: Iterable[DiscussionDoc] = (), deleted_discussions: Iterable[int] = (),
              deleted_discussions_of_repos: Iterable[int] = ()) -> None:
        """Write a batch of changes in one transaction. The caller holds writer_lock()."""
        rows = [repo_row(d) for d in repos]
        drows = [discussion_row(d) for d in discussions]
        with self.engine.begin() as c:
            gone = list(deleted_repos)
            if gone:
                c.execute(sql(f"DELETE FROM {REPOS} WHERE pk = ANY(:pks)"), {"pks": gone})
            if rows:
                self._upsert_repos(c, REPOS, rows)
                self._add_words(c, WORDS, sorted({w for r in rows for w in r["words"]}))
            dgone = list(deleted_discussions)
            if dgone:
                c.execute(sql(f"DELETE FROM {DISCUSSIONS} WHERE pk = ANY(:pks)"), {"pks": dgone})
            of_repos = list(deleted_discussions_of_repos)
            if of_repos:
                c.execute(sql(f"DELETE FROM {DISCUSSIONS} WHERE repo_pk = ANY(:pks)"), {"pks": of_repos})
            if drows:
                cols = ", ".join(_DISCUSSION_COLUMNS)
                values = ", ".join(f"CAST(:{k} AS tsvector)" if k == "doc" else f":{k}" for k in _DISCUSSION_COLUMNS)
                updates = ", ".join(f"{k} = EXCLUDED.{k}" for k in _DISCUSSION_COLUMNS if k != "pk")
                c.execute(sql(f"INSERT INTO {DISCUSSIONS} ({cols}) VALUES ({values}) "
                              f"ON CONFLICT (pk) DO UPDATE SET {updates}"), drows)

    @staticmethod
    def _upsert_repos(c: Connection, table: str, rows: list[dict[str, Any]]) -> None:
        cols = ", ".join(_REPO_COLUMNS)
        values = ", ".join(f"CAST(:{k} AS tsvector)" if k == "doc" else f":{k}" for k in _REPO_COLUMNS)
        updates = ", ".join(f"{k} = EXCLUDED.{k}" for k in _REPO_COLUMNS if k != "pk")
        c.execute(sql(f"INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT (pk) DO UPDATE SET {updates}"),
                  [{k: r[k] for k in _REPO_COLUMNS} for r in rows])

    @staticmethod
    def _add_words(c: Connection, table: str, words: list[str]) -> None:
        """New name words join the vocabulary; words no name uses any more stay (they only make a
        typo clause look for a term nobody has) until the next rebuild."""
        if words:
            c.execute(sql(f"INSERT INTO {table} (word) SELECT unnest(CAST(:w AS text[])) ON CONFLICT DO NOTHING"),
                      {"w": words})

    def rebuild(self, repos: Iterable[RepoDoc], discussions: Iterable[DiscussionDoc],
                progress: Callable[[int], None] | None = None,
                phase: Callable[[str], None] | None = None, procs: int = 1) -> None:
        """Load everything into new tables, index them, then swap them in within one transaction:
        search keeps answering from the old tables meanwhile. The caller holds writer_lock().

        Rows go in by COPY; with procs > 1 the analysis (jieba, stems) runs in that many worker
        processes (forked: call it from a process without other threads, as the CLI is)."""
        suffix = "_next"
        with self.engine.begin() as c:
            for table in (REPOS, WORDS, DISCUSSIONS):
                c.execute(sql(f"DROP TABLE IF EXISTS {table}{suffix}"))
                c.execute(sql(f"CREATE TABLE {table}{suffix} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        words: set[str] = set()
        raw = self.engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()
            cols = ", ".join(_REPO_COLUMNS)
            with cur.copy(f"COPY {REPOS}{suffix} ({cols}) FROM STDIN") as copy:
                for rows in self._analysed(repos, procs):
                    for r in rows:
                        copy.write_row([r[k] for k in _REPO_COLUMNS])
                        words.update(r["words"])
                    if progress:
                        progress(len(rows))
            with cur.copy(f"COPY {WORDS}{suffix} (word) FROM STDIN") as copy:
                for w in sorted(words):
                    copy.write_row([w])
            with cur.copy(f"COPY {DISCUSSIONS}{suffix} ({', '.join(_DISCUSSION_COLUMNS)}) FROM STDIN") as copy:
                for d in discussions:
                    r = discussion_row(d)
                    copy.write_row([r[k] for k in _DISCUSSION_COLUMNS])
            raw.commit()
        finally:
            raw.close()
        if phase:
            phase("building the indexes of the new tables")
        with self.engine.begin() as c:
            for table in (REPOS, WORDS, DISCUSSIONS):
                c.execute(sql(f"ALTER TABLE {table}{suffix} ADD PRIMARY KEY ({'word' if table == WORDS else 'pk'})"))
                for name, ddl in c.execute(sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
                                               "AND indexname NOT LIKE '%\\_pkey'"), {"t": table}).all():
                    c.execute(sql(ddl.replace(f" INDEX {name} ON ", f" INDEX {name}{suffix} ON ", 1)
                                  .replace(f" public.{table} ", f" public.{table}{suffix} ", 1)
                                  .replace(f" {table} USING", f" {table}{suffix} USING", 1)))
        if phase:
            phase("swapping the new tables in")
        with self.engine.begin() as c:
            # All three at once, in the order a search takes them (the vocabulary for its typo
            # clauses, then the repositories): taken one by one, a search holding the vocabulary and
            # waiting for the repositories deadlocks with a swap holding them.
            c.execute(sql(f"LOCK TABLE {WORDS}, {REPOS}, {DISCUSSIONS} IN ACCESS EXCLUSIVE MODE"))
            for table in (REPOS, WORDS, DISCUSSIONS):
                indexes = [n for (n,) in c.execute(sql("SELECT indexname FROM pg_indexes WHERE tablename = :t"),
                                                   {"t": table}).all()]
                c.execute(sql(f"DROP TABLE {table}"))
                c.execute(sql(f"ALTER TABLE {table}{suffix} RENAME TO {table}"))
                c.execute(sql(f"ALTER INDEX {table}{suffix}_pkey RENAME TO {table}_pkey"))
                for n in indexes:
                    if n != f"{table}_pkey":
                        c.execute(sql(f"ALTER INDEX {n}{suffix} RENAME TO {n}"))
            c.execute(sql(f"ANALYZE {REPOS}"))

    @staticmethod
    def _analysed(docs: Iterable[RepoDoc], procs: int) -> Iterator[list[dict[str, Any]]]:
        it = iter(docs)
        chunks = iter(lambda: list(islice(it, REBUILD_CHUNK)), [])
        if procs <= 1:
            yield from map(_rows_of, chunks)
            return
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            yield from pool.imap(_rows_of, chunks)

    # ---- reading ---------------------------------------------------------------------------------
    def doc_count(self) -> int:
        with self.engine.connect() as c:
            return int(c.scalar(sql(f"SELECT count(*) FROM {REPOS}")) or 0)

    def _typo_words(self, c: Connection, word: str, maxdist: int) -> list[str]:
        """Name words within `maxdist` edits of `word`, with its first letter (whoosh's prefixlength=1)."""
        c.execute(sql("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"), {"t": str(TRIGRAM_FLOOR)})
        got = c.execute(sql(f"SELECT word FROM {WORDS} WHERE word % :w AND left(word, 1) = left(:w, 1) "
                            "AND length(word) BETWEEN :lo AND :hi ORDER BY similarity(word, :w) DESC, word"),
                        {"w": word, "lo": len(word) - maxdist, "hi": len(word) + maxdist}).scalars().all()
        return [w for w in got if levenshtein(w, word, maxdist + 1) <= maxdist]

    def _word_options(self, c: Connection, q: _Query, word: str) -> tuple[str, str]:
        """query._word_query in SQL: the word's tsquery (any of its options) and its score."""
        card_terms = [t.text for t in text_analyzer()(word)]
        scored: list[tuple[str, float]] = []
        for whole, parts in _name_words(word):
            scored.append((f"{_lexeme(whole)}:AB", NAME_SCORE))
            if parts:
                scored.append((" & ".join(f"{_lexeme(p)}:AB" for p in parts), NAME_SCORE * 0.9))
            if len(whole) >= 2:
                scored.append((f"{_lexeme(whole[:20])}:*A", PREFIX_SCORE))
            if 4 <= len(whole) <= 32 and not _CJK_RUN.search(whole):
                near = self._typo_words(c, whole, 1)
                if near:
                    scored.append((_or([f"{_lexeme(w)}:AB" for w in near]), FUZZY_SCORE))
        scored.append((f"{_lexeme(word)}:C", TAG_SCORE))
        card = [f"{_lexeme(t)}:D" for t in card_terms]
        q.card_terms += card_terms
        tsq = _or([t for t, _ in scored] + card)
        score = " + ".join(f"CASE WHEN doc @@ CAST({q.param(t)} AS tsquery) THEN {s} ELSE 0 END" for t, s in scored)
        return tsq, score

    def _text_query(self, c: Connection, req: SearchRequest, q: _Query) -> None:
        """query.build_query in SQL, added to `q`."""
        text = clean_text(req.text)
        if not text:
            return
        parts: list[str] = []
        scores: list[str] = []
        for phrase in re.findall(r'"([^"]+)"', text)[:3]:
            terms = [t.text for t in text_analyzer()(phrase)]
            if terms:
                parts.append(" <-> ".join(f"{_lexeme(t)}:D" for t in terms))
                q.card_terms += terms
        rest = re.sub(r'"[^"]*"', " ", text)
        words = _words(rest)
        kept = [w for w in words if not _is_stop_word(w)] or words
        for w in kept:
            tsq, score = self._word_options(c, q, w)
            parts.append(tsq)
            scores.append(score)
        if q.card_terms:
            card = _or([f"{_lexeme(t)}:D" for t in dict.fromkeys(q.card_terms)])
            scores.append(f"{CARD_SCALE} * ts_rank('{CARD_WEIGHTS}', doc, CAST({q.param(card)} AS tsquery), 1)")
        matches = [f"doc @@ CAST({q.param(' & '.join(f'({p})' for p in parts))} AS tsquery)"] if parts else []
        if len(text) <= EXACT_MAX_CHARS and '"' not in text:
            labels = q.param(list(dict.fromkeys([text, text.lower()])))
            matches.append(f"labels && CAST({labels} AS text[])")
            scores.append(f"CASE WHEN labels && CAST({labels} AS text[]) THEN {EXACT_SCORE} ELSE 0 END")
        if not matches:
            q.where.append("false")
            return
        q.where.append("(" + " OR ".join(matches) + ")")
        q.score = " + ".join(scores) if scores else "0"

    @staticmethod
    def _visibility(q: _Query, viewer: list[str] | None) -> None:
        if viewer is not None:
            q.where.append(f"visible_to = ANY(CAST({q.param([PUBLIC, *viewer])} AS text[]))")

    def _filters(self, req: SearchRequest, q: _Query) -> None:
        """query._filters in SQL."""
        self._visibility(q, req.viewer)
        if req.repo_type:
            q.where.append(f"repo_type = {q.param(req.repo_type)}")
        if req.gated is not None:
            q.where.append(f"gated = {q.param(req.gated)}")
        for facet, values in req.filters.items():
            column = _FACET_COLUMNS.get(facet, "tags" if facet == "tags" else None)
            if column is None:
                continue
            for v in values:
                v = v.lower() if facet in LOWERCASED else v
                if facet in MULTI_VALUED or facet == "tags":
                    q.where.append(f"{column} @> CAST({q.param([v])} AS text[])")
                else:
                    q.where.append(f"{column} = {q.param(v)}")

    def search(self, req: SearchRequest) -> SearchResult:
        """query.search on PostgreSQL: matches, total, facets, the page and its snippets."""
        started = time.perf_counter()
        q = _Query(where=[], score="0", params={}, card_terms=[])
        text = clean_text(req.text)
        limit = max(1, min(req.limit, 1001))
        offset = max(0, min(req.offset, 10_000))
        sort_field = SORTS.get(req.sort or "") or (None if text else "downloads")
        reverse = not req.ascending if req.sort and SORTS.get(req.sort) else True
        with self.engine.begin() as c:
            c.execute(sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))  # one snapshot
            self._text_query(c, req, q)
            self._filters(req, q)
            where = " AND ".join(q.where) or "true"
            out = SearchResult(total=0, hits=[])
            if req.facets:
                out.total, out.facets = self._facets(c, where, q.params, req)
            else:
                out.total = int(c.scalar(sql(f"SELECT count(*) FROM {REPOS} WHERE {where}"), q.params) or 0)
            if out.total and req.limit > 0:
                if sort_field:
                    assert sort_field in _SORT_COLUMNS
                    way = "DESC" if reverse else "ASC"
                    order = f"{sort_field} {way}, pk {way}"
                    score = "0"
                else:
                    # Equal scores: the name nearest to what was typed, then the most used.
                    order = (f"score DESC, similarity(lower(repo_id), {q.param(text.lower())}) DESC, "
                             "downloads DESC, pk")
                    score = q.score
                rows = c.execute(sql(f"SELECT pk, repo_id, card, {score} AS score FROM {REPOS} WHERE {where} "
                                     f"ORDER BY {order} LIMIT {limit} OFFSET {offset}"), q.params).all()
                terms = frozenset(q.card_terms)
                for pk, repo_id, card, score_ in rows:
                    snippet = None
                    if req.highlight and terms:
                        snippet = self._snippet(card, terms) or None
                    out.hits.append(Hit(int(pk), repo_id, float(score_ or 0.0), snippet))
            if out.total == 0 and text:
                out.suggestion = self._suggest(c, text)
        out.took_ms = (time.perf_counter() - started) * 1000
        return out

    @staticmethod
    def _snippet(card: str, terms: frozenset[str]) -> str:
        """whoosh's highlighter on the stored card, as query.search's snippets."""
        return highlight(card, terms, text_analyzer(), ContextFragmenter(maxchars=160, surround=40),
                         HtmlFormatter(tagname="mark", classname="match", termclass="term"), top=2)

    def _facets(self, c: Connection, where: str, params: dict[str, Any],
                req: SearchRequest) -> tuple[int, dict[str, dict[str, int]]]:
        """The total and each facet's counts over the matches: most frequent first, then by value;
        the first facet_limit of them, and the filtered-on values wherever they are."""
        selects = ["SELECT '' AS facet, '' AS value, count(*) AS n FROM m"]
        for name, column in _FACET_COLUMNS.items():
            if name in MULTI_VALUED:
                selects.append(f"SELECT '{name}', v, count(*) FROM m, unnest(m.{column}) AS v "
                               "WHERE v <> '' GROUP BY v")
            else:
                selects.append(f"SELECT '{name}', {column}, count(*) FROM m WHERE {column} <> '' GROUP BY {column}")
        cols = ", ".join(dict.fromkeys(_FACET_COLUMNS.values()))
        rows = c.execute(sql(f"WITH m AS MATERIALIZED (SELECT {cols} FROM {REPOS} WHERE {where}) "
                             + " UNION ALL ".join(selects)), params).all()
        total = 0
        found: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
        for facet, value, n in rows:
            if facet == "":
                total = int(n)
            else:
                found[facet].append((value, int(n)))
        facets: dict[str, dict[str, int]] = {}
        for name, counts in found.items():
            ranked = sorted(counts, key=lambda kv: (-kv[1], kv[0]))
            if req.facet_limit is not None:
                keep = frozenset(req.filters.get(name, ()))
                ranked = ranked[:req.facet_limit] + [kv for kv in ranked[req.facet_limit:] if kv[0] in keep]
            facets[name] = dict(ranked)
        return total, facets

    def _suggest(self, c: Connection, text: str) -> str | None:
        """"Did you mean": each unknown word replaced by the closest name word (two edits at most).
        Unlike whoosh, card words are not offered: nothing here lists them (see README.md)."""

        def is_known(w: str, stems: list[str]) -> bool:
            known = _or([f"{_lexeme(w)}:ABC"] + [f"{_lexeme(t)}:D" for t in stems])
            return bool(c.scalar(sql(f"SELECT EXISTS (SELECT 1 FROM {REPOS} WHERE doc @@ CAST(:q AS tsquery))"),
                                 {"q": known}))

        def nearest(w: str) -> str | None:
            return min(self._typo_words(c, w, 2), key=lambda x: levenshtein(x, w), default=None)

        return respell(text, is_known, nearest)

    def quick(self, prefix: str, viewer: list[str] | None, limit: int = 10) -> list[str]:
        """query.quick in SQL: name prefixes first; then, for Chinese input, tags and card words."""
        names = quick_name_words(prefix)
        more = quick_text(prefix)
        tiers: list[str] = []
        if names:
            tiers.append(" & ".join(f"{_lexeme(w)}:*A" for w in names))
        if more:
            every_word = " & ".join("(" + _or([f"{_lexeme(w)}:*C", f"{_lexeme(w)}:*A"]
                                              + [f"{_lexeme(t)}:D" for t in terms]) + ")" for w, terms in more.words)
            tiers.append(_or([f"{_lexeme(more.tag_prefix)}:*C", every_word]))
        found: list[str] = []
        with self.engine.connect() as c:
            for i, tsq in enumerate(tiers):
                if len(found) >= limit:
                    break
                q = _Query(where=[], score="0", params={}, card_terms=[])
                q.where.append(f"doc @@ CAST({q.param(tsq)} AS tsquery)")
                if i and names:  # the first tier's matches are already in
                    q.where.append(f"NOT doc @@ CAST({q.param(tiers[0])} AS tsquery)")
                self._visibility(q, viewer)
                found += c.execute(sql(f"SELECT repo_id FROM {REPOS} WHERE {' AND '.join(q.where)} "
                                       f"ORDER BY downloads DESC, pk DESC LIMIT {max(0, int(limit) - len(found))}"),
                                   q.params).scalars()
        return found

    def discussions(self, repo_pk: int, text: str, viewer: list[str] | None, limit: int = 20) -> list[dict]:
        """query.search_discussions: every word in the title or the comments, titles ranked higher."""
        words = _words(clean_text(text))
        parts = []
        for w in words:
            terms = [t.text for t in text_analyzer()(w)]
            if terms:
                parts.append(_or([_lexeme(t) for t in terms]))
        if not parts:
            return []
        q = _Query(where=[], score="0", params={}, card_terms=[])
        tsq = q.param(" & ".join(f"({p})" for p in parts))
        q.where += [f"doc @@ CAST({tsq} AS tsquery)", f"repo_pk = {q.param(repo_pk)}"]
        self._visibility(q, viewer)
        with self.engine.connect() as c:
            rows = c.execute(sql(f"SELECT num, title, status, is_pr, author, "
                                 f"ts_rank('{{1,0,0,3}}', doc, CAST({tsq} AS tsquery), 1) AS score "
                                 f"FROM {DISCUSSIONS} WHERE {' AND '.join(q.where)} "
                                 f"ORDER BY score DESC, pk LIMIT {max(0, int(limit))}"), q.params).all()
        return [{"num": r.num, "title": r.title, "status": r.status, "isPullRequest": r.is_pr,
                 "author": r.author, "score": float(r.score or 0)} for r in rows]
