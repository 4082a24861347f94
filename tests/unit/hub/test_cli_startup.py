"""`modelhub --help` answers at once: asking the CLI for help imports none of the hub's heavy
dependencies (they load inside the commands that use them). Checked by what a fresh interpreter
has imported, not by a clock, so the test does not depend on the machine's load."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each costs from tens to hundreds of milliseconds to import; together they took `--help` to 3-4.6 s.
HEAVY = ("flask", "werkzeug", "sqlalchemy", "alembic", "huggingface_hub", "httpx2", "whoosh", "jieba",
         "boto3", "botocore", "numpy", "tqdm", "markdown", "bleach", "psycopg")

PROBE = """
import json, sys
from hub.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="modelhub", standalone_mode=False)
except (SystemExit, Exception):  # what the command imported is the question, not whether it worked
    pass
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules})))
"""

GROUPS = ["sync", "db", "users", "orgs", "tokens", "index", "storage", "jobs", "stats"]


def imported_by(*args: str) -> tuple[set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60,
                          check=True)
    lines = proc.stdout.strip().splitlines()
    return set(json.loads(lines[-1])), "\n".join(lines[:-1])


@pytest.mark.parametrize("args", [["--help"], *[[g, "--help"] for g in GROUPS],
                                  ["sync", "pull", "--help"], ["import", "--help"], ["serve", "--help"]],
                         ids=lambda a: " ".join(a))
def test_help_imports_no_heavy_module(args):
    modules, shown = imported_by(*args)
    assert "Usage: modelhub" in shown  # the help was really printed
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_the_probe_sees_a_command_that_needs_them(tmp_path):
    """The check above can fail: a command that builds the app imports Flask and SQLAlchemy."""
    modules, _ = imported_by("--data-dir", str(tmp_path / "data"), "sync", "list")
    assert {"flask", "sqlalchemy"} <= modules
