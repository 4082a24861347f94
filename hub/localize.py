"""The reader's language at the edge: domain messages, facet values and small data words on pages.

Domain packages speak English and build the messages a person may read with
`models_registry.messages.N_` (a `Message`: the English text, plus its template and parameters).
The API sends that English text unchanged; pages pass it through `localize`, which translates the
template with the hub's catalogue and fills in the parameters. Facet values (tasks, languages,
industries, regions) stay raw in URLs and filters and are only labelled here: languages and regions
from Babel's CLDR data (the library the site already uses for dates and numbers), tasks and industries
from the catalogue (no library names them in Chinese). English pages keep the raw values they showed
before, which are what the Hub shows and what people type in filters.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from babel import Locale
from flask import Flask
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from models_registry.cards import as_list
from models_registry.messages import LIST_SEPARATOR, Message
from models_registry.model_tree import parents_in_tags
from models_registry.repos import INITIAL_COMMIT_MESSAGE


def N_(message: str) -> str:
    """Marks a message for extraction (babel.cfg, -k N_); translated where it is shown."""
    return message


def localize(text: Any) -> str:
    """`text` in the reader's language if it is a domain `Message` (its parameters too, when they are
    messages themselves); any other value as it is (user content, or a message without a template)."""
    if isinstance(text, Message):
        if not text.params:
            return gettext(text.template)
        return gettext(text.template, **{k: _param(v) for k, v in text.params.items()})
    if text is None:
        return ""
    return str(text)


def _param(value: Any) -> Any:
    if isinstance(value, Message):
        return localize(value)
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(localize(v) for v in value)
    return value


def localize_error(e: Exception) -> str:
    """A domain error's message for a page."""
    return localize(getattr(e, "message", None) or str(e))


# ---- facet values ---------------------------------------------------------------------------
# The msgid is the tag itself: English pages show the tag as before, Chinese ones its translation.
# Every tag of models_registry.cards.PIPELINE_TAGS is here (a unit test checks it).
TASK_LABELS = {t: t for t in (
    N_("text-classification"), N_("token-classification"), N_("table-question-answering"),
    N_("question-answering"), N_("zero-shot-classification"), N_("translation"), N_("summarization"),
    N_("feature-extraction"), N_("text-generation"), N_("text2text-generation"), N_("fill-mask"),
    N_("sentence-similarity"), N_("text-to-speech"), N_("text-to-audio"), N_("automatic-speech-recognition"),
    N_("audio-to-audio"), N_("audio-classification"), N_("audio-text-to-text"), N_("voice-activity-detection"),
    N_("depth-estimation"), N_("image-classification"), N_("object-detection"), N_("image-segmentation"),
    N_("text-to-image"), N_("image-to-text"), N_("image-to-image"), N_("image-to-video"),
    N_("unconditional-image-generation"), N_("video-classification"), N_("reinforcement-learning"),
    N_("robotics"), N_("tabular-classification"), N_("tabular-regression"), N_("tabular-to-text"),
    N_("table-to-text"), N_("multiple-choice"), N_("text-ranking"), N_("text-retrieval"),
    N_("time-series-forecasting"), N_("text-to-video"), N_("image-text-to-text"), N_("visual-question-answering"),
    N_("document-question-answering"), N_("zero-shot-image-classification"), N_("graph-ml"),
    N_("mask-generation"), N_("zero-shot-object-detection"), N_("text-to-3d"), N_("image-to-3d"),
    N_("image-feature-extraction"), N_("video-text-to-text"), N_("keypoint-detection"),
    N_("visual-document-retrieval"), N_("any-to-any"), N_("video-to-video"),
)}
# "other" is a task too; its msgid says so, because a bare "other" would be shared with any other use.
TASK_LABELS["other"] = N_("other task")
# models_registry.cards.INDUSTRIES (checked by the same test).
INDUSTRY_LABELS = {i: i for i in (
    N_("manufacturing"), N_("healthcare"), N_("finance"), N_("government"), N_("education"), N_("energy"),
    N_("transportation"), N_("agriculture"), N_("retail"), N_("legal"), N_("telecom"), N_("media"),
    N_("science"), N_("security"), N_("logistics"), N_("construction"), N_("tourism"), N_("environment"),
)}
INDUSTRY_LABELS["general"] = N_("general industry")
# Region words that name no CLDR territory but mean one (CLDR's own English names are found below).
REGION_ALIASES = {"global": "001", "worldwide": "001", "apac": "009", "emea": "150", "latam": "419"}
ROLE_LABELS = {"read": _l("Read"), "write": _l("Write"), "admin": _l("Admin")}


