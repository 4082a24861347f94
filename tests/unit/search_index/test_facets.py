"""Facets, filters, sorting, pagination, snippets and quick search on the fixed corpus."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from search_index import RepoDoc
from search_index.query import SearchRequest
from tests.support.corpus import CORPUS, repo_docs
from tests.support.search import SEARCH_BACKENDS, backend_of_index, empty_index

PUBLIC = [e for e in CORPUS if not e.private]


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def index(request, tmp_path_factory):
    """The corpus on each backend (whoosh; postgres with MODELHUB_TEST_DATABASE_URL)."""
    with empty_index(request.param, tmp_path_factory.mktemp("search")) as ix:
        with ix.writer_lock():
            ix.apply(repos=repo_docs())
        yield ix


def run(index, **kw):
    kw.setdefault("limit", 100)
    return index.search(SearchRequest(**kw))


def expected_facets(entries) -> dict[str, dict[str, int]]:
    counts = {
        "license": Counter(x.lower() for e in entries for x in e.license),
        "task": Counter(e.task for e in entries if e.task),
        "library": Counter(e.library for e in entries if e.library),
        "language": Counter(x for e in entries for x in e.languages),
        "author": Counter(e.namespace for e in entries),
        "industry": Counter(x for e in entries for x in e.industries),
        "region": Counter(x for e in entries for x in e.regions),
    }
    return {k: dict(v) for k, v in counts.items()}


# ---- facets and filters ------------------------------------------------------------------------

def test_facet_counts_match_the_corpus(index):
    r = run(index, facets=True)
    assert r.total == len(PUBLIC)
    assert r.facets == expected_facets(PUBLIC)
    # most frequent first
    for name, counts in r.facets.items():
        assert list(counts.values()) == sorted(counts.values(), reverse=True), name


def test_facets_count_only_the_matching_repositories(index):
    r = run(index, text="医疗", facets=True)
    assert r.total == 3
    assert r.facets["industry"] == {"healthcare": 3}
    assert r.facets["author"] == {"med-ai": 3}
    assert r.facets["license"] == {"mit": 1, "apache-2.0": 1, "cc-by-nc-4.0": 1}


def test_facets_of_a_viewer_include_their_private_repositories(index):
    mine = [e for e in CORPUS if not e.private or e.namespace == "med-ai"]
    r = run(index, facets=True, viewer=["med-ai"])
    assert r.total == len(mine) == len(PUBLIC) + 1
    assert r.facets == expected_facets(mine)


@pytest.mark.parametrize("filters", [
    {"license": ["mit"], "language": ["zh"]},
    {"industry": ["healthcare"]},
    {"industry": ["manufacturing"], "region": ["cn"]},
    {"task": ["text-generation"], "language": ["zh", "en"]},  # several values: all must match
    {"library": ["transformers"], "license": ["apache-2.0"]},
    {"author": ["openai"]},
])
def test_filters_narrow_results_and_counts(index, filters):
    def keep(e):
        values = {"license": [x.lower() for x in e.license], "language": e.languages, "industry": e.industries,
                  "region": e.regions, "task": [e.task], "library": [e.library], "author": [e.namespace]}
        return all(v in values[f] for f, vs in filters.items() for v in vs)

    expected = [e for e in PUBLIC if keep(e)]
    assert expected  # the corpus has some of each
    r = run(index, filters=filters, facets=True)
    assert sorted(h.repo_id for h in r.hits) == sorted(e.repo_id for e in expected)
    assert r.total == len(expected)
    assert r.facets == expected_facets(expected)


def test_filter_and_text_together(index):
    r = run(index, text="模型", filters={"license": ["mit"], "language": ["zh"]}, facets=True)
    got = {h.repo_id for h in r.hits}
    assert got == {"BAAI/bge-large-zh-v1.5", "mfg-ai/steel-surface-defect", "med-ai/clinical-bert-zh",
                   "agri-ai/crop-disease"}
    assert r.facets["license"] == {"mit": 4}
    assert r.total == 4


def test_an_unknown_filter_value_matches_nothing(index):
    assert run(index, filters={"license": ["no-such-license"]}, facets=True).total == 0


# ---- sorting and pagination --------------------------------------------------------------------

@pytest.mark.parametrize("sort, key", [
    ("downloads", lambda e: e.downloads),
    ("likes", lambda e: e.likes),
    ("recent", lambda e: -e.age_days),
    ("lastModified", lambda e: -e.age_days),
])
def test_sort_orders(index, sort, key):
    desc = [e.repo_id for e in sorted(PUBLIC, key=key, reverse=True)]
    assert [h.repo_id for h in run(index, sort=sort).hits] == desc
    assert [h.repo_id for h in run(index, sort=sort, ascending=True).hits] == desc[::-1]


@pytest.fixture
def fresh(index, tmp_path):
    """An empty index on the backend of `index`."""
    with empty_index(backend_of_index(index), tmp_path / "s") as ix:
        yield ix


def test_recent_sort_within_the_same_second(fresh):
    ix = fresh
    t0 = dt.datetime(2024, 6, 1, 12, 0, 0, 100_000, tzinfo=dt.timezone.utc)
    older = RepoDoc(1, "model", "ns", "older", False, card_text="x", last_modified=t0)
    newer = RepoDoc(2, "model", "ns", "newer", False, card_text="x", last_modified=t0 + dt.timedelta(milliseconds=600))
    with ix.writer_lock():
        ix.apply(repos=[older, newer])
    with ix.writer_lock():  # re-indexed later (say, for a new like), modified no later
        ix.apply(repos=[RepoDoc(1, "model", "ns", "older", False, card_text="x", last_modified=t0, likes=1)])
    got = [h.repo_id for h in ix.search(SearchRequest(sort="recent")).hits]
    assert got == ["ns/newer", "ns/older"]
    got = [h.repo_id for h in ix.search(SearchRequest(sort="recent", ascending=True)).hits]
    assert got == ["ns/older", "ns/newer"]


def test_sort_applies_to_text_matches(index):
    got = [h.repo_id for h in run(index, text="llm", sort="likes").hits]
    llms = [e for e in PUBLIC if "llm" in e.tags]
    assert got == [e.repo_id for e in sorted(llms, key=lambda e: e.likes, reverse=True)]


def test_no_text_means_most_downloaded_first(index):
    assert [h.repo_id for h in run(index).hits] == \
        [e.repo_id for e in sorted(PUBLIC, key=lambda e: e.downloads, reverse=True)]


@pytest.mark.parametrize("kw", [{}, {"sort": "likes"}, {"text": "模型"}, {"text": "model"}, {"text": "llm"}])
def test_pages_cover_the_results_without_overlap(index, kw):
    full = [h.repo_id for h in run(index, **kw).hits]
    assert len(full) >= 4
    pages = []
    for offset in range(0, len(full) + 3, 3):
        page = [h.repo_id for h in run(index, offset=offset, limit=3, **kw).hits]
        assert len(page) == min(3, max(0, len(full) - offset))
        pages += page
    assert pages == full


def test_pages_are_stable_among_ties(fresh):
    ix = fresh
    docs = [RepoDoc(i, "model", "tie", f"same-{i:02d}", False, card_text="tiedword") for i in range(1, 24)]
    with ix.writer_lock():
        ix.apply(repos=docs)
    with ix.writer_lock():  # updates move documents to a newer segment
        ix.apply(repos=[docs[3], docs[10]])
    for kw in ({}, {"text": "tiedword"}, {"sort": "likes"}):
        pages = []
        for offset in range(0, 24, 5):
            pages += [h.repo_id for h in ix.search(SearchRequest(offset=offset, limit=5, **kw)).hits]
        assert sorted(pages) == sorted(d.repo_id for d in docs), kw


def test_limit_and_offset_are_bounded(index):
    r = index.search(SearchRequest(limit=10_000))
    assert len(r.hits) == min(100, len(PUBLIC)) and r.total == len(PUBLIC)
    r = index.search(SearchRequest(offset=10**9))
    assert r.hits == [] and r.total == len(PUBLIC)


# ---- snippets ------------------------------------------------------------------------------------

def test_snippets_mark_the_matched_words(index):
    hit = run(index, text="缺陷", highlight=True).hits[0]
    assert '<mark class="match term0">缺陷</mark>' in hit.snippet
    hits = {h.repo_id: h for h in run(index, text="detecting", highlight=True).hits}
    assert ">detection</mark>" in hits["ultralytics/yolov8-defect"].snippet  # the stem matched
    assert ">detects</mark>" in hits["facebook/detr-resnet-50"].snippet


def test_snippets_are_html_escaped(index):
    hit = run(index, text="xsscanary", highlight=True).hits[0]
    assert hit.repo_id == "web-sec/script-card"
    s = hit.snippet
    assert ">xsscanary</mark>" in s
    assert "&lt;/script&gt;" in s and "&lt;img src=x onerror=alert(1)&gt;" in s and "&amp;" in s
    assert "<script" not in s and "<img" not in s
    # outside the <mark> tags there is no markup at all
    assert s.replace('<mark class="match term0">', "").replace("</mark>", "").count("<") == 0


def test_no_snippets_unless_asked(index):
    assert all(h.snippet is None for h in run(index, text="缺陷").hits)


# ---- quick search --------------------------------------------------------------------------------

def test_quick_search_by_name_prefix_most_downloaded_first(index):
    assert index.quick("qw", []) == ["Qwen/Qwen2.5-7B-Instruct"]
    assert index.quick("med", []) == ["med-ai/medical-image-segmentation", "med-ai/chest-xray-report",
                                       "med-ai/clinical-bert-zh"]
    assert index.quick("med-ai/chest", []) == ["med-ai/chest-xray-report"]
    assert index.quick("openai", [], limit=1) == ["openai/clip-vit-large-patch14"]


def test_quick_search_visibility(index):
    assert "med-ai/ehr-private-notes" not in index.quick("ehr", [])
    assert "med-ai/ehr-private-notes" not in index.quick("ehr", ["fin-ai"])
    assert index.quick("ehr", ["med-ai"]) == ["med-ai/ehr-private-notes"]
    assert index.quick("ehr", None) == ["med-ai/ehr-private-notes"]


@pytest.mark.parametrize("prefix, expected", [
    ("语音", ["iic/paraformer-zh", "fishaudio/fish-speech-1.5"]),  # card words (jieba), most downloaded first
    ("语音识别", ["iic/paraformer-zh"]),  # every word must match: fish-speech is text-to-speech
    ("工业", ["mfg-ai/steel-surface-defect"]),  # 工业质检 in its card, cut by jieba
    ("质检", ["mfg-ai/steel-surface-defect", "mfg-ai/pcb-inspection"]),  # a tag
    ("医", ["med-ai/medical-image-segmentation", "med-ai/chest-xray-report", "med-ai/clinical-bert-zh"]),  # 医疗 tag prefix
    ("农作物 病虫害", ["agri-ai/crop-disease"]),
    ("钢材 yolo", []),  # no model has both
])
def test_quick_search_suggests_for_chinese_input(index, prefix, expected):
    assert index.quick(prefix, []) == expected


def test_quick_search_for_chinese_input_never_suggests_private_repositories(index):
    assert index.quick("病历", []) == ["med-ai/clinical-bert-zh"]  # ehr-private-notes' card says 电子病历 too
    assert index.quick("病历", ["fin-ai"]) == ["med-ai/clinical-bert-zh"]
    assert index.quick("病历", ["med-ai"]) == ["med-ai/clinical-bert-zh", "med-ai/ehr-private-notes"]


def test_quick_search_names_first_then_chinese_words(index):
    # "med" starts three names; 影像 is in the cards of two of them and of no other name: the
    # name tier comes first, limited as asked
    assert index.quick("med", [], limit=2) == ["med-ai/medical-image-segmentation", "med-ai/chest-xray-report"]
    assert index.quick("chest 影像", []) == ["med-ai/chest-xray-report"]


def test_quick_search_latin_input_keeps_to_names(index):
    assert index.quick("recognition", []) == []  # in three cards, in no name


@pytest.mark.parametrize("prefix", ["", " ", "q", "-", "\x00", "🤖", "a" * 5000])
def test_quick_search_degenerate_input(index, prefix):
    assert index.quick(prefix, []) == []
