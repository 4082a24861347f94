"""The analyzers: jieba segmentation of Chinese runs, English stemming and stop words, repository names."""

from __future__ import annotations

import pytest

from search_index.analysis import name_analyzer, name_prefix_analyzer, text_analyzer
from search_index.engine import repo_fields
from search_index import RepoDoc


def words(analyzer, text: str) -> list[str]:
    return [t.text for t in analyzer(text)]


# ---- Chinese -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("工业缺陷检测模型", ["工业", "缺陷", "检测", "模型"]),
    ("语音识别", ["语音", "识别"]),
    ("医疗影像", ["医疗", "影像"]),
    ("中文对话模型", ["中文", "对话", "模型"]),
    ("金融情感", ["金融", "情感"]),
])
def test_chinese_runs_are_segmented_into_words(text, expected):
    assert words(text_analyzer(), text) == expected


def test_search_mode_also_emits_the_shorter_words_inside_long_ones():
    toks = words(text_analyzer(), "阿里巴巴集团")
    assert "阿里巴巴" in toks and "阿里" in toks and "集团" in toks
    toks = words(text_analyzer(), "中华人民共和国")
    assert {"中华人民共和国", "人民", "共和国"} <= set(toks)


def test_chinese_punctuation_separates_words_and_is_not_a_token():
    assert words(text_analyzer(), "中文，英文。（双语）") == ["中文", "英文", "双语"]


def test_single_chinese_characters_are_words():
    # minsize=1: 大 and 小 survive the stop filter
    assert words(text_analyzer(), "大模型和小模型") == ["大", "模型", "和", "小", "模型"]


def test_char_offsets_and_positions_point_into_the_source_text():
    text = "Qwen2.5 是阿里云研发的大语言模型 for chat，支持中文。"
    toks = [(t.text, t.pos, t.startchar, t.endchar) for t in text_analyzer()(text, positions=True, chars=True)]
    assert [w for w, *_ in toks] == ["qwen2.5", "是", "阿里", "云", "研发", "的", "大", "语言", "模型", "chat",
                                     "支持", "中文"]
    positions = [p for _, p, _, _ in toks]
    assert positions == list(range(len(toks)))  # stop words removed, positions renumbered
    for word, _, start, end in toks:
        assert text[start:end].lower() == word


# ---- English -------------------------------------------------------------------------------------

def test_english_words_are_lowercased_and_stemmed():
    assert words(text_analyzer(), "Detecting Defects in Images") == ["detect", "defect", "imag"]
    assert set(words(text_analyzer(), "defect detection")) == set(words(text_analyzer(), "detecting defects"))
    assert words(text_analyzer(), "models") == words(text_analyzer(), "model") == ["model"]


def test_english_stop_words_are_dropped():
    assert words(text_analyzer(), "the model of the year") == ["model", "year"]


def test_version_numbers_stay_one_word():
    assert words(text_analyzer(), "bge v1.5") == ["bge", "v1.5"]
    assert words(text_analyzer(), "Qwen2.5") == ["qwen2.5"]


# ---- mixed -------------------------------------------------------------------------------------

def test_mixed_text_keeps_both_languages_in_order():
    assert words(text_analyzer(), "Llama3 中文对话 model, 7B") == ["llama3", "中文", "对话", "model", "7b"]
    assert words(text_analyzer(), "中文对话Llama3") == ["中文", "对话", "llama3"]


def test_latin_word_directly_followed_by_chinese_is_split():
    # Chinese writing glues Latin words to the characters around them, without spaces.
    assert words(text_analyzer(), "基于Llama的中文模型") == ["基于", "llama", "的", "中文", "模型"]
    assert words(text_analyzer(), "使用PyTorch训练") == ["使用", "pytorch", "训练"]
    assert "清华大学" in words(text_analyzer(), "智谱AI和清华大学联合发布")


def test_english_filters_leave_chinese_untouched():
    # lowercasing, stop words and stemming only change Latin words
    assert words(text_analyzer(), "模型 Models 的 THE 检测 Detecting") == ["模型", "model", "的", "检测", "detect"]


# ---- repository names ----------------------------------------------------------------------------

def test_name_analyzer_splits_on_separators_and_lowercases():
    fields = repo_fields(RepoDoc(1, "model", "meta-llama", "Meta-Llama-3-8B", False))
    assert words(name_analyzer(), fields["name"]) == ["meta", "llama", "meta", "llama", "3", "8b"]
    assert words(name_analyzer(), "bge_large.zh") == ["bge", "large", "zh"]


def test_name_analyzer_splits_letter_digit_boundaries_as_documented():
    # analysis.py: each name word is kept whole (exact matches) and also split at letter/digit
    # boundaries: "Qwen2.5-7B" -> qwen2.5, qwen, 2.5, 7b ("7b" has no part worth splitting).
    assert words(name_analyzer(), "Qwen2.5-7B") == ["qwen2.5", "qwen", "2.5", "7b"]


def test_name_prefix_analyzer_emits_every_prefix_of_two_to_twenty_chars():
    prefixes = words(name_prefix_analyzer(), "Qwen2.5-Instruct")
    assert {"qw", "qwe", "qwen"} <= set(prefixes)
    assert {"in", "ins", "inst", "instr", "instru", "instruc", "instruct"} <= set(prefixes)
    assert "q" not in prefixes and "i" not in prefixes  # one letter is too short to be a prefix
    long = words(name_prefix_analyzer(), "abcdefghijklmnopqrstuvwxyz")
    assert long == ["abcdefghijklmnopqrstuvwxyz"[:n] for n in range(2, 21)]


def test_name_prefix_analyzer_covers_namespace_and_name():
    fields = repo_fields(RepoDoc(1, "model", "BAAI", "bge-large-zh", False))
    prefixes = set(words(name_prefix_analyzer(), fields["name_prefix"]))
    assert {"ba", "baa", "baai", "bg", "bge", "la", "larg", "zh"} <= prefixes
