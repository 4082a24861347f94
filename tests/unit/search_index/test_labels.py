"""A query that is one of a repository's own labels (a tag, task, library, license or language)
finds every repository that has it, first, however the words of the query would be cut: jieba cuts
工业质检 into 工业 + 质检 and 大语言模型 into 大 + 语言 + 模型, `-` splits object-detection."""

from __future__ import annotations

import pytest

from search_index import RepoDoc, SearchIndex
from search_index import ranking
from search_index.engine import REPOS
from search_index.query import SearchRequest, build_query, search
from tests.support.search import index_at


def doc(pk: int, name: str, card: str = "", **kw) -> RepoDoc:
    return RepoDoc(pk=pk, repo_type="model", namespace="labs", name=name, private=False, card_text=card,
                   downloads=1000 - pk, **kw)


DOCS = [
    doc(1, "steel-inspector", tags=["工业质检", "缺陷检测"], task="object-detection", library="ultralytics",
        licenses=["apache-2.0"], languages=["zh"]),
    doc(2, "pcb-checker", tags=["缺陷检测"], task="object-detection", library="pytorch", licenses=["mit"]),
    doc(3, "weld-seams", "# Weld seams\n\nAn English-only card.", tags=["缺陷检测", "welding"],
        task="image-classification", library="timm", licenses=["mit"]),
    doc(4, "chat-7b", tags=["大语言模型", "llm"], task="text-generation", library="transformers",
        licenses=["apache-2.0"], languages=["zh", "en"]),
    doc(5, "chat-13b", tags=["大语言模型"], task="text-generation", library="transformers", licenses=["llama3"]),
    doc(6, "voice-zh", tags=["tts"], task="text-to-speech", library="fish-speech", languages=["zh", "yue"]),
    # Cards that mention the words, not the labels: found by the words, ranked after.
    doc(7, "notes", "关于工业质检与缺陷检测的笔记，大语言模型在语音上的应用。object detection, text to speech."),
    doc(8, "speech-to-text", task="automatic-speech-recognition", languages=["zh"]),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    ix = index_at(tmp_path_factory.mktemp("labels"))
    with ix.writer_lock():
        ix.apply(repos=DOCS)
    return ix


def ranked(index: SearchIndex, text: str) -> list[str]:
    return [h.repo_id.split("/")[1] for h in search(index, SearchRequest(text=text, limit=50)).hits]


@pytest.mark.parametrize("text, labelled", [
    ("工业质检", {"steel-inspector"}),
    ("缺陷检测", {"steel-inspector", "pcb-checker", "weld-seams"}),  # the English card too: it has the tag
    ("大语言模型", {"chat-7b", "chat-13b"}),
    ("object-detection", {"steel-inspector", "pcb-checker"}),
    ("Object-Detection", {"steel-inspector", "pcb-checker"}),
    ("text-to-speech", {"voice-zh"}),
    ("ultralytics", {"steel-inspector"}),
    ("transformers", {"chat-7b", "chat-13b"}),
    ("mit", {"pcb-checker", "weld-seams"}),
    ("Llama3", {"chat-13b"}),  # licenses are indexed lowercased
    ("yue", {"voice-zh"}),
])
def test_a_label_finds_every_repository_that_has_it_first(index, text, labelled):
    got = ranked(index, text)
    assert set(got[:len(labelled)]) == labelled, got


def test_the_words_still_find_the_cards_that_mention_them_after_the_labelled_ones(index):
    got = ranked(index, "工业质检")
    assert got[0] == "steel-inspector" and "notes" in got[1:], got
    got = ranked(index, "text-to-speech")
    assert got[0] == "voice-zh" and "notes" in got, got


def test_label_queries_are_ranked_without_whoosh_scoring_every_match(index):
    """The ranker (search_index/ranking.py) knows the label clause: no fallback to the slow path."""
    s = index.searcher(REPOS)
    bm = index.bitmaps(s, REPOS)
    for text in ("缺陷检测", "object-detection", "mit"):
        q = build_query(text)
        assert ranking.top(bm, q, bm.eval(q), 10) is not None, text
