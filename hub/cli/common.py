"""What the command modules share: the app and its services for the chosen data folder, and the
report lines more than one command prints."""

from __future__ import annotations

from typing import Any

import click


def make_app(data_dir: str | None = None, **overrides: Any):
    """The Flask app for `data_dir` (default: the configured one), without the background search writer."""
    from .. import create_app

    if data_dir:
        overrides["DATA_DIR"] = data_dir
    overrides.setdefault("SEARCH_WORKER", False)  # CLI commands never run the background writer
    return create_app(overrides)


def services_of(app):
    """`hub.wiring.services_of`, imported only when a command runs: `modelhub --help` and every
    `modelhub GROUP --help` load no Flask, SQLAlchemy or search engine (tests/unit/hub/test_cli_startup.py)."""
    from ..wiring import services_of as of

    return of(app)


def registry(ctx: click.Context):
    """The services of the data folder given to the `modelhub` group."""
    return services_of(make_app(ctx.obj.get("data_dir"))).registry


def report_uploads_removed(removed: int) -> None:
    """Say how many unfinished uploads a sweep removed (nothing when none)."""
    if removed:
        click.echo(f"removed {removed} unfinished upload file(s) left by stopped processes", err=True)
