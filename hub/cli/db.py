"""`modelhub db`: the database schema."""

from __future__ import annotations

import click

from .common import make_app, services_of


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations (serve does this too)."""
    from .. import migrate

    app = make_app(ctx.obj.get("data_dir"), AUTO_MIGRATE=False)
    reg = services_of(app).registry
    # The lock `serve` migrates under (an advisory lock on PostgreSQL): a node starting meanwhile
    # waits for this upgrade instead of running the same migrations at the same time.
    with reg.locks.hold("migrate"):
        migrate.upgrade(reg.db, revision)
    click.echo("database is up to date", err=True)
