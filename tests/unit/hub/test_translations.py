"""The Simplified Chinese catalogue (hub/translations/zh) is complete, compiled and well-formed.

The messages are extracted from the current sources exactly as hub/translations/README.md does it
(babel.cfg's mapping, the same keywords), so adding a string to a page or a form without translating
it fails here with the list of what is missing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "hub" / "translations" / "zh" / "LC_MESSAGES"
PO, MO = CATALOGUE / "messages.po", CATALOGUE / "messages.mo"
# The README's `pybabel extract -k _l -k lazy_gettext -k N_`, on top of Babel's defaults (_, gettext, ngettext, ...).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
# A printf directive as Python's % operator reads it (Flask-Babel and Jinja's newstyle gettext use
# named ones; a lone '%' would make the % operator raise at render time).
DIRECTIVE = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>.)", re.S)


def _key(msgid) -> str | tuple[str, ...]:
    return msgid if isinstance(msgid, str) else tuple(msgid)


def _show(msgid) -> str:
    return repr(msgid if isinstance(msgid, str) else msgid[0])


@pytest.fixture(scope="module")
def source_messages() -> dict:
    """{msgid (a tuple for plurals): ['file:line', ...]} extracted from the sources now."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(ROOT / "babel.cfg"))
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        if message:
            found.setdefault(_key(message), []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def po_catalog():
    with open(PO, "rb") as f:
        return read_po(f, locale="zh")


def test_extraction_finds_the_website_strings(source_messages):
    # The mapping itself works: templates, forms (lazy_gettext), views, and the N_-marked tables.
    for msgid in ("Models", "Sign in", "Confirm password", "Wrong username or password.", "Task", "Industry",
                  "Too many requests", ("%(num)s comment", "%(num)s comments")):
        assert msgid in source_messages, msgid
    assert len(source_messages) > 400


def test_every_source_message_has_a_chinese_translation(source_messages, po_catalog):
    missing = []
    for msgid, where in sorted(source_messages.items(), key=lambda kv: kv[1][0]):
        m = po_catalog.get(msgid)
        strings = () if m is None else ((m.string,) if isinstance(m.string, str) else tuple(m.string))
        if m is None or m.fuzzy or not strings or not all(s and s.strip() for s in strings):
            missing.append(f"{_show(msgid)} ({where[0]})")
    assert not missing, (
        f"{len(missing)} message(s) have no Chinese translation in {PO.relative_to(ROOT)} "
        "(see hub/translations/README.md: extract, update, translate, compile):\n  " + "\n  ".join(missing))


def test_catalogue_declares_chinese_plural_rules(po_catalog):
    assert str(po_catalog.locale) == "zh"
    assert po_catalog.num_plurals == 1
    assert po_catalog.plural_expr == "0"
    for m in po_catalog:
        if m.id and m.pluralizable:
            assert len(m.string) == 1, f"{_show(m.id)}: Chinese has one plural form"


def _catalog_dict(catalog) -> dict:
    return {_key(m.id): _key(m.string) for m in catalog if m.id}


def test_compiled_catalogue_matches_the_po_file(po_catalog):
    assert MO.exists(), f"{MO.relative_to(ROOT)} is missing: run pybabel compile -d hub/translations"
    buf = io.BytesIO()
    write_mo(buf, po_catalog)  # what `pybabel compile` makes of the .po now (fuzzy entries left out)
    buf.seek(0)
    expected = _catalog_dict(read_mo(buf))
    with open(MO, "rb") as f:
        committed = read_mo(f)
    actual = _catalog_dict(committed)
    stale = sorted((_show(k) for k in expected if actual.get(k) != expected[k]), key=str)
    extra = sorted((_show(k) for k in actual if k not in expected), key=str)
    assert not stale and not extra, (
        "hub/translations/zh/LC_MESSAGES/messages.mo is out of date: run pybabel compile -d hub/translations\n"
        f"  differs or missing: {stale}\n  only in the .mo: {extra}")
    assert "nplurals=1" in dict(committed.mime_headers).get("Plural-Forms", "")


def _directives(text: str) -> list[tuple[str | None, str]]:
    return sorted((m.group("name"), m.group("type")) for m in DIRECTIVE.finditer(text))


def test_translations_keep_the_placeholders(po_catalog):
    wrong = []
    for m in po_catalog:
        if not m.id or not m.string:
            continue
        source = m.id if isinstance(m.id, str) else m.id[-1]  # the plural msgid: zh's only form is for any n
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strings:
            if s and _directives(s) != _directives(source):
                wrong.append(f"{_show(m.id)}: {_directives(source)} -> {s!r} {_directives(s)}")
            values = {name: 1 if t in "di" else "x" for name, t in _directives(source) if name}
            try:  # as at render time: the % operator with the msgid's own names (templates always format)
                s % values
            except (KeyError, ValueError, TypeError) as e:
                wrong.append(f"{_show(m.id)}: {s!r} does not format ({e!r})")
    assert not wrong, "placeholders differ between msgid and translation:\n  " + "\n  ".join(wrong)


def test_translations_have_no_stray_percent_sign(po_catalog):
    """Templates always %-format (Jinja newstyle gettext), even strings without placeholders."""
    bad = [f"{_show(m.id)} -> {s!r}" for m in po_catalog if m.id
           for s in ([m.string] if isinstance(m.string, str) else m.string)
           if s and any(t not in "sd%" for _n, t in _directives(s))]
    assert not bad, bad
