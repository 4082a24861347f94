"""Analyzers: English (stemming, stop words) and Chinese (jieba word segmentation) in the same fields.

One tokenizer splits text into runs: a run of CJK characters is segmented by jieba in search mode
(which also emits the shorter words inside long ones, so 阿里巴巴 finds 阿里), everything else is cut
into words. The English filters then apply; they leave CJK tokens untouched.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata

from whoosh.analysis import (Analyzer, Filter, LowercaseFilter, NgramFilter, RegexTokenizer, StemFilter, StopFilter, Token,
                             Tokenizer)

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# A CJK run, or a run of other word characters (CJK excluded, so 基于Llama的 splits into three runs).
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+(?:[.'][^\W_{_CJK}]+)*)", re.UNICODE)


def fold_width(value: str) -> str:
    """Fullwidth letters and digits (ＢＥＲＴ) as ASCII, keeping every character's position
    (highlighting relies on offsets into the original text)."""
    if value.isascii():
        return value
    out = []
    for c in value:
        n = unicodedata.normalize("NFKC", c)
        out.append(n if len(n) == 1 else c)
    return "".join(out)
_jieba_lock = threading.Lock()
_jieba = None


def warm_up() -> None:
    """Load jieba's dictionary now (about a second), not during the first Chinese query or update."""
    _segmenter().lcut("预热")


def _segmenter():
    """jieba, loaded once per process (it builds its dictionary on first use, ~1 s)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _whole_value(t: Token, value: str, positions: bool, chars: bool, start_pos: int, start_char: int) -> Token:
    """The single token of an untokenized value (tokenize=False: whoosh's spelling and
    highlighting paths)."""
    t.original = t.text = value
    t.boost = 1.0
    if positions:
        t.pos = start_pos
    if chars:
        t.startchar, t.endchar = start_char, start_char + len(value)
    return t


class BilingualTokenizer(Tokenizer):
    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield _whole_value(t, value, positions, chars, start_pos, start_char)
            return
        pos = start_pos
        value = fold_width(value)
        for m in _RUN.finditer(value):
            if m.group(1):
                base = m.start(1)
                for word, s, e in _segmenter().tokenize(m.group(1), mode="search"):
                    if not word.strip():
                        continue
                    t.text = word
                    t.boost = 1.0
                    if keeporiginal:
                        t.original = word
                    t.stopped = False
                    if positions:
                        t.pos = pos
                        pos += 1
                    if chars:
                        t.startchar, t.endchar = start_char + base + s, start_char + base + e
                    yield t
            else:
                t.text = m.group(2)
                t.boost = 1.0
                if keeporiginal:
                    t.original = t.text
                t.stopped = False
                if positions:
                    t.pos = pos
                    pos += 1
                if chars:
                    t.startchar, t.endchar = start_char + m.start(2), start_char + m.end(2)
                yield t


def text_analyzer():
    """Card bodies, titles, comments: bilingual words, lowercased, English stop words and stems."""
    # minsize=1: a single Chinese character (大, 小) is a word; English one-letter words are stop words anyway.
    return BilingualTokenizer() | LowercaseFilter() | StopFilter(minsize=1) | StemFilter()


_last_card = threading.local()  # (value, [(text, pos)]) of the card text indexed last by this thread


class CardAnalyzer(Analyzer):
    """text_analyzer() for the card field, remembering the words of the text it indexed last: the
    card_pairs field (indexed right after it: whoosh adds a document's fields in name order) reads
    them instead of segmenting and stemming the same text a second time (a quarter of a rebuild)."""

    def __init__(self) -> None:
        self.inner = text_analyzer()

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        remember = mode == "index" and tokenize and positions and removestops and not start_pos
        seen: list[tuple[str, int]] = []
        for t in self.inner(value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                            removestops=removestops, start_pos=start_pos, start_char=start_char,
                            tokenize=tokenize, mode=mode, **kwargs):
            if remember and not t.stopped:
                seen.append((t.text, t.pos))
            yield t
        _last_card.value = (value, seen) if remember else None


def card_analyzer() -> CardAnalyzer:
    return CardAnalyzer()


def _words_with_positions(value: str, mode: str) -> list[tuple[str, int]]:
    """text_analyzer()'s words of `value` and their positions, from CardAnalyzer's memory when it
    just indexed the same text."""
    last = getattr(_last_card, "value", None)
    if last is not None and (last[0] is value or last[0] == value):
        return last[1]
    return [(w.text, w.pos) for w in text_analyzer()(value, positions=True, mode=mode) if not w.stopped]


class WordPairsAnalyzer(Analyzer):
    """Each two words that follow each other in text_analyzer's output (positions p and p+1), as one
    token "a b": a two-word phrase is then one term lookup, not a position check of every document
    holding both words (whoosh decodes pickled positions per posting: ~0.2 s a phrase at 100,000
    cards). Same tokens, positions and stop-word renumbering as the card field itself, so a pair is
    indexed exactly when whoosh's Phrase("card", [a, b]) matches."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield _whole_value(t, value, positions, chars, start_pos, start_char)
            return
        prev: tuple[int, str] | None = None
        pos = start_pos
        for text, wpos in _words_with_positions(value, mode):
            if prev is not None and wpos == prev[0] + 1:
                t.text = f"{prev[1]} {text}"
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = t.text
                if positions:
                    t.pos = pos
                    pos += 1
                yield t
            prev = (wpos, text)


def pairs_analyzer() -> WordPairsAnalyzer:
    return WordPairsAnalyzer()


# Repository names split on separators, each word also on letter/digit boundaries:
# "Qwen2.5-7B" -> qwen2.5, qwen, 2.5, 7b (the whole word for exact matches, the parts for "qwen 2.5").
_NAME_TOKENS = r"[^\W_]+(?:\.[0-9]+)*"
_NAME_PARTS = re.compile(r"[^\W\d_]+|\d+(?:\.\d+)*")


class NamePartsFilter(Filter):
    """After each name word, also its letter and digit parts (when it has more than one)."""

    def __call__(self, tokens):
        for t in tokens:
            parts = split_name_word(t.text)
            yield t
            for part in parts:
                t.text = part
                yield t


def split_name_word(word: str) -> list[str]:
    """"qwen2.5" -> ["qwen", "2.5"]; [] when the word has no letter/digit boundary worth splitting
    ("7b", "bert")."""
    parts = _NAME_PARTS.findall(word)
    if len(parts) < 2 or not any(p.isalpha() and len(p) >= 2 for p in parts):
        return []
    return [p for p in parts if len(p) >= 2 or p.isdigit()]


def name_analyzer():
    return RegexTokenizer(_NAME_TOKENS) | LowercaseFilter() | NamePartsFilter()


def name_prefix_analyzer():
    """Every prefix (2..20 chars) of every name word, for find-as-you-type: "qwe" finds "Qwen2.5"."""
    return RegexTokenizer(_NAME_TOKENS) | LowercaseFilter() | NgramFilter(2, 20, at="start")
