"""A search index in a folder, locked as the hub locks it (hub/search_writer.py)."""

from __future__ import annotations

from pathlib import Path

from models_registry.locks import LockDir
from search_index import SearchIndex


def index_at(root: Path | str) -> SearchIndex:
    return SearchIndex(root, LockDir(Path(root)))
