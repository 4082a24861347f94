"""The app factory: config -> services (hub/wiring.py) -> blueprints. `hub.create_app` calls it."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, request

from . import auth, config, errors, limits, migrate, security_headers, wiring


def _reject_nul() -> None:
    """No NUL in the path or the query parameters: no name, path or search has one, and PostgreSQL
    refuses them in text (hub/errors.py answers 400 for any value the database refuses; this says
    why at once)."""
    if ("\x00" in request.path or "%00" in request.query_string.decode("latin-1")
            or any("\x00" in v for v in request.args.values())):
        from models_registry.errors import BadRequest

        raise BadRequest("NUL characters are not allowed in URLs")


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config -> services (hub/wiring.py) -> blueprints."""
    app = Flask(__name__)
    limits.init_app(app)
    from .web.upload_stream import UploadStreamRequest
    app.request_class = UploadStreamRequest  # limits' HubRequest; pages may stream their file uploads
    cfg = config.load(overrides)
    app.config.update(cfg)
    app.config["SECRET_KEY"] = config.secret_key(cfg)
    # Uploads are streamed to disk with their own limits; Flask must not cap or buffer them.
    app.config["MAX_CONTENT_LENGTH"] = None
    app.config["MAX_FORM_MEMORY_SIZE"] = 64 * 1024 * 1024
    app.config["MAX_FORM_PARTS"] = 5000
    app.json.sort_keys = False

    built = wiring.build_services(cfg)
    wiring.install(app, built)
    if cfg["AUTO_MIGRATE"]:
        # Several gunicorn workers may start at once: one migrates, the others wait and find nothing to do.
        with built.registry.locks.hold("migrate"):  # advisory lock on PostgreSQL: every node waits
            migrate.upgrade(built.registry.db)
    if cfg["SEARCH_WORKER"]:
        built.search.start()
        if cfg["BACKGROUND_JOBS"]:
            built.housekeeping.start()
            built.webhooks.start()
            built.scanner.start()

    errors.init_app(app)
    security_headers.init_app(app)
    app.before_request(_reject_nul)
    auth.init_app(app)
    from . import web
    from .api import register as register_api

    register_api(app)
    web.init_app(app)
    if not app.debug:
        logging.basicConfig(level=logging.INFO)
    return app
