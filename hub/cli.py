"""The `modelhub` command line: serve, db, users, orgs, tokens."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from models_registry.errors import RegistryError


def _app(data_dir: str | None = None, **overrides: Any):
    from . import create_app

    if data_dir:
        overrides["DATA_DIR"] = data_dir
    overrides.setdefault("SEARCH_WORKER", False)  # CLI commands never run the background writer
    return create_app(overrides)


def _registry(ctx: click.Context):
    app = _app(ctx.obj.get("data_dir"))
    return app.extensions["modelhub"]


@click.group()
@click.option("--data-dir", envvar="MODELHUB_DATA_DIR", default=None,
              help="Data folder (default ./hub-data, or $MODELHUB_DATA_DIR).")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """ModelHub: a self-hostable, Hugging Face-compatible model hub."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--data-dir", default=None, help="Data folder (overrides the group option).")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, data_dir: str | None, workers: int, threads: int) -> None:
    """Run the hub (migrates the database first)."""
    from .server import serve as run

    data_dir = data_dir or ctx.obj.get("data_dir")
    if data_dir:
        os.environ["MODELHUB_DATA_DIR"] = data_dir
    # Migrate once in the master, before any worker starts.
    app = _app(data_dir)
    app.extensions["modelhub"].close()
    click.echo(f"ModelHub on http://{host}:{port} (data in {app.config['DATA_DIR']}, {workers} workers)", err=True)
    run(lambda: _app(data_dir, AUTO_MIGRATE=False, SEARCH_WORKER=True), host, port, workers, threads)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations (serve does this too)."""
    from . import migrate

    app = _app(ctx.obj.get("data_dir"), AUTO_MIGRATE=False)
    migrate.upgrade(app.extensions["modelhub"].db, revision)
    click.echo("database is up to date", err=True)


@cli.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("name")
@click.option("--password", required=True)
@click.option("--email", default=None)
@click.option("--admin", is_flag=True, help="Site administrator.")
@click.pass_context
def users_create(ctx: click.Context, name: str, password: str, email: str | None, admin: bool) -> None:
    """Create a user."""
    _registry(ctx).accounts.create_user(name, password, email=email, is_admin=admin)
    click.echo(f"created user {name}", err=True)


@cli.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("name")
@click.option("--owner", required=True, help="User who becomes the organization's first admin.")
@click.pass_context
def orgs_create(ctx: click.Context, name: str, owner: str) -> None:
    """Create an organization."""
    _registry(ctx).accounts.create_org(name, owner)
    click.echo(f"created organization {name} (admin: {owner})", err=True)


@orgs.command("add-member")
@click.argument("org")
@click.argument("user")
@click.option("--role", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True)
@click.pass_context
def orgs_add_member(ctx: click.Context, org: str, user: str, role: str) -> None:
    """Add a user to an organization (or change their role)."""
    _registry(ctx).accounts.set_member(org, user, role)
    click.echo(f"{user} is now {role} in {org}", err=True)


@cli.group()
def tokens() -> None:
    """Access tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["read", "write"]), default="write", show_default=True)
@click.option("--name", "label", default="", help="A label to recognize the token by.")
@click.pass_context
def tokens_create(ctx: click.Context, name: str, role: str, label: str) -> None:
    """Create a token for user NAME; prints the token alone on stdout."""
    click.echo(_registry(ctx).accounts.create_token(name, role=role, label=label))


@cli.group()
def stats() -> None:
    """Download and trending counters."""


@stats.command("refresh")
@click.pass_context
def stats_refresh(ctx: click.Context) -> None:
    """Recompute every repository's 30-day downloads and trending score (run daily, e.g. from cron)."""
    app = _app(ctx.obj.get("data_dir"))
    n = app.extensions["modelhub"].engagement.refresh_all()
    click.echo(f"refreshed {n} repositories", err=True)


@cli.group()
def index() -> None:
    """The search index."""


@index.command("rebuild")
@click.pass_context
def index_rebuild(ctx: click.Context) -> None:
    """Rebuild the search index from the database; search keeps serving the old one meanwhile."""
    app = _app(ctx.obj.get("data_dir"))
    search = app.extensions["modelhub_search"]
    total = len(search.feed.all_repo_ids())
    with click.progressbar(length=total, label="indexing repositories", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        n = search.rebuild(progress=bar.update)
    click.echo(f"indexed {n} repositories", err=True)


@index.command("update")
@click.pass_context
def index_update(ctx: click.Context) -> None:
    """Apply queued changes now (the server does this continuously)."""
    app = _app(ctx.obj.get("data_dir"))
    n = app.extensions["modelhub_search"].drain_once()
    click.echo(f"applied {n} queued changes", err=True)


def main() -> None:
    try:
        cli(prog_name="modelhub")
    except RegistryError as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(1)
