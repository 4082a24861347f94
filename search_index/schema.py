"""The whoosh schemas. Facet fields are keywords; single-valued ones are also sortable columns."""

from __future__ import annotations

from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import card_analyzer, name_analyzer, name_prefix_analyzer, pairs_analyzer, text_analyzer

MAX_CARD_CHARS = 20_000
# Bump whenever a schema changes: servers then rebuild the index from the database on start.
SCHEMA_VERSION = 7  # 7: card text is the rendered card's plain text, not its Markdown


def _sort_key() -> COLUMN:
    """A value used only to sort by: a column. NUMERIC would also index ~16 trie terms per value (for
    range queries nothing here makes), a third of all postings, of the index and of indexing time."""
    return COLUMN(columns.NumericColumn("q"))


def repo_schema() -> Schema:
    return Schema(
        key=ID(unique=True),  # str(pk): whoosh only de-duplicates updates on text-typed unique fields
        pk=STORED,
        repo_type=ID,
        repo_id=ID(stored=True),
        name=TEXT(analyzer=name_analyzer(), field_boost=4.0, phrase=False),
        name_prefix=TEXT(analyzer=name_prefix_analyzer(), field_boost=2.0, phrase=False),
        author=ID(stored=True, sortable=True),
        card=TEXT(analyzer=card_analyzer(), stored=True),
        card_pairs=TEXT(analyzer=pairs_analyzer(), phrase=False),  # two-word phrases of card (bitmaps.py)
        tags=KEYWORD(commas=True, scorable=True, field_boost=2.0),
        license=KEYWORD(commas=True),
        task=ID(sortable=True),
        library=ID(sortable=True),
        language=KEYWORD(commas=True),
        region=KEYWORD(commas=True),
        industry=KEYWORD(commas=True),
        downloads=_sort_key(),
        likes=_sort_key(),
        trending=_sort_key(),  # score x 1000 (float columns are broken in whoosh)
        last_modified=_sort_key(),
        created_at=_sort_key(),
        visible_to=KEYWORD(commas=True),
        gated=BOOLEAN,
    )


def discussion_schema() -> Schema:
    return Schema(
        key=ID(unique=True),
        pk=STORED,
        repo_pk=ID(stored=True),
        repo_id=ID(stored=True),
        num=STORED,
        title=TEXT(analyzer=text_analyzer(), stored=True, field_boost=3.0),
        text=TEXT(analyzer=text_analyzer(), stored=True),
        author=ID(stored=True),
        status=ID(stored=True),
        is_pr=BOOLEAN(stored=True),
        created_at=_sort_key(),
        visible_to=KEYWORD(commas=True),
    )
