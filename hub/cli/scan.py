"""`modelhub scan`: security-scan model files stored before scanning existed (or scan again)."""

from __future__ import annotations

import sys

import click

from .common import make_app, services_of


@click.command("scan")
@click.argument("repo_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Every repository of the hub.")
@click.option("--type", "repo_type", default="model", show_default=True,
              type=click.Choice(["model", "dataset", "space"]), help="The kind of REPO_ID.")
@click.pass_context
def scan(ctx: click.Context, repo_id: str | None, all_: bool, repo_type: str) -> None:
    """Queue the pickles, torch checkpoints and Keras files of REPO_ID's default branch (or, with
    --all, of every repository) that were never scanned, then scan everything queued, here, with
    progress. Serving nodes scan new uploads on their own; this is for what came before."""
    from models_registry.permissions import Principal

    if bool(repo_id) == all_:
        raise click.UsageError("give either REPO_ID or --all")
    reg = services_of(make_app(ctx.obj.get("data_dir"))).registry
    if all_:
        with click.progressbar(length=reg.scanning.count_repos(), label="listing repositories", file=sys.stderr,
                               show_pos=True) as bar:
            queued = reg.scanning.queue_all(progress=bar.update)
    else:
        operator = Principal(user_id=0, name="modelhub-scan", is_admin=True)  # an operator sees every repository
        queued = reg.scanning.queue_all([reg.repos.get(repo_type, repo_id, operator)])
    pending = reg.scanning.pending()
    click.echo(f"queued {queued} files; {pending} waiting to be scanned", err=True)
    with click.progressbar(length=pending, label="scanning files", file=sys.stderr, show_pos=True) as bar:
        scanned = reg.scanning.drain(wait=True, progress=bar.update)
    flagged = reg.scanning.flagged()
    click.echo(f"scanned {scanned} files; {len(flagged)} flagged across the hub", err=True)
    for f in flagged:
        where = f"{f.repo.repo_id}/{f.path}" if f.repo else f.path
        names = ", ".join(f"{i['module']}.{i['name']}" for i in f.imports if i["safety"] != "innocuous")
        click.echo(f"{f.status}\t{where}\t{names}")
