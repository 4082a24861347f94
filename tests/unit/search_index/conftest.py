"""The search index of the fixed bilingual corpus (tests/support/corpus.py), for the facet and
relevance tests."""

from __future__ import annotations

import pytest

from search_index import SearchIndex
from tests.support.corpus import repo_docs
from tests.support.search import index_at


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    ix = index_at(tmp_path_factory.mktemp("search"))
    with ix.writer_lock():
        ix.apply(repos=repo_docs())
    return ix
