"""Full-text search over repositories and discussions, on whoosh.

Engine choice: `whoosh-reloaded` rather than `whoosh`. Same API and on-disk format (it imports as
`whoosh`), but the original's last release (2.7.4, 2016) still carries Python 2 code paths
(`time.clock`, `cgi.escape`) and invalid escape sequences that warn on current Pythons, while the
fork fixed those and keeps releasing.

This package takes and returns plain data (`documents.RepoDoc`, dicts of hits): the database and
its ORM stay in `models_registry`, and who feeds the index, when, is `hub`'s business (a single
writer draining a queue; see README.md here).
"""

from .documents import DiscussionDoc, RepoDoc
from .engine import SearchIndex
from .query import SearchRequest, SearchResult

__all__ = ["DiscussionDoc", "RepoDoc", "SearchIndex", "SearchRequest", "SearchResult"]
