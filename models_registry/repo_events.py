"""The log of changes webhooks are told of: repository created, deleted, renamed or transferred
(`movedTo`), made private or public, refs moved (commits, pushes, merges, branches and tags), and, written by `community`, discussions
and comments. One row per change, in the Hub's terms (`scope`, `action` and the payload's parts).

Why a table, not a call to the webhooks: the request that made the change must not wait for a
receiver (or fail with it), and a node that dies after the change must not lose the delivery. A
row written in the change's own transaction (`record`) exists exactly when the change does; git
refs live outside the database, so a moved ref is recorded right after it moved (`record_now`):
a process killed between the two loses that one event, which is the price of refs in git.

The reader is `community.webhooks` (a background worker turns each row into deliveries and deletes it); this package does not know who listens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .db import Database
from .records import RepoView
from .tables import RepoEvent

SCOPES = ("repo", "repo.content", "repo.config", "discussion", "discussion.comment")


def record(s: Session, repo: RepoView, scope: str, action: str, **data: Any) -> None:
    """Add the event to the caller's transaction (it commits, or vanishes, with the change)."""
    assert scope in SCOPES, scope
    s.add(RepoEvent(scope=scope, action=action, repo_pk=repo.id, repo_type=repo.repo_type,
                    namespace=repo.namespace, name=repo.name, private=repo.private,
                    data={"headSha": repo.head_sha, **data}))


def record_now(db: Database, repo: RepoView, scope: str, action: str, **data: Any) -> None:
    """Record the event in a transaction of its own (for changes made outside the database)."""
    with db.session(write=True) as s:
        record(s, repo, scope, action, **data)


def updated_refs(changes: dict[str, tuple[str | None, str | None]]) -> list[dict[str, str | None]]:
    """The Hub's `updatedRefs`: ref -> (old, new) with None for a created or deleted ref."""
    return [{"ref": ref, "oldSha": old, "newSha": new} for ref, (old, new) in sorted(changes.items())]
