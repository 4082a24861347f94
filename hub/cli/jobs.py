"""`modelhub jobs`: the cluster-wide background jobs that serving nodes run (hub/housekeeping.py)."""

from __future__ import annotations

import click

from .common import make_app, services_of


@click.group()
def jobs() -> None:
    """Background jobs: when each last ran, and on which node."""


@jobs.command("list")
@click.pass_context
def jobs_list(ctx: click.Context) -> None:
    """Each job's last run: started, finished, node, status, detail."""
    reg = services_of(make_app(ctx.obj.get("data_dir"))).registry
    for j in reg.jobs.list():
        started = j.last_started_at.isoformat(timespec="seconds") if j.last_started_at else "-"
        click.echo(f"{j.name}\t{started}\t{j.last_node or '-'}\t{j.last_status or '-'}\t{j.runs} runs\t"
                   f"{j.last_detail or ''}")


@jobs.command("run")
@click.pass_context
def jobs_run(ctx: click.Context) -> None:
    """Run the jobs that are due now, here (serving nodes do this on their own every minute)."""
    built = services_of(make_app(ctx.obj.get("data_dir")))
    for o in built.housekeeping.run_due():
        click.echo(f"{o.name}: {o.reason}{': ' + o.detail if o.detail else ''}", err=True)