def _reader_locale() -> Locale | None:
    """The page's locale when it is not English (English pages show raw values)."""
    loc = get_locale()
    return None if loc is None or loc.language == "en" else loc


def task_label(tag: str | None) -> str:
    if not tag:
        return ""
    label = TASK_LABELS.get(tag)
    return gettext(label) if label and _reader_locale() else tag


def industry_label(value: str) -> str:
    label = INDUSTRY_LABELS.get(value.lower())
    return gettext(label) if label and _reader_locale() else value


def language_label(code: str) -> str:
    """`yue` -> 粤语, `zh-Hant` -> 繁体中文 on Chinese pages (CLDR's names); the code when unknown."""
    loc = _reader_locale()
    if loc is None or not code:
        return code
    key = code.replace("-", "_")
    names = loc.languages
    for candidate in (key, key.split("_", 1)[0].lower()):
        name = names.get(candidate)
        if name:
            return name
    return code


@lru_cache(maxsize=1)
def _territory_codes_by_english_name() -> dict[str, str]:
    """'asia' -> '142', 'north-america' -> '003', 'china' -> 'CN': CLDR's English territory names."""
    out = {}
    for code, name in Locale.parse("en").territories.items():
        out[re.sub(r"[\s_]+", "-", name.strip().lower())] = code
    return out


def region_label(value: str) -> str:
    """A territory code (`cn`, `eu`) or a region name (`asia`, `north-america`) in the reader's
    language, from CLDR; the value itself when CLDR does not know it."""
    loc = _reader_locale()
    if loc is None or not value:
        return value
    key = re.sub(r"[\s_]+", "-", value.strip().lower())
    code = REGION_ALIASES.get(key) or (key.upper() if len(key) == 2 else None) or \
        _territory_codes_by_english_name().get(key)
    return loc.territories.get(code, value) if code else value


FACET_VALUE_LABELS = {"task": task_label, "language": language_label, "industry": industry_label,
                      "region": region_label}


def facet_value(facet: str, value: str) -> str:
    """How `value` of facet `facet` (a /models facet name) reads on this page."""
    label = FACET_VALUE_LABELS.get(facet)
    return label(value) if label else value


RELATION_FILTER_LABELS = {"finetune": N_("Fine-tuned from %(model)s"), "adapter": N_("Adapters of %(model)s"),
                          "quantized": N_("Quantized from %(model)s"), "merge": N_("Merged from %(model)s")}


def tag_label(tag: str, card_data: dict[str, Any] | None = None) -> str:
    """A repository tag as the header shows it: a task, a language of the card (`card_data`), or an
    `industry:`/`region:` facet tag, in the reader's language; any other tag (libraries, licenses, the
    owner's own words) as it is. Only the card's languages are names: a tag such as `gan` may be a word
    of the owner's, not Gan Chinese."""
    if tag in TASK_LABELS:
        return task_label(tag)
    if card_data and tag in as_list(card_data.get("language")):
        return language_label(tag)
    for relation, base in parents_in_tags([tag]):  # the filter of a base model's derivatives
        return gettext(str(RELATION_FILTER_LABELS[relation]), model=base)
    prefix, sep, value = tag.partition(":")
    if sep and prefix in ("industry", "region"):
        label = industry_label(value) if prefix == "industry" else region_label(value)
        return tag if label == value else label
    return tag


def role_label(role: str) -> str:
    label = ROLE_LABELS.get(role)
    return str(label) if label is not None else role


def answer_label(value: Any) -> str:
    """A gated-access answer: a ticked checkbox is stored as true, shown as Yes."""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return "" if value is None else str(value)


def commit_title(title: str, parents: tuple[str, ...] | list[str]) -> str:
    """The first commit the hub writes into every new repository is titled in English in git (as the
    Hub's, which mirrors and clients recognise it by); pages show it in the reader's language."""
    if not parents and title == INITIAL_COMMIT_MESSAGE:
        return gettext(N_("initial commit"))
    return title


def init_app(app: Flask) -> None:
    """The filters templates use: `localize`, `facet_value`, `role`, `answer`, and the per-facet labels."""
    app.jinja_env.filters.update(localize=localize, role=role_label, answer=answer_label, task=task_label,
                                 tag=tag_label, language=language_label, industry=industry_label,
                                 region=region_label)
    app.jinja_env.globals["facet_value"] = facet_value
