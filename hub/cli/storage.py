"""`modelhub storage`: move a hub's bytes to another backend."""

from __future__ import annotations

import click

from ..progress_bar import CliProgress, human_bytes
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
