"""The `modelhub` command line: serve, db, users, orgs, tokens, sync."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
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
    reg = app.extensions["modelhub"]
    _report_uploads_removed(reg.sweep_uploads())
    reg.close()
    # Git lock files a killed process left: every writer recovers the ones it meets, so this tidies
    # up in the background (it visits every repository) while the workers start.
    subprocess.Popen([sys.executable, "-m", "hub", "sweep", "--skip-uploads", "--quiet"], stdin=subprocess.DEVNULL)
    click.echo(f"ModelHub on http://{host}:{port} (data in {app.config['DATA_DIR']}, {workers} workers)", err=True)
    run(lambda: _app(data_dir, AUTO_MIGRATE=False, SEARCH_WORKER=True), host, port, workers, threads)


def _report_uploads_removed(removed: int) -> None:
    if removed:
        click.echo(f"removed {removed} unfinished upload file(s) left by stopped processes", err=True)


@cli.command()
@click.option("--skip-uploads", is_flag=True, help="Leave unfinished uploads (serve removes them itself).")
@click.option("--quiet", is_flag=True, help="No progress bar; say only what was removed.")
@click.pass_context
def sweep(ctx: click.Context, skip_uploads: bool, quiet: bool) -> None:
    """Remove what killed processes left behind: git lock files in repositories nobody is writing
    now and unfinished uploads of processes that are gone, and refresh the metadata of repositories
    whose branch moved just before a crash. `serve` runs it as it starts."""
    reg = _registry(ctx)
    if not skip_uploads:
        _report_uploads_removed(reg.sweep_uploads())
    total = sum(1 for _ in reg.git.keys())
    with click.progressbar(length=total, label="checking repositories", file=sys.stderr, show_pos=True,
                           hidden=quiet) as bar:
        removed, seen = reg.git.sweep_locks(progress=bar.update)
        fixed = reg.commits.reconcile_heads()
    if removed or not quiet:
        click.echo(f"removed {removed} git lock file(s) left by stopped writers in {seen} repositories", err=True)
    if fixed or not quiet:
        click.echo(f"refreshed {fixed} repositories whose recorded head lagged their branch", err=True)
    reg.close()


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
    started = time.monotonic()
    on_bar_line = True

    def phase(text: str) -> None:  # the steps after the documents, which the bar cannot count
        nonlocal on_bar_line
        prefix = "\n" if on_bar_line else ""
        on_bar_line = False
        click.echo(f"{prefix}{text} ... ({time.monotonic() - started:.0f} s so far)", err=True)

    with click.progressbar(length=total, label="indexing repositories", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        n = search.rebuild(progress=bar.update, phase=phase)
    click.echo(f"indexed {n} repositories in {time.monotonic() - started:.0f} s", err=True)


@index.command("update")
@click.pass_context
def index_update(ctx: click.Context) -> None:
    """Apply queued changes now (the server does this continuously)."""
    app = _app(ctx.obj.get("data_dir"))
    n = app.extensions["modelhub_search"].drain_once()
    click.echo(f"applied {n} queued changes", err=True)


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("repo_id", metavar="OWNER/NAME")
@click.option("--user", default=None, help="Who commits (default: OWNER when OWNER is a user).")
@click.option("--revision", default=None,
              help="Branch to publish to (a folder; default main) or to take (a cache entry; default all).")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--link", is_flag=True,
              help="Hard-link files into the store instead of copying (only for files nobody will rewrite).")
@click.option("-m", "--message", default=None, help="Commit message.")
@click.pass_context
def import_(ctx: click.Context, path: Path, repo_id: str, user: str | None, revision: str | None,
            private: bool, link: bool, message: str | None) -> None:
    """Publish a model folder, or a Hugging Face cache entry (models--ORG--NAME) with its branches."""
    from models_registry.sync.importing import find_snapshots, import_snapshots

    reg = _registry(ctx)
    owner = repo_id.partition("/")[0]
    if user is None:
        if reg.accounts.namespace_kind(owner) != "user":
            raise click.UsageError(f"{owner!r} is not a user: say who commits with --user")
        user = owner
    snapshots = find_snapshots(path, revision)
    total = sum(disk.stat().st_size for snap in snapshots for _, disk in snap.files())
    with click.progressbar(length=total, label="hashing and storing", file=sys.stderr, show_eta=True,
                           show_percent=True, item_show_func=lambda _: None) as bar:
        report = import_snapshots(reg, snapshots, repo_id, user=user, private=private, link=link,
                                  message=message, progress=bar.update)
    for snap in snapshots:
        sha = report.commits.get(snap.branch)
        click.echo(f"{snap.branch}: {sha if sha else 'unchanged'}", err=True)
    click.echo(f"{report.files} files, {report.bytes} bytes read; {report.lfs_files} stored as LFS, "
               f"{report.unchanged} unchanged{'; repository created' if report.created else ''}", err=True)
    click.echo(repo_id)


@cli.group()
def sync() -> None:
    """Mirror repositories between this hub and Hugging Face-compatible hubs."""


def _split_pair(spec: str) -> tuple[str, str]:
    """SRC[:DEST] -> (src, dest or src)."""
    src, _, dest = spec.partition(":")
    return src, dest or src


def _sync_summary(report, as_json: bool) -> None:
    """The end-of-run summary on stderr (and the whole report as JSON on stdout with --json);
    exits non-zero when anything failed."""
    import dataclasses
    import json

    from .progress_bar import human_bytes

    verb = "pulled" if report.target.startswith("local:") else "pushed"
    click.echo(f"{verb} {report.source} -> {report.target} ({report.method}): "
               f"{len(report.refs_updated)} refs updated, {report.git_objects} git objects, "
               f"{report.lfs_objects} LFS objects, {human_bytes(report.bytes_transferred)} transferred"
               + (f" ({human_bytes(report.bytes_resumed)} resumed from an earlier attempt)"
                  if report.bytes_resumed else "")
               + f", {report.skipped} skipped, {len(report.failed)} failed", err=True)
    for ref, (old, new) in sorted(report.refs_updated.items()):
        click.echo(f"  {ref}: {(old or 'new')[:12]} -> {(new or 'deleted')[:12]}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for failure in report.failed:
        click.echo(f"error: {failure}", err=True)
    if as_json:
        data = dataclasses.asdict(report)
        data["refs_updated"] = {r: list(v) for r, v in report.refs_updated.items()}
        click.echo(json.dumps(data, default=str))
    if report.failed:
        sys.exit(1)


@sync.command("pull")
@click.option("--from", "upstream", required=True, help="Base URL of the upstream hub (e.g. https://huggingface.co).")
@click.argument("spec", metavar="SRC_REPO[:LOCAL_REPO]")
@click.option("--revision", default=None, help="Mirror only this branch or tag (default: all branches and tags).")
@click.option("--token", envvar="MODELHUB_SYNC_TOKEN", default=None,
              help="Token for the upstream (or $MODELHUB_SYNC_TOKEN).")
@click.option("--force", is_flag=True, help="Follow the upstream even where it rewrote history.")
@click.option("--private/--public", "private", default=None,
              help="Visibility of a newly created local repository (default: the upstream's).")
@click.option("--max-rate", type=int, default=None, metavar="BYTES_PER_S",
              help="Limit LFS downloads to this many bytes per second.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def sync_pull(ctx: click.Context, upstream: str, spec: str, revision: str | None, token: str | None, force: bool,
              private: bool | None, max_rate: int | None, as_json: bool) -> None:
    """Make or update a local mirror of SRC_REPO (branches, tags, history, LFS objects)."""
    from models_registry.sync.pull import pull_repository

    from .progress_bar import CliProgress

    src, local = _split_pair(spec)
    reg = _registry(ctx)
    report = pull_repository(reg, upstream, src, local, revision=revision, token=token,
                             progress=CliProgress(), private=private, force=force, max_rate=max_rate)
    if report.ok or reg.mirrors.get("model", local) is not None:
        # A one-off pull is a mirror without a schedule: recorded, shown, read-only from now on.
        reg.mirrors.record_pull(upstream, src, local, report, revision=revision)
    _sync_summary(report, as_json)


@sync.command("push")
@click.option("--to", "dest_url", required=True, help="Base URL of the destination hub.")
@click.argument("spec", metavar="LOCAL_REPO[:DEST_REPO]")
@click.option("--token", envvar="MODELHUB_SYNC_TOKEN", required=True,
              help="Write token for the destination (or $MODELHUB_SYNC_TOKEN).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def sync_push(ctx: click.Context, dest_url: str, spec: str, token: str, as_json: bool) -> None:
    """Publish LOCAL_REPO (branches, tags, history, LFS objects) to a remote hub."""
    from models_registry.sync.push import push_repository

    from .progress_bar import CliProgress

    local, dest = _split_pair(spec)
    report = push_repository(_registry(ctx), local, dest_url, dest, token=token, progress=CliProgress())
    _sync_summary(report, as_json)


from . import mirror_cli  # noqa: E402,F401  (sync add/remove/run/list/alerts)


def main() -> None:
    try:
        cli(prog_name="modelhub")
    except RegistryError as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(1)
