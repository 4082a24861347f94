"""`modelhub serve` and `modelhub sweep`: run the hub, and tidy up after killed processes."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from .common import make_app, registry, report_uploads_removed, services_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--data-dir", default=None, help="Data folder (overrides the group option).")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, data_dir: str | None, workers: int, threads: int) -> None:
    """Run the hub (migrates the database first)."""
    from ..server import serve as run

    data_dir = data_dir or ctx.obj.get("data_dir")
    if data_dir:
        os.environ["MODELHUB_DATA_DIR"] = data_dir
    # Migrate once in the master, before any worker starts.
    app = make_app(data_dir)
    reg = services_of(app).registry
    report_uploads_removed(reg.sweep_uploads())
    reg.close()
    # Git lock files a killed process left: every writer recovers the ones it meets, so this tidies
    # up in the background (it visits every repository) while the workers start.
    subprocess.Popen([sys.executable, "-m", "hub", "sweep", "--skip-uploads", "--quiet"], stdin=subprocess.DEVNULL)
    click.echo(f"ModelHub on http://{host}:{port} (data in {app.config['DATA_DIR']}, {workers} workers)", err=True)
    run(lambda: make_app(data_dir, AUTO_MIGRATE=False, SEARCH_WORKER=True), host, port, workers, threads)


@click.command()
@click.option("--skip-uploads", is_flag=True, help="Leave unfinished uploads (serve removes them itself).")
@click.option("--quiet", is_flag=True, help="No progress bar; say only what was removed.")
@click.pass_context
def sweep(ctx: click.Context, skip_uploads: bool, quiet: bool) -> None:
    """Remove what killed processes left behind: git lock files in repositories nobody is writing
    now, unfinished uploads of processes that are gone and the never-visible repositories of first
    sync pulls that were killed, and refresh the metadata of repositories whose branch moved just
    before a crash. `serve` runs it as it starts."""
    reg = registry(ctx)
    if not skip_uploads:
        report_uploads_removed(reg.sweep_uploads())
    total = sum(1 for _ in reg.git.keys())
    with click.progressbar(length=total, label="checking repositories", file=sys.stderr, show_pos=True,
                           hidden=quiet) as bar:
        removed, seen = reg.git.sweep_locks(progress=bar.update)
        unfinished = reg.repos.sweep_unfinished()
        fixed = reg.commits.reconcile_heads()
    if removed or not quiet:
        click.echo(f"removed {removed} git lock file(s) left by stopped writers in {seen} repositories", err=True)
    if unfinished or not quiet:
        click.echo(f"removed {unfinished} unfinished repositories of killed first sync pulls", err=True)
    if fixed or not quiet:
        click.echo(f"refreshed {fixed} repositories whose recorded head lagged their branch", err=True)
    reg.close()
