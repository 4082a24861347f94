"""The hub's services, built and wired together in one place, and the typed way views reach them.

`create_app` calls `build_services` once; views, the CLI and the tests ask `services()` (inside a
request or app context) or `services_of(app)` (outside one) for the same object. Every cross-service
connection is made here, so reading this module says what listens to what.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from community.service import Community, CommunitySettings
from models_registry.registry import Registry

from . import config
from .housekeeping import Housekeeping
from .scan_worker import ScanWorker
from .search_writer import SearchService
from .webhook_worker import WebhookWorker

_KEY = "modelhub"


@dataclass(frozen=True)
class Services:
    """What a hub is made of: the registry (repositories, accounts, storage), the community
    (discussions, pull requests, moderation, webhooks), the search index writer, the background jobs,
    the webhooks' delivery worker and the scanner of model files."""

    registry: Registry
    community: Community
    search: SearchService
    housekeeping: Housekeeping
    webhooks: WebhookWorker
    scanner: ScanWorker


def build_services(cfg: dict[str, Any]) -> Services:
    """The services for one configuration; nothing is migrated or started here."""
    backend = config.search_backend(cfg)  # before anything opens: a wrong setting stops the start at once
    registry = Registry(config.registry_settings(cfg))
    community = Community(registry.db, registry, CommunitySettings(
        posts_per_minute=cfg["POSTS_PER_MINUTE"], posts_per_hour=cfg["POSTS_PER_HOUR"],
        hold_first_posts=cfg["HOLD_FIRST_POSTS"], new_account_hours=cfg["NEW_ACCOUNT_HOURS"]),
        config.webhook_settings(cfg))
    # Commits that land on refs/pr/N, from any surface, are added to the pull request's timeline.
    registry.commits.listeners.append(community.pull_requests.on_ref_moved)
    search = SearchService(registry, Path(cfg["DATA_DIR"]) / "search", community, backend=backend)
    housekeeping = Housekeeping(registry, search.node_id, cfg["JOBS_CHECK_SECONDS"], cfg["STORAGE_GC"],
                                community.webhooks)
    webhooks = WebhookWorker(community.webhooks, cfg["WEBHOOK_POLL_SECONDS"])
    scanner = ScanWorker(registry.scanning)
    return Services(registry=registry, community=community, search=search, housekeeping=housekeeping,
                    webhooks=webhooks, scanner=scanner)


def install(app: Flask, built: Services) -> None:
    app.extensions[_KEY] = built


def services_of(app: Flask) -> Services:
    return app.extensions[_KEY]


def services() -> Services:
    """The services of the app handling the current request (or app context)."""
    return current_app.extensions[_KEY]
