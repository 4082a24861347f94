"""The import contract (.importlinter) holds: what may import what is checked, not remembered."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports() -> str | None:
    """The `lint-imports` of this interpreter's environment (installed by the test extra)."""
    here = Path(sys.executable).parent / "lint-imports"
    return str(here) if here.exists() else shutil.which("lint-imports")


def test_import_contract_is_kept():
    tool = lint_imports()
    if tool is None:
        pytest.skip("import-linter is not installed (python -m pip install -e '.[test]')")
    # --no-cache: nothing written into the checkout.
    run = subprocess.run([tool, "--no-cache", "--config", str(ROOT / ".importlinter")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
