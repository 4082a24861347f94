"""Analyzers: English (stemming, stop words) and Chinese (jieba word segmentation) in the same fields.

One tokenizer splits text into runs: a run of CJK characters is segmented by jieba in search mode
(which also emits the shorter words inside long ones, so 阿里巴巴 finds 阿里), everything else is cut
into words. The English filters then apply; they leave CJK tokens untouched.
"""

from __future__ import annotations

import logging
import re
import threading

from whoosh.analysis import (LowercaseFilter, NgramFilter, RegexTokenizer, StemFilter, StopFilter, Token,
                             Tokenizer)

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_]+(?:[.'][^\W_]+)*)", re.UNICODE)
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


class BilingualTokenizer(Tokenizer):
    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
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


# Repository names split on separators and on letter/digit boundaries: "Qwen2.5-7B" -> qwen, 2.5, 7b.
_NAME_TOKENS = r"[^\W_]+(?:\.[0-9]+)*"


def name_analyzer():
    return RegexTokenizer(_NAME_TOKENS) | LowercaseFilter()


def name_prefix_analyzer():
    """Every prefix (2..20 chars) of every name word, for find-as-you-type: "qwe" finds "Qwen2.5"."""
    return RegexTokenizer(_NAME_TOKENS) | LowercaseFilter() | NgramFilter(2, 20, at="start")
