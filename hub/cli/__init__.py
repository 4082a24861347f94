"""The `modelhub` command line: one module per command group, gathered on the group below.

serve.py (serve, sweep), db.py, jobs.py, accounts.py (users, orgs, tokens), stats.py, index.py, storage.py,
importing.py (import), scan.py, sync.py (sync pull|push and the followed mirrors); common.py holds what
they share. `main` is the console script (setup.cfg) and `python -m hub`.
"""

from __future__ import annotations

import sys

import click

from models_registry.errors import RegistryError

from .accounts import orgs, tokens, users
from .db import db
from .importing import import_
from .index import index
from .jobs import jobs
from .scan import scan
from .serve import serve, sweep
from .stats import stats
from .storage import storage
from .sync import sync


@click.group(commands=[serve, sweep, db, users, orgs, tokens, stats, index, import_, sync, storage, jobs, scan])
@click.option("--data-dir", envvar="MODELHUB_DATA_DIR", default=None,
              help="Data folder (default ./hub-data, or $MODELHUB_DATA_DIR).")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """ModelHub: a self-hostable, Hugging Face-compatible model hub."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir


def main() -> None:
    """The `modelhub` console script: domain errors end the command with one line on stderr."""
    try:
        cli(prog_name="modelhub")
    except RegistryError as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(1)
