"""Bitmap matching, facet counts and ranking (search_index.bitmaps, .ranking) against whoosh itself.

The reference for every check is whoosh run the way the engine ran before bitmaps: the full query
(text and filters) through whoosh's matchers, counted by its facet collector, scored for every match
(no matcher replacement). A synthetic corpus in several commits gives several segments, deletions
inside them, then a merge and a rebuild.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
from whoosh import collectors, sorting
from whoosh import index as windex
from whoosh.query import And, Every

from search_index import RepoDoc, SearchIndex, bitmaps, postings_table, ranking, whoosh_fixes
from search_index.engine import REPOS
from search_index.query import FACETS, MULTI_VALUED, SearchRequest, _filters, build_query, search
from tests.support.search import index_at

WORDS = ["model", "fine", "tuned", "chat", "vision", "speech", "detection", "defect", "medical", "image",
         "segmentation", "translation", "legal", "finance", "large", "small", "language", "inference"]
ZH = ["大语言模型", "缺陷检测", "医疗影像", "语音识别", "金融风控", "机器翻译", "文本分类"]
NAMES = ["qwen", "llama", "bert", "whisper", "yolo", "resnet", "chatglm", "mistral"]
QUERIES = ["model", "fine-tuned", "chat model", '"defect detection"', '"large language"', "大语言模型", "缺陷检测 医疗影像",
           "qwen", "lama", "whsper", "mistr", "bert chat", "vision 医疗影像", "zzzunknown", "image segmentation",
           "llama 7b", "the model", '"fine tuned"', '"语言 模型"', '"detection the chat"', '"large language model"',
           '"model model"']
FILTERS = [{}, {"license": ["mit"]}, {"task": ["text-generation"]}, {"language": ["zh"]}, {"tags": ["chat"]},
           {"license": ["apache-2.0"], "language": ["en"]}, {"author": ["org1"]}]


def make_doc(rng: random.Random, pk: int) -> RepoDoc:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 60))] + [rng.choice(ZH) for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.3:
        words += ["defect", "detection"] if rng.random() < 0.5 else ["large", "language", "model"]
    rng.shuffle(words)
    name = f"{rng.choice(NAMES)}{rng.choice(['', '2', '3.5'])}-{rng.choice(['7b', 'chat', 'base', 'large'])}-{pk}"
    return RepoDoc(
        pk, "model", f"org{rng.randint(1, 80)}", name, private=rng.random() < 0.05,
        card_text=" ".join(words), tags=rng.sample(["chat", "vision", "medical", "gguf", "zh", "en"], rng.randint(0, 3)),
        licenses=[rng.choice(["mit", "apache-2.0", "openrail"])], task=rng.choice(["text-generation", "object-detection", None]),
        library=rng.choice(["transformers", "pytorch", None]), languages=rng.sample(["zh", "en", "fr"], rng.randint(0, 2)),
        regions=[], industries=[rng.choice(["finance", "healthcare"])], downloads=rng.randint(0, 50), likes=rng.randint(0, 9))


def build(root, seed: int = 7, n: int = 900, commits: int = 4) -> tuple[SearchIndex, dict[int, RepoDoc]]:
    rng = random.Random(seed)
    ix = index_at(root)
    docs = {pk: make_doc(rng, pk) for pk in range(1, n + 1)}
    pks = list(docs)
    for part in range(commits):  # one segment per commit (small ones may get merged by whoosh)
        chunk = pks[part::commits]
        with ix.writer_lock():
            ix.apply(repos=[docs[pk] for pk in chunk])
    # deletions and updates inside existing segments
    gone = rng.sample(pks, n // 10)
    changed = rng.sample([p for p in pks if p not in gone], n // 10)
    for pk in changed:
        docs[pk] = make_doc(rng, pk)
    with ix.writer_lock():
        ix.apply(repos=[docs[pk] for pk in changed], deleted_repos=gone)
    for pk in gone:
        del docs[pk]
    return ix, docs


def full_query(text: str, filters: dict, viewer):
    req = SearchRequest(text=text, filters=filters, viewer=viewer)
    q = build_query(text)
    f = _filters(req)
    if f is not None:
        q = And([q, f]) if not isinstance(q, Every) else f
    return q


def whoosh_facets(s, q) -> dict[str, dict[str, int]]:
    groupedby = {name: sorting.FieldFacet(field, allow_overlap=name in MULTI_VALUED, maptype=sorting.Count)
                 for name, field in FACETS.items()}
    r = s.search(q, limit=None, groupedby=groupedby)
    return {name: {k: v for k, v in r.groups(name).items() if k} for name in FACETS}


def whoosh_top(s, q, k: int) -> list[tuple[float, int]]:
    top = collectors.TopCollector(limit=k, usequality=False)
    top.replace = 0
    s.search_with_collector(q, top)
    return [(h.score, h.docnum) for h in top.results()]


def check_against_whoosh(ix: SearchIndex, combos: int = 3) -> int:
    """Every query with `combos` of the filter and viewer variants (cycling through them all)."""
    s = ix.searcher(REPOS)
    bm = ix.bitmaps(s, REPOS)
    variants = [(f, v) for v in ([], ["org1"], None) for f in FILTERS]
    checked = 0
    for i, text in enumerate(QUERIES):
        for j in range(combos):
            filters, viewer = variants[(i * combos + j) % len(variants)]
            q = full_query(text, filters, viewer)
            want = set(s.docs_for_query(q))
            matches = bm.eval(q)
            assert set(bitmaps.docnums(matches)) == want, (text, filters, viewer)
            got_facets = {name: bm.facet_counts(field, matches, single_valued=name not in MULTI_VALUED)
                          for name, field in FACETS.items()}
            assert got_facets == whoosh_facets(s, q), (text, filters, viewer)
            every = whoosh_top(s, q, len(want) + 1)  # scores every match: the true order
            for k in (1, 5, 20, len(want) + 1):
                assert ranking.top(bm, q, matches, k) == every[:k], (text, filters, viewer, k)
            checked += 1
    return checked


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build(tmp_path_factory.mktemp("bitmaps"))


def test_several_segments_with_deletions(corpus):
    ix, _ = corpus
    s = ix.searcher(REPOS)
    readers = [sub.reader() for sub, _ in s.leaf_searchers()]
    assert len(readers) >= 2 and any(r.has_deletions() for r in readers)


def test_matching_facets_and_ranking_equal_whoosh(corpus):
    ix, _ = corpus
    assert check_against_whoosh(ix, combos=6) == len(QUERIES) * 6


def test_search_pages_equal_whoosh_ranking(corpus):
    ix, docs = corpus
    s = ix.searcher(REPOS)
    for text in QUERIES:
        q = full_query(text, {}, [])
        want = [s.stored_fields(d)["pk"] for _, d in whoosh_top(s, q, 30)]
        r = search(ix, SearchRequest(text=text, offset=10, limit=20, facets=True, highlight=True))
        assert [h.pk for h in r.hits] == want[10:30], text
        assert r.total == len(set(s.docs_for_query(q)))


def test_after_a_merge_and_a_rebuild(tmp_path):
    ix, docs = build(tmp_path, seed=11, n=500, commits=3)
    check_against_whoosh(ix)
    old_segments = {r.segment().segment_id() for r in (sub.reader() for sub, _ in ix.searcher().leaf_searchers())}
    whoosh_ix = windex.open_dir(str(ix.generation()), indexname=REPOS)
    whoosh_ix.optimize()  # merges every segment into one
    whoosh_ix.close()
    check_against_whoosh(ix)
    keys = {segid for (owner, segid) in bitmaps._segments if owner.startswith(f"{ix.root}:")}
    assert not keys & old_segments  # caches of merged-away segments are dropped
    old_gen = ix.generation().name
    rng = random.Random(3)
    fresh = [make_doc(rng, pk) for pk in range(1000, 1300)]
    with ix.writer_lock():
        ix.rebuild(fresh, [])
    assert ix.generation().name != old_gen
    check_against_whoosh(ix)
    assert not [k for k in bitmaps._segments if k[0].startswith(f"{ix.root}:{old_gen}:")]
    got = {h.pk for h in search(ix, SearchRequest(limit=1000)).hits}
    assert got == {d.pk for d in fresh if not d.private}


def test_a_commit_is_seen_by_the_next_search(tmp_path):
    ix, docs = build(tmp_path, seed=5, n=300, commits=2)
    before = search(ix, SearchRequest(text="model", limit=1000, facets=True))
    victim = before.hits[0].pk
    newcomer = RepoDoc(5000, "model", "org1", "qwen-newcomer", False, card_text="model zqxjunique",
                       licenses=["mit"], downloads=10**6)
    with ix.writer_lock():
        ix.apply(repos=[newcomer], deleted_repos=[victim])
    after = search(ix, SearchRequest(text="model", limit=1000, facets=True))
    got = [h.pk for h in after.hits]
    assert victim not in got and 5000 in got
    assert after.total == before.total  # one in, one out
    assert after.facets["author"].get("org1", 0) >= 1
    assert [h.pk for h in search(ix, SearchRequest(text="zqxjunique")).hits] == [5000]
    check_against_whoosh(ix)


def test_threads_share_segment_caches_while_a_writer_commits(tmp_path):
    ix, docs = build(tmp_path, seed=9, n=300, commits=2)
    req = SearchRequest(text='"defect detection"', filters={"license": ["mit"]}, limit=1000, facets=True)
    want = search(ix, req)
    assert want.total > 5
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                r = search(ix, req)
                assert (r.total, [h.pk for h in r.hits], r.facets) == (want.total, [h.pk for h in want.hits],
                                                                      want.facets)
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(8):  # other documents come and go
        with ix.writer_lock():
            ix.apply(repos=[RepoDoc(9000 + i, "model", "x", f"n{i}", False, card_text="vision chat", licenses=["mit"])],
                     deleted_repos=[9000 + i - 1] if i else [])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_block_skipping_lands_where_whoosh_does(corpus):
    ix, _ = corpus
    s = ix.searcher(REPOS)
    rng = random.Random(2)
    most_blocks = 0
    for sub, _ in s.leaf_searchers():
        r = sub.reader()
        for field, text in (("repo_type", "model"), ("visible_to", "__public__"), ("card", "model")):
            if (field, text) not in r:
                continue
            btext = r.schema[field].to_bytes(text)
            most_blocks = max(most_blocks, len(whoosh_fixes._block_index(bitmaps._matcher(r, field, btext))[0]))
            for _ in range(30):
                a = bitmaps._matcher(r, field, btext)  # the raw W3LeafMatchers (no deletion filter)
                b = bitmaps._matcher(r, field, btext)
                for target in sorted(rng.sample(range(r.doc_count_all() + 5), 6)):
                    if not a.is_active():
                        assert not b.is_active()
                        break
                    a.skip_to(target)  # patched
                    whoosh_fixes._original_skip_to(b, target)
                    assert a.is_active() == b.is_active()
                    if a.is_active():
                        assert (a.id(), a.weight()) == (b.id(), b.weight())
    assert most_blocks > 1


# ---- postings tables (search_index.postings_table) ----------------------------------------------

def _segment_files(ix: SearchIndex, suffix: str) -> set[str]:
    return {p.name for p in ix.generation().glob(f"{REPOS}_*{suffix}")}


def _forget_caches(ix: SearchIndex) -> None:
    """As a new process would start: no segment caches (so tables are looked for again)."""
    for key in [k for k in bitmaps._segments if k[0].startswith(f"{ix.root}:")]:
        del bitmaps._segments[key]
    ix._local.__dict__.pop("bitmaps", None)  # this thread's views of its searchers


@pytest.fixture(scope="module")
def big_segment(tmp_path_factory):
    """One segment over postings_table.MIN_DOCS (it gets a table), then a small one of changes."""
    n = postings_table.MIN_DOCS + 300
    return build(tmp_path_factory.mktemp("tables"), seed=21, n=n, commits=1)


def test_a_big_segment_gets_a_table_and_a_small_one_none(big_segment):
    ix, _ = big_segment
    readers = [sub.reader() for sub, _ in ix.searcher(REPOS).leaf_searchers()]
    big = [r for r in readers if r.doc_count_all() >= postings_table.MIN_DOCS]
    small = [r for r in readers if r.doc_count_all() < postings_table.MIN_DOCS]
    assert len(big) == 1 and small
    assert _segment_files(ix, ".postings") == {big[0].segment().make_filename(".postings")}


def test_table_lists_equal_whoosh_decoding(big_segment):
    ix, _ = big_segment
    r = next(sub.reader() for sub, _ in ix.searcher(REPOS).leaf_searchers()
             if sub.reader().doc_count_all() >= postings_table.MIN_DOCS)
    table = postings_table.PostingsTable.open(ix.generation(), r.segment())
    out_of_line = 0
    for (field, btext), info in r._terms.items():
        got = table.lookup(r._terms, field, btext)
        if info.is_inlined():
            assert got is None
            continue
        out_of_line += 1
        ids, weights = bitmaps._postings(r, field, btext)
        assert got[0].tolist() == ids.tolist() and got[1].tolist() == weights.tolist(), (field, btext)
        assert got[1].dtype == np.float64
    assert out_of_line > 100
    assert table.lookup(r._terms, "card", b"zzznotaword")[0].size == 0


def test_search_with_tables_equals_whoosh(big_segment):
    ix, _ = big_segment
    _forget_caches(ix)
    s = ix.searcher(REPOS)
    assert any(c.table is not None for c, _r, _o in ix.bitmaps(s, REPOS).leaves)
    assert check_against_whoosh(ix, combos=3) == len(QUERIES) * 3


def test_facet_counts_come_most_frequent_first(big_segment):
    ix, _ = big_segment
    r = search(ix, SearchRequest(text="model", facets=True))
    for name, counts in r.facets.items():
        items = list(counts.items())
        assert items == sorted(items, key=lambda kv: (-kv[1], kv[0])), name
    assert len(r.facets["author"]) > MANY_FOR_TEST


MANY_FOR_TEST = bitmaps.MANY_VALUES  # author has more values than this: counted through codes


def test_merged_segment_gets_its_table_and_the_old_one_goes(tmp_path):
    ix, docs = build(tmp_path, seed=23, n=postings_table.MIN_DOCS + 300, commits=1)  # 1170 left after a merge
    old = _segment_files(ix, ".postings")
    assert len(old) == 1
    whoosh_ix = windex.open_dir(str(ix.generation()), indexname=REPOS)
    whoosh_ix.optimize()  # a merge by whoosh alone: it deletes the old segment's files, table included
    whoosh_ix.close()
    assert _segment_files(ix, ".postings") == set()
    check_against_whoosh(ix, combos=1)  # without a table: decoded by whoosh
    stale = ix.generation() / f".{REPOS}_dead{postings_table.SUFFIX}.123.tmp"
    stale.write_bytes(b"half a table")  # as a writer killed while writing one leaves it
    rng = random.Random(4)
    with ix.writer_lock():  # the next commit writes the merged segment's table
        ix.apply(repos=[make_doc(rng, 99_999)])
    new = _segment_files(ix, ".postings")
    assert len(new) == 1 and new != old
    assert not stale.exists()
    check_against_whoosh(ix, combos=1)


def test_a_damaged_table_is_ignored(tmp_path):
    ix, docs = build(tmp_path, seed=25, n=postings_table.MIN_DOCS + 50, commits=1)
    (table,) = ix.generation().glob(f"{REPOS}_*.postings")
    want = search(ix, SearchRequest(text="model chat", facets=True, limit=50))
    table.write_bytes(table.read_bytes()[:5000])  # truncated
    _forget_caches(ix)
    got = search(ix, SearchRequest(text="model chat", facets=True, limit=50))
    assert all(c.table is None for c, _r, _o in ix.bitmaps(ix.searcher(REPOS), REPOS).leaves)
    assert (got.total, [(h.pk, h.score) for h in got.hits], got.facets) == \
        (want.total, [(h.pk, h.score) for h in want.hits], want.facets)
