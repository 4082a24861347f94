"""ModelHub's Flask shell: HTTP (the HF-compatible API, git, pages), wiring and the CLI.

The package itself imports nothing heavy: `modelhub --help` (hub.cli) starts from here, and Flask,
SQLAlchemy and the search engine load only when an app is built (`create_app`, in hub/app.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config -> services (hub/wiring.py) -> blueprints (see hub/app.py)."""
    from .app import create_app as build

    return build(overrides)
