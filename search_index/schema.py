"""The whoosh schemas. Facet fields are keywords; single-valued ones are also sortable columns."""

from __future__ import annotations

from whoosh.fields import BOOLEAN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import name_analyzer, name_prefix_analyzer, text_analyzer

MAX_CARD_CHARS = 20_000
# Bump whenever a schema changes: servers then rebuild the index from the database on start.
SCHEMA_VERSION = 4


def repo_schema() -> Schema:
    return Schema(
        key=ID(unique=True),  # str(pk): whoosh only de-duplicates updates on text-typed unique fields
        pk=NUMERIC(int, 64, stored=True, signed=False),
        repo_type=ID,
        repo_id=ID(stored=True),
        name=TEXT(analyzer=name_analyzer(), field_boost=4.0, phrase=False),
        name_prefix=TEXT(analyzer=name_prefix_analyzer(), field_boost=2.0, phrase=False),
        author=ID(stored=True, sortable=True),
        card=TEXT(analyzer=text_analyzer(), stored=True),
        tags=KEYWORD(commas=True, scorable=True, field_boost=2.0),
        license=KEYWORD(commas=True),
        task=ID(sortable=True),
        library=ID(sortable=True),
        language=KEYWORD(commas=True),
        region=KEYWORD(commas=True),
        industry=KEYWORD(commas=True),
        downloads=NUMERIC(int, 64, sortable=True),
        likes=NUMERIC(int, 64, sortable=True),
        trending=NUMERIC(int, 64, sortable=True),  # score x 1000 (float columns are broken in whoosh)
        last_modified=NUMERIC(int, 64, sortable=True),
        created_at=NUMERIC(int, 64, sortable=True),
        visible_to=KEYWORD(commas=True),
        gated=BOOLEAN,
    )


def discussion_schema() -> Schema:
    return Schema(
        key=ID(unique=True),
        pk=NUMERIC(int, 64, stored=True, signed=False),
        repo_pk=ID(stored=True),
        repo_id=ID(stored=True),
        num=STORED,
        title=TEXT(analyzer=text_analyzer(), stored=True, field_boost=3.0),
        text=TEXT(analyzer=text_analyzer(), stored=True),
        author=ID(stored=True),
        status=ID(stored=True),
        is_pr=BOOLEAN(stored=True),
        created_at=NUMERIC(int, 64, sortable=True),
        visible_to=KEYWORD(commas=True),
    )
