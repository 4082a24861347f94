"""`modelhub import`: publish a model folder or a Hugging Face cache entry."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import registry


@click.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repo_id", metavar="OWNER/NAME")
@click.option("--user", default=None, help="Who commits (default: OWNER when OWNER is a user).")
@click.option("--revision", default=None,
              help="Branch to publish to (a folder; default main) or to take (a cache entry; default all).")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--link", is_flag=True,
              help="Hard-link files into the store instead of copying (only for files nobody will rewrite).")
@click.option("--tag", "tags", multiple=True, metavar="NAME",
              help="Publish the cache's ref NAME as a tag, not a branch (the cache does not record which "
                   "it was; refs saved as refs/tags/NAME are tags anyway). Repeatable.")
@click.option("--partial", is_flag=True,
              help="Import a snapshot that lacks some of its revision's files (the missing ones are not deleted here).")
@click.option("-m", "--message", default=None, help="Commit message.")
@click.pass_context
def import_(ctx: click.Context, path: Path, repo_id: str, user: str | None, revision: str | None,
            private: bool, link: bool, tags: tuple[str, ...], partial: bool, message: str | None) -> None:
    """Publish a model folder, or a Hugging Face cache entry (models--ORG--NAME) with its branches."""
    from models_registry.sync.importing import find_snapshots, import_snapshots

    reg = registry(ctx)
    owner = repo_id.partition("/")[0]
    if user is None:
        if reg.accounts.namespace_kind(owner) != "user":
            raise click.UsageError(f"{owner!r} is not a user: say who commits with --user")
        user = owner
    snapshots = find_snapshots(path, revision, list(tags))
    total = sum(disk.stat().st_size for snap in snapshots for _, disk in snap.files())
    with click.progressbar(length=total, label="hashing and storing", file=sys.stderr, show_eta=True,
                           show_percent=True, item_show_func=lambda _: None) as bar:
        report = import_snapshots(reg, snapshots, repo_id, user=user, private=private, link=link,
                                  message=message, partial=partial, progress=bar.update)
    for snap in snapshots:
        sha = (report.tags if snap.tag else report.commits).get(snap.branch)
        click.echo(f"{'tag ' if snap.tag else ''}{snap.branch}: {sha if sha else 'unchanged'}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{report.files} files, {report.bytes} bytes read; {report.lfs_files} stored as LFS, "
               f"{report.unchanged} unchanged{'; repository created' if report.created else ''}", err=True)
    click.echo(repo_id)
