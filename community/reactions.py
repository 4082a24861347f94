"""Reactions on comments: each user gives each emoji of a short fixed set (`records.REACTIONS`) at
most once, and giving it again takes it back, so the same request serves the button both ways."""

from __future__ import annotations

from typing import Any

from models_registry.db import Database
from models_registry.errors import BadRequest, Forbidden
from models_registry.messages import N_
from models_registry.permissions import Principal
from models_registry.records import RepoView

from . import policy
from .tables import Reaction
from .records import REACTIONS, EventView
from .timeline import comment_row, event_view


class Reactions:
    """Toggle a reaction; the comment's new view is the answer."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def react(self, principal: Principal | None, repo: RepoView, num: int, event_id: int, emoji: Any) -> EventView:
        """Add `emoji` to a comment, or take it back if `principal` had already given it."""
        if emoji not in REACTIONS:
            raise BadRequest(N_("Unknown reaction %(emoji)s; use one of %(choices)s", emoji=repr(emoji),
                                choices=" ".join(REACTIONS)))
        with self.db.session(write=True) as s:
            _d, e = comment_row(s, repo, num, event_id)
            if not policy.can_open(principal, repo.namespace, repo.private):
                raise Forbidden(N_("You must be signed in to react"))
            existing = s.get(Reaction, (e.id, principal.user_id, emoji))
            if existing is None:
                s.add(Reaction(event_id=e.id, user_id=principal.user_id, emoji=emoji))
            else:
                s.delete(existing)
            s.flush()
            return event_view(s, e, principal, repo)
