"""The read-only guard: a mirror takes no write here.

Rule: every write path (API commits and merges, branches and tags, git push, LFS uploads, page
edits) asks `check_writable` (the registry adds it to `Repos.write_guards`); only the sync itself
moves a mirror's refs (`pull_repository` writes refs directly and then calls `Commits.after_push`,
never coming here). Removing the mirror (`Mirrors.remove`) makes the repository writable again.
"""

from __future__ import annotations

from ..errors import Forbidden
from ..records import RepoView
from .followed import row_for_repo
from .mirror_records import MirrorView


class ReadOnlyGuard:
    def __init__(self, db) -> None:
        self.db = db

    def check_writable(self, repo: RepoView) -> None:
        """Refuse any write to a mirror (the sync writes refs directly and never comes here)."""
        with self.db.session() as s:
            m = row_for_repo(s, repo.id)
            link = MirrorView.of(m).upstream_link if m is not None else None
        if link is not None:
            raise Forbidden(f"This repository is a mirror of {link}; it is read-only here")
