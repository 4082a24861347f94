"""`modelhub stats`: download and trending counters."""

from __future__ import annotations

import click

from .common import registry


@click.group()
def stats() -> None:
    """Download and trending counters."""


@stats.command("refresh")
@click.pass_context
def stats_refresh(ctx: click.Context) -> None:
    """Recompute every repository's 30-day downloads and trending score (run daily, e.g. from cron)."""
    n = registry(ctx).engagement.refresh_all()
    click.echo(f"refreshed {n} repositories", err=True)
