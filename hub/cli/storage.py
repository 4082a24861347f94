"""`modelhub storage`: move a hub's bytes to another backend."""

from __future__ import annotations

import datetime as dt

import click

from .common import registry


@click.group()
def storage() -> None:
    """Where LFS objects and Xet xorbs are stored."""


@storage.command("migrate")
@click.option("--to", "target", required=True, metavar="URL",
              help="file://PATH or s3://BUCKET/PREFIX (S3 settings from MODELHUB_S3_*, as for the hub).")
@click.pass_context
def migrate(ctx: click.Context, target: str) -> None:
    """Copy every LFS object and xorb to URL, verified; run again to resume. Then set
    MODELHUB_STORAGE_URL=URL and restart the hub."""
    from ..progress_bar import CliProgress, human_bytes

    reg = registry(ctx)
    progress = CliProgress()
    report = reg.storage_migration.run(target, reg.settings.s3, progress=progress.advance,
                                       total=lambda n: progress.begin("copying objects", n))
    progress.end()
    click.echo(f"copied {report.copied} objects ({human_bytes(report.copied_bytes)}), "
               f"{report.skipped} already there, {report.xet_only} held in xorbs", err=True)
    if report.failed:
        for oid in report.failed[:20]:
            click.echo(f"not copied (absent from the source, or other bytes than recorded): {oid}", err=True)
        raise click.ClickException(f"{len(report.failed)} objects could not be copied")


@storage.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be freed; delete nothing.")
@click.option("--grace", default="1d", show_default=True, metavar="DURATION",
              help="Keep what was uploaded or used within this long (pending uploads, commits in flight): "
                   "0, 30m, 12h, 1d. Below an hour, a push that checked an object an hour ago may lose it.")
@click.option("--xorb-grace", default="22d", show_default=True, metavar="DURATION",
              help="Keep Xet xorbs used within this long. The Xet client remembers the xorbs it uploaded "
                   "for 21 days and names them in new uploads without sending them again: a shorter "
                   "window makes such uploads fail until its cache expires.")
@click.pass_context
def gc(ctx: click.Context, dry_run: bool, grace: str, xorb_grace: str) -> None:
    """Delete the LFS objects and xorbs that no branch, tag or pull request of any repository reaches
    and nobody used within the grace window; report what was freed."""
    from ..progress_bar import CliProgress, human_bytes

    reg = registry(ctx)
    progress = CliProgress()
    report = reg.storage_gc.run(_duration(grace), dry_run=dry_run, progress=progress.advance,
                                total=lambda n: progress.begin("walking repositories", n),
                                xorb_grace=_duration(xorb_grace))
    progress.end()
    verb = "would free" if dry_run else "freed"
    click.echo(f"{report.repositories} repositories reach {report.reachable} LFS objects; {verb} "
               f"{len(report.objects)} objects and {len(report.xorbs)} xorbs ({human_bytes(report.freed_bytes)})"
               + (f"; kept {report.kept_in_use} that a writer used meanwhile" if report.kept_in_use else ""),
               err=True)
    for oid, size in report.objects:
        click.echo(f"{oid}\t{size}")


def _duration(text: str) -> dt.timedelta:
    """A window given as 0, 30m, 12h or 1d (a bad one is the registry's clear error)."""
    from models_registry.sync.followed import parse_duration

    return dt.timedelta(0) if text.strip() == "0" else dt.timedelta(seconds=parse_duration(text))
