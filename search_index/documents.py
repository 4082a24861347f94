"""What gets indexed: plain data, built by models_registry from its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PUBLIC = "__public__"


@dataclass
class RepoDoc:
    pk: int
    repo_type: str
    namespace: str
    name: str
    private: bool
    gated: bool = False
    card_text: str = ""
    tags: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    task: str | None = None
    library: str | None = None
    languages: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0
    trending: float = 0.0
    last_modified: dt.datetime | None = None
    created_at: dt.datetime | None = None

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class DiscussionDoc:
    pk: int
    repo_pk: int
    repo_id: str
    namespace: str
    private: bool
    num: int
    title: str
    text: str
    author: str
    status: str
    is_pull_request: bool
    created_at: dt.datetime | None = None
