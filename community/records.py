"""What the community services take and give back: settings, limits, the records views and the API
serialize (plain dataclasses, never ORM rows, so nothing lazy-loads after the session closed), and
the one text cleaner every write uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from models_registry.errors import BadRequest, RegistryError
from models_registry.messages import N_

MAX_TITLE = 200
MAX_COMMENT = 65_536
MAX_REASON = 2_000
PAGE = 50
REACTIONS = ("👍", "👎", "❤️", "🎉", "😄", "😕", "🚀", "👀", "🤗", "🔥")


class RateLimited(RegistryError):
    """Too many posts in a window; `retry_after` (seconds) becomes the Retry-After header."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass
class CommunitySettings:
    posts_per_minute: int = 10
    posts_per_hour: int = 120
    hold_first_posts: bool = False  # new accounts' first posts wait for a moderator
    new_account_hours: int = 24


@dataclass
class EventView:
    id: int
    type: str
    author: str | None
    created_at: dt.datetime
    data: dict[str, Any]
    body: str | None = None
    edited: bool = False
    hidden: bool = False
    hidden_reason: str | None = None
    pending_review: bool = False
    updated_at: dt.datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    reactions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DiscussionView:
    id: int
    num: int
    title: str
    status: str
    is_pull_request: bool
    author: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    pinned: bool
    locked: bool
    target_branch: str | None
    merge_commit: str | None
    num_comments: int = 0
    events: list[EventView] = field(default_factory=list)

    @property
    def git_ref(self) -> str | None:
        return f"refs/pr/{self.num}" if self.is_pull_request else None


def clean_text(text: Any, what: str, limit: int, required: bool = True) -> str:
    """User text as stored: a string without NUL bytes or surrounding blanks, within `limit`;
    BadRequest (naming `what`) otherwise, before anything is written."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise BadRequest(N_("%(what)s must be a string", what=what))
    text = text.replace("\x00", "").strip()
    if required and not text:
        raise BadRequest(N_("%(what)s must not be empty", what=what))
    if len(text) > limit:
        raise BadRequest(N_("%(what)s is too long (%(n)s characters, limit %(limit)s)", what=what, n=len(text),
                            limit=limit))
    return text
