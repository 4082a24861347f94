"""Discussions and pull requests: the one way to read and change them (API, pages and git alike).

`Community` is the single entry object `create_app` builds and every surface asks; it does no work
itself. It builds one service per concern, each given the database, registry or settings it needs,
and answers each public method with that service's own bound method. See community/README.md for
which module holds which rule, and why composition rather than mixins.

Every write checks `policy` first and raises a domain error that changes nothing. Moderation
actions are appended to the audit log in the same transaction as the change they record.
"""

from __future__ import annotations

from models_registry.db import Database
from models_registry.registry import Registry

from .collections import Collections
from .discussions import Discussions
from .moderation import Moderation
from .notifications import Inbox
from .publishing import Publishing
from .pull_requests import PullRequests
from .reactions import Reactions
from .webhooks import Webhooks, WebhookSettings
from .records import (MAX_COMMENT, MAX_REASON, MAX_TITLE, PAGE, REACTIONS, CommunitySettings, DiscussionView,
                      EventView, RateLimited)

__all__ = ["Community", "CommunitySettings", "DiscussionView", "EventView", "RateLimited", "REACTIONS",
           "MAX_COMMENT", "MAX_REASON", "MAX_TITLE", "PAGE"]


class Community:
    """The community features of one hub, one attribute per concern, flat methods for the callers."""

    def __init__(self, db: Database, registry: Registry, settings: CommunitySettings | None = None,
                 webhook_settings: WebhookSettings | None = None) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings or CommunitySettings()

        self.discussions = Discussions(db, registry, self.settings)
        self.pull_requests = PullRequests(db, registry, self.discussions)
        self.reactions = Reactions(db)
        self.moderation = Moderation(db, registry)
        self.inbox = Inbox(db)
        self.publishing = Publishing(registry, self.discussions, self.pull_requests)
        self.collections = Collections(db, registry)  # curated lists: services().community.collections
        self.webhooks = Webhooks(db, registry, webhook_settings)  # services().community.webhooks

        # The public surface, by concern: bound methods keep each one's signature, docstring and types.
        self.list = self.discussions.list
        self.details = self.discussions.details
        self.all_ids = self.discussions.all_ids
        self.by_pk = self.discussions.by_pk
        self.create = self.discussions.create
        self.comment = self.discussions.comment
        self.edit_comment = self.discussions.edit_comment
        self.rename = self.discussions.rename
        self.change_status = self.discussions.change_status

        self.pr_for_ref = self.pull_requests.pr_for_ref
        self.check_pr_commit = self.pull_requests.check_pr_commit
        self.pushable_pr_refs = self.pull_requests.pushable_pr_refs
        self.abandon_pull_request = self.pull_requests.abandon_pull_request
        self.merge = self.pull_requests.merge
        self.diff = self.pull_requests.diff

        self.commit_mode = self.publishing.commit_mode
        self.repo_for_commit = self.publishing.repo_for_commit
        self.commit_or_open_pr = self.publishing.commit_or_open_pr

        self.react = self.reactions.react

        self.set_flag = self.moderation.set_flag
        self.hide_comment = self.moderation.hide_comment
        self.approve = self.moderation.approve
        self.report = self.moderation.report
        self.queue = self.moderation.queue
        self.resolve_report = self.moderation.resolve_report
        self.suspend = self.moderation.suspend
        self.audit_log = self.moderation.audit_log

        self.notifications = self.inbox.notifications
        self.unread_count = self.inbox.unread_count
        self.mark_read = self.inbox.mark_read
