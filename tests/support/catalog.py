"""The Chinese catalog, read as the page tests need it."""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "hub" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def english_interface_strings() -> set[str]:
    """Every English interface string whose Chinese translation differs from it: any of them on a
    zh-CN page (outside user content) is English left untranslated."""
    with open(PO, "rb") as f:
        catalog = read_po(f)
    out = set()
    for m in catalog:
        if m.id and m.string:
            ids = [m.id] if isinstance(m.id, str) else list(m.id)
            strings = [m.string] if isinstance(m.string, str) else list(m.string)
            out |= {i for i in ids if "%" not in i and i not in strings}
    return out
