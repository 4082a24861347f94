"""`modelhub index`: the search index."""

from __future__ import annotations

import os
import sys
import time

import click

from .common import make_app, services_of


@click.group()
def index() -> None:
    """The search index."""


@index.command("rebuild")
@click.option("--procs", type=click.IntRange(1, 64), default=min(os.cpu_count() or 1, 8), show_default=True,
              help="processes analysing and writing documents (the default: this machine's CPUs, up to 8)")
@click.pass_context
def index_rebuild(ctx: click.Context, procs: int) -> None:
    """Rebuild the search index from the database; search keeps serving the old one meanwhile."""
    search = services_of(make_app(ctx.obj.get("data_dir"))).search
    total = len(search.feed.all_repo_ids())
    started = time.monotonic()
    on_bar_line = True

    def phase(text: str) -> None:  # the steps after the documents, which the bar cannot count
        nonlocal on_bar_line
        prefix = "\n" if on_bar_line else ""
        on_bar_line = False
        click.echo(f"{prefix}{text} ... ({time.monotonic() - started:.0f} s so far)", err=True)

    with click.progressbar(length=total, label="indexing repositories", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        n = search.rebuild(progress=bar.update, phase=phase, procs=procs)
    click.echo(f"indexed {n} repositories in {time.monotonic() - started:.0f} s", err=True)


@index.command("update")
@click.pass_context
def index_update(ctx: click.Context) -> None:
    """Apply queued changes now (the server does this continuously)."""
    n = services_of(make_app(ctx.obj.get("data_dir"))).search.drain_once()
    click.echo(f"applied {n} queued changes", err=True)
