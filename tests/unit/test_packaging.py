"""A plain `pip install .` (a wheel, not the editable checkout) carries every file the hub needs at
run time: modules, migration scripts (Alembic runs env.py as a script, so no import finds it
missing), templates, static files and translations. Built for real with pip, checked against what
git tracks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "models_registry", "community", "search_index")
NOT_SHIPPED = (".md", ".pot")  # notes for developers; the .pot is the translations' source template


def test_the_wheel_holds_every_runtime_file(tmp_path):
    # Built from a copy of the tracked files: setuptools reuses a checkout's build/ folder, whose
    # leftovers would hide a file the package data no longer names.
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "src"
    for name in tracked:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    [wheel] = tmp_path.glob("modelhub-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    tracked = [f for f in tracked if f.startswith(tuple(p + "/" for p in PACKAGES))]
    needed = [f for f in tracked if not f.endswith(NOT_SHIPPED)]
    assert "hub/migrations/env.py" in needed and any(f.startswith("hub/templates/") for f in needed)
    assert [f for f in needed if f not in shipped] == []
