"""Search through the live server: a part of the bilingual corpus uploaded with the HF client, then
/api/search (relevance, facets, filters, sorting, pages, snippets) and list_models(search=...).

Every corpus repository carries the tag `ftscorpus`, and the queries filter on it, so repositories
other modules create on the shared server do not change the results.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.corpus import by_id, readme
from tests.support.search import SEARCH_BACKENDS, hub_on_backend
from tests.support.waiting import poll

TAG = "ftscorpus"
SUBSET = [
    "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Meta-Llama-3-8B", "THUDM/chatglm3-6b",
    "shenzhi-wang/Llama3-8B-Chinese-Chat", "openai/whisper-large-v3", "iic/paraformer-zh",
    "fishaudio/fish-speech-1.5", "bench-lab/asr-benchmark",
    "ultralytics/yolov8-defect", "mfg-ai/steel-surface-defect", "mfg-ai/pcb-inspection",
    "med-ai/chest-xray-report", "med-ai/medical-image-segmentation", "med-ai/clinical-bert-zh",
    "fin-ai/finbert-zh-sentiment", "gov-ai/policy-qa", "data-tools/tabular-toolkit", "web-sec/script-card",
]
OWNER = {"Qwen": "ftsalpha", "meta-llama": "ftsalpha", "THUDM": "ftsalpha", "shenzhi-wang": "ftsalpha",
         "openai": "ftsalpha", "iic": "ftsalpha", "fishaudio": "ftsalpha", "bench-lab": "ftsalpha",
         "ultralytics": "ftsbeta", "mfg-ai": "ftsbeta",
         "med-ai": "ftsgamma", "fin-ai": "ftsgamma", "gov-ai": "ftsgamma", "data-tools": "ftsgamma",
         "web-sec": "ftsgamma"}
FANS = ["ftsfan1", "ftsfan2", "ftsfan3"]


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def hub(request, hub, tmp_path_factory):
    """The session hub (whoosh), then a server of its own on the postgres backend: each test runs on both."""
    yield from hub_on_backend(request.param, hub, tmp_path_factory)


def hub_id(corpus_id: str) -> str:
    ns, name = corpus_id.split("/")
    return f"{OWNER[ns]}/{name}"


def H(*corpus_ids: str) -> list[str]:
    return [hub_id(c) for c in corpus_ids]


def api_search(hub, token=None, **params) -> dict:
    params.setdefault("tag", TAG)
    r = hub.get("/api/search", token, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def hit_ids(body: dict) -> list[str]:
    return [h["id"] for h in body["hits"]]


@pytest.fixture(scope="module")
def corpus(hub):
    tokens = dict(zip(["ftsalpha", "ftsbeta", "ftsgamma", *FANS],
                      hub.users("ftsalpha", "ftsbeta", "ftsgamma", *FANS)))
    entries = by_id()

    def upload(corpus_id: str) -> str:
        e = entries[corpus_id]
        rid = hub_id(corpus_id)
        api = hub.api(tokens[OWNER[e.namespace]])
        api.create_repo(rid)
        api.upload_file(path_or_fileobj=readme(e, extra_tags=[TAG]).encode(), path_in_repo="README.md",
                        repo_id=rid, commit_message="model card")
        return rid

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = list(pool.map(upload, SUBSET))
    assert created == H(*SUBSET)
    body = poll(lambda: api_search(hub, limit=100), lambda b: b["total"] == len(SUBSET))
    assert sorted(hit_ids(body)) == sorted(created), "the corpus was not indexed within the deadline"
    return tokens


# ---- relevance ---------------------------------------------------------------------------------

TOP = [
    ("qwen", ["Qwen/Qwen2.5-7B-Instruct"]),
    ("lama", ["meta-llama/Meta-Llama-3-8B"]),
    ("whsper", ["openai/whisper-large-v3"]),
    ("大语言模型", {"Qwen/Qwen2.5-7B-Instruct", "THUDM/chatglm3-6b"}),
    ("缺陷检测", {"mfg-ai/steel-surface-defect", "mfg-ai/pcb-inspection"}),
    ("语音识别", ["iic/paraformer-zh"]),
    ("医疗 影像", {"med-ai/medical-image-segmentation", "med-ai/chest-xray-report"}),
    ("llama 中文", ["shenzhi-wang/Llama3-8B-Chinese-Chat"]),
    ("detecting defects", ["ultralytics/yolov8-defect"]),
    ("金融 情感", ["fin-ai/finbert-zh-sentiment"]),
    ('"speech recognition"', ["openai/whisper-large-v3"]),
    ("whisper", ["openai/whisper-large-v3", "bench-lab/asr-benchmark"]),
]


@pytest.mark.parametrize("text, expected", TOP, ids=[q for q, _ in TOP])
def test_expected_top_results(hub, corpus, text, expected):
    got = hit_ids(api_search(hub, q=text))
    if isinstance(expected, set):
        assert set(got[:len(expected)]) == set(H(*expected)), got
    else:
        assert got[:len(expected)] == H(*expected), got


def test_phrase_and_words(hub, corpus):
    loose = hit_ids(api_search(hub, q="speech recognition"))
    assert set(H("openai/whisper-large-v3", "fishaudio/fish-speech-1.5")) <= set(loose)
    assert hit_ids(api_search(hub, q='"speech recognition"')) == H("openai/whisper-large-v3")


def test_tags_rank_above_card_mentions(hub, corpus):
    got = hit_ids(api_search(hub, q="healthcare"))
    assert set(got[:3]) == set(H("med-ai/clinical-bert-zh", "med-ai/chest-xray-report",
                                 "med-ai/medical-image-segmentation"))
    assert got[3:] == H("data-tools/tabular-toolkit")


def test_did_you_mean(hub, corpus):
    body = api_search(hub, q="wisperr")
    assert (body["total"], body["hits"]) == (0, [])
    assert body["suggestion"] == "whisper"
    assert api_search(hub, q="whisper")["suggestion"] is None


@pytest.mark.parametrize("text", ["qwen", "模型", "model", "医疗", "llama 中文", "healthcare"])
def test_list_models_search_agrees_with_the_search_api(hub, corpus, text):
    api = hub.api(None)

    def both():
        return hit_ids(api_search(hub, q=text, limit=100)), [m.id for m in api.list_models(search=text, filter=TAG)]

    # polled only in case an update from elsewhere lands between the two calls and moves scores
    expected, got = poll(both, lambda v: v[0] == v[1], timeout=3.0)
    assert expected
    assert got == expected  # same ranking, each once, across the server's 7-item pages


def test_list_models_search_pages_through_more_than_one_page(hub, corpus):
    got = [m.id for m in hub.api(None).list_models(search="模型", filter=TAG)]
    assert len(got) > 7 and len(set(got)) == len(got)
    r = hub.get("/api/models", params={"search": "模型", "filter": TAG})
    assert r.status_code == 200 and len(r.json()) == 7 and "next" in r.links


# ---- facets, filters, sorting, pages -------------------------------------------------------------

def expected_facets(corpus_ids) -> dict[str, dict[str, int]]:
    entries = [by_id()[c] for c in corpus_ids]
    return {
        "license": dict(Counter(x.lower() for e in entries for x in e.license)),
        "task": dict(Counter(e.task for e in entries if e.task)),
        "library": dict(Counter(e.library for e in entries if e.library)),
        "language": dict(Counter(x for e in entries for x in e.languages)),
        "author": dict(Counter(OWNER[e.namespace] for e in entries)),
        "industry": dict(Counter(x for e in entries for x in e.industries)),
        "region": dict(Counter(x for e in entries for x in e.regions)),
    }


def test_facet_counts_match_the_corpus(hub, corpus):
    body = api_search(hub)
    assert body["total"] == len(SUBSET)
    assert body["facets"] == expected_facets(SUBSET)


@pytest.mark.parametrize("params", [
    {"license": "mit", "language": "zh"},
    {"industry": "healthcare"},
    {"industry": "manufacturing", "author": "ftsbeta"},
    {"task": "automatic-speech-recognition"},
    {"library": "transformers", "language": "en"},
])
def test_filters_narrow_results_and_counts(hub, corpus, params):
    facet_of = {"license": lambda e: [x.lower() for x in e.license], "language": lambda e: e.languages,
                "industry": lambda e: e.industries, "task": lambda e: [e.task], "library": lambda e: [e.library],
                "author": lambda e: [OWNER[e.namespace]]}
    keep = [c for c in SUBSET if all(v in facet_of[f](by_id()[c]) for f, v in params.items())]
    assert 0 < len(keep) < len(SUBSET)
    body = api_search(hub, limit=100, **params)
    assert sorted(hit_ids(body)) == sorted(H(*keep))
    assert body["total"] == len(keep)
    assert body["facets"] == expected_facets(keep)


def test_sort_by_likes(hub, corpus):
    likes = {"meta-llama/Meta-Llama-3-8B": FANS, "openai/whisper-large-v3": FANS[:2],
             "mfg-ai/steel-surface-defect": FANS[:1]}
    for corpus_id, fans in likes.items():
        for fan in fans:
            r = hub.request("POST", f"/api/models/{hub_id(corpus_id)}/like", corpus[fan])
            assert r.status_code == 200, r.text
    want = H(*likes)
    body = poll(lambda: api_search(hub, sort="likes", limit=100), lambda b: hit_ids(b)[:3] == want)
    assert hit_ids(body)[:3] == want
    assert [h["likes"] for h in body["hits"]][:4] == [3, 2, 1, 0]
    # with text: only matches, still by likes
    body = api_search(hub, q="model", sort="likes", limit=100)
    assert hit_ids(body)[:2] == H("meta-llama/Meta-Llama-3-8B", "openai/whisper-large-v3")


def test_sort_by_recent(hub, corpus):
    api = hub.api(corpus["ftsgamma"])
    pair = [hub_id("gov-ai/policy-qa"), hub_id("fin-ai/finbert-zh-sentiment")]

    def touch(rid: str, attempt: int) -> None:
        api.upload_file(path_or_fileobj=f"touch {attempt}\n".encode(), path_in_repo="notes.txt", repo_id=rid)

    for attempt in range(6):  # two changes within the same second of the clock
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(touch, pair, [attempt, attempt]))
        stamps = {rid: api.model_info(rid).last_modified for rid in pair}
        if len({t.replace(microsecond=0) for t in stamps.values()}) == 1 and len(set(stamps.values())) == 2:
            break
    else:
        pytest.fail(f"could not make two changes within one second: {stamps}")
    older, newer = sorted(pair, key=stamps.get)
    # a like re-indexes the older one without changing when it was modified
    assert hub.request("POST", f"/api/models/{older}/like", corpus[FANS[0]]).status_code == 200
    liked = poll(lambda: api_search(hub, sort="likes", author="ftsgamma"), lambda b: hit_ids(b)[:1] == [older])
    assert hit_ids(liked)[:1] == [older]
    assert api.model_info(older).last_modified == stamps[older]
    body = poll(lambda: api_search(hub, sort="recent", limit=100), lambda b: set(hit_ids(b)[:2]) == set(pair))
    assert hit_ids(body)[:2] == [newer, older]  # the most recent first, to the millisecond the API shows
    got = [h["lastModified"] for h in body["hits"]]
    assert got == sorted(got, reverse=True)
    assert len(body["hits"]) == len(SUBSET)


def test_facet_filter_values_ignore_case(hub, corpus):
    # licenses and industries are indexed lowercased; /api/models lowercases license= the same way
    for params, lower in (({"license": "MIT"}, {"license": "mit"}),
                          ({"industry": "Healthcare"}, {"industry": "healthcare"})):
        expected = sorted(hit_ids(api_search(hub, limit=100, **lower)))
        assert expected
        assert sorted(hit_ids(api_search(hub, limit=100, **params))) == expected, params


@pytest.mark.parametrize("params", [{}, {"q": "模型"}, {"sort": "likes"}, {"q": "model", "sort": "recent"}])
def test_pages_do_not_overlap(hub, corpus, params):
    def paged():
        full = hit_ids(api_search(hub, limit=100, **params))
        pages: list[list[str]] = []
        for offset in range(0, len(full) + 4, 4):
            pages.append(hit_ids(api_search(hub, offset=offset, limit=4, **params)))
        return full, pages

    # polled only in case an update from elsewhere lands between the calls and moves scores
    full, pages = poll(paged, lambda v: sum(v[1], []) == v[0], timeout=3.0)
    assert len(full) > 4
    assert [len(p) for p in pages] == [min(4, max(0, len(full) - o)) for o in range(0, len(full) + 4, 4)]
    assert sum(pages, []) == full


def test_unknown_sort_is_a_json_400(hub, corpus):
    r = hub.get("/api/search", params={"q": "qwen", "sort": "stars"})
    assert r.status_code == 400
    assert "stars" in r.json()["error"]


# ---- snippets ------------------------------------------------------------------------------------

def test_snippets_mark_matches(hub, corpus):
    hits = api_search(hub, q="缺陷")["hits"]
    assert {h["id"] for h in hits} == set(H("mfg-ai/steel-surface-defect", "mfg-ai/pcb-inspection"))
    for h in hits:
        assert '<mark class="match term0">缺陷</mark>' in h["snippet"]


def test_snippets_are_html_escaped(hub, corpus):
    (hit,) = api_search(hub, q="xsscanary")["hits"]
    assert hit["id"] == hub_id("web-sec/script-card")
    s = hit["snippet"]
    assert ">xsscanary</mark>" in s
    # Snippets quote the card as its page shows it: the raw <script> is gone as on the page, and
    # markup shown as code is text, escaped.
    assert "alert('xss')" not in s
    assert "&lt;/script&gt;" in s and "&lt;img src=x onerror=alert(1)&gt;" in s
    assert "<script" not in s and "<img" not in s
    assert s.replace('<mark class="match term0">', "").replace("</mark>", "").count("<") == 0


# ---- list_models(search=...) filters -------------------------------------------------------------

def test_list_models_search_honours_the_gated_filter(hub, corpus):
    api = hub.api(corpus["ftsbeta"])
    word = "gatefilterword"
    for name in ("gated-one", "open-one"):
        api.create_repo(f"ftsbeta/{name}")
        api.upload_file(path_or_fileobj=f"# {name}\n\n{word}\n".encode(), path_in_repo="README.md",
                        repo_id=f"ftsbeta/{name}")
    api.update_repo_settings("ftsbeta/gated-one", gated="auto")
    both = poll(lambda: sorted(m.id for m in api.list_models(search=word)),
                lambda v: v == ["ftsbeta/gated-one", "ftsbeta/open-one"])
    assert both == ["ftsbeta/gated-one", "ftsbeta/open-one"]
    # without text the database answers; with text the index must apply the same filter
    assert [m.id for m in api.list_models(author="ftsbeta", gated=True)] == ["ftsbeta/gated-one"]
    # the gating change is queued after both uploads: wait for it to reach the index too
    gated = poll(lambda: [m.id for m in api.list_models(search=word, gated=True)], lambda v: v == ["ftsbeta/gated-one"])
    assert gated == ["ftsbeta/gated-one"]
    assert [m.id for m in api.list_models(search=word, gated=False)] == ["ftsbeta/open-one"]
