"""`modelhub sync`: one-off pulls and pushes between this hub and Hugging Face-compatible hubs, and
the followed mirrors (add, remove, run, list, alerts) of models_registry/sync/mirrors.py."""

from __future__ import annotations

import datetime as dt
import sys
import time

import click

from .common import registry


@click.group()
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

    from ..progress_bar import human_bytes

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

    from ..progress_bar import CliProgress

    src, local = _split_pair(spec)
    reg = registry(ctx)
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

    from ..progress_bar import CliProgress

    local, dest = _split_pair(spec)
    report = push_repository(registry(ctx), local, dest_url, dest, token=token, progress=CliProgress())
    _sync_summary(report, as_json)


@sync.command("add")
@click.option("--from", "upstream", required=True, help="Base URL of the upstream hub (e.g. https://huggingface.co).")
@click.argument("spec", metavar="SRC_REPO[:LOCAL_REPO]")
@click.option("--every", default="1d", show_default=True, help="How often to sync (30m, 1h, 1d...).")
@click.option("--token", envvar="MODELHUB_SYNC_TOKEN", default=None,
              help="Token for the upstream, stored for `sync run` and never shown again (or $MODELHUB_SYNC_TOKEN).")
@click.option("--revision", default=None, help="Follow only this branch or tag (default: all).")
@click.pass_context
def sync_add(ctx: click.Context, upstream: str, spec: str, every: str, token: str | None,
             revision: str | None) -> None:
    """Follow SRC_REPO: `modelhub sync run` keeps LOCAL_REPO a read-only copy (first sync on the next run)."""
    from models_registry.sync.followed import format_duration, parse_duration

    src, local = _split_pair(spec)
    m = registry(ctx).mirrors.add(upstream, src, local, every=parse_duration(every), token=token, revision=revision)
    click.echo(f"{m.repo_id} follows {m.upstream_link} every {format_duration(m.interval_seconds)}"
               f"{' (with a token)' if m.has_token else ''}; first sync on the next `modelhub sync run`", err=True)


@sync.command("remove")
@click.argument("repo_id", metavar="LOCAL_REPO")
@click.pass_context
def sync_remove(ctx: click.Context, repo_id: str) -> None:
    """Stop mirroring LOCAL_REPO: it stays, as an ordinary writable repository."""
    registry(ctx).mirrors.remove("model", repo_id)
    click.echo(f"{repo_id} is no longer a mirror", err=True)


def _run_due(reg, everything: bool = False) -> int:
    """One pass over the due mirrors, a line each on stderr; returns how many failed."""
    failed = 0

    def say(o) -> None:
        nonlocal failed
        r = o.report
        if o.status == "ok" and r is not None:
            click.echo(f"{o.mirror.repo_id}: ok ({r.method}) {len(r.refs_updated)} refs updated, {r.git_objects} git "
                       f"objects, {r.lfs_objects} LFS objects, {r.bytes_transferred} bytes, {r.skipped} skipped",
                       err=True)
        elif o.status == "skipped":
            click.echo(f"{o.mirror.repo_id}: skipped: {o.message}", err=True)
        else:
            failed += 1
            click.echo(f"{o.mirror.repo_id}: FAILED: {o.message}", err=True)

    outcomes = reg.mirrors.run_due(report=say, everything=everything)
    if not outcomes:
        click.echo("no mirror is due", err=True)
    return failed


@sync.command("run")
@click.option("--every", "every", default=None,
              help="Keep running: look for due mirrors at least this often (e.g. 1m), sleeping until the next is due.")
@click.option("--once", is_flag=True, help="One pass, then exit (the default without --every; for cron).")
@click.option("--all", "everything", is_flag=True, help="Sync every followed mirror now, due or not (one pass).")
@click.pass_context
def sync_run(ctx: click.Context, every: str | None, once: bool, everything: bool) -> None:
    """Sync every followed mirror that is due. Safe to run twice at once: one sync per repository at a
    time (the other run skips it). A single pass exits non-zero if any sync failed."""
    from models_registry.clock import utcnow
    from models_registry.sync.followed import parse_duration

    reg = registry(ctx)
    if once or every is None or everything:
        sys.exit(1 if _run_due(reg, everything) else 0)
    period = parse_duration(every)
    while True:
        try:
            _run_due(reg)
        except Exception as e:  # a worker keeps going: the next pass retries (each run is recorded)
            click.echo(f"error: sync pass failed: {e.__class__.__name__}: {e}", err=True)
        nxt = reg.mirrors.next_due_at()
        wait = period if nxt is None else max(1.0, min(period, (nxt - utcnow()) / dt.timedelta(seconds=1)))
        time.sleep(wait)


@sync.command("list")
@click.pass_context
def sync_list(ctx: click.Context) -> None:
    """Mirrors with their upstream, schedule and last result (tab-separated on stdout; tokens never shown)."""
    from models_registry.sync.followed import format_duration

    click.echo("repo\tupstream\tevery\tlast_status\tlast_synced\tnext_due\ttoken\tlast_error")
    for m in registry(ctx).mirrors.list():
        click.echo("\t".join([m.repo_id, m.upstream_link, format_duration(m.interval_seconds), m.last_status or "-",
                              str(m.last_synced_at or "-"), str(m.next_due or "-"), "yes" if m.has_token else "no",
                              (m.last_error or "").replace("\n", " ")]))


@sync.command("alerts")
@click.option("--ack", "ack", type=int, default=None, help="Acknowledge alert ID: its new value is shown from now on.")
@click.option("--all", "show_all", is_flag=True, help="Acknowledged alerts too.")
@click.pass_context
def sync_alerts(ctx: click.Context, ack: int | None, show_all: bool) -> None:
    """Upstream license or gating changes, held back until acknowledged."""
    import getpass

    reg = registry(ctx)
    if ack is not None:
        a = reg.mirrors.acknowledge(ack, f"cli:{getpass.getuser()}")
        click.echo(f"alert {a.id} acknowledged: {a.repo_id} now shows {a.kind} {a.new!r}", err=True)
        return
    for a in reg.mirrors.alerts(open_only=not show_all):
        state = "open" if a.open else f"acknowledged by {a.acknowledged_by}"
        click.echo(f"{a.id}\t{a.repo_id}\t{a.kind}\t{a.old!r} -> {a.new!r}\t{a.created_at}\t{state}")
