"""The Hugging Face-compatible HTTP API."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import (collections, commits, community_access, discussions, files, misc, refs, repos, search,
                   webhooks, xet)
    from ..git import lfs, smart_http

    for module in (misc, xet, repos, files, commits, refs, community_access, discussions, collections, webhooks,
                   search, lfs,
                   smart_http):
        app.register_blueprint(module.bp)
    from . import mirror_admin, on_demand

    app.register_blueprint(mirror_admin.bp)
    on_demand.init_app(app)  # mirrors allowed repositories from MODELHUB_MIRROR_UPSTREAM on first request
    app.config["AUTH_EXEMPT_ENDPOINTS"] = {"misc.health", "misc.agent_harnesses",
                                          # the CAS checks its own (Xet) tokens
                                          "xet.upload_xorb", "xet.upload_shard", "xet.query_chunk", "xet.unknown",
                                          "xet.reconstruction", "xet.fetch_xorb_range"}
