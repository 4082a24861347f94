"""The Hugging Face-compatible HTTP API."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import commits, files, misc, refs, repos
    from ..git import lfs

    for module in (misc, repos, files, commits, refs, lfs):
        app.register_blueprint(module.bp)
    app.config["AUTH_EXEMPT_ENDPOINTS"] = {"misc.health", "misc.agent_harnesses"}
