"""The Hugging Face-compatible HTTP API."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import commits, community_access, discussions, files, misc, refs, repos, search
    from ..git import lfs, smart_http

    for module in (misc, repos, files, commits, refs, community_access, discussions, search, lfs, smart_http):
        app.register_blueprint(module.bp)
    app.config["AUTH_EXEMPT_ENDPOINTS"] = {"misc.health", "misc.agent_harnesses"}
