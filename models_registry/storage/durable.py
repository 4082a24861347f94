"""Publishing a finished file under its final name so that a power cut cannot take the name back.

Why: a rename is atomic, but it is durable only once the directory holding the new name has been
flushed. Without that, a crash soon after an LFS object was published could leave a commit (whose
ref file git flushed) naming an object whose directory entry never reached the disk. Every file
published here has been fsynced by its writer already; this flushes the names.
"""

from __future__ import annotations

import os
from pathlib import Path


def publish(src: str | os.PathLike[str], target: Path) -> None:
    """Rename `src` (complete and fsynced) to `target`, creating missing parent folders, and flush
    the directory entries involved."""
    created = make_dirs(target.parent)
    os.replace(src, target)
    fsync_dir(target.parent)
    for folder in created:  # each new folder's own entry lives in its parent
        fsync_dir(folder.parent)


def make_dirs(folder: Path) -> list[Path]:
    """mkdir -p that returns the folders it created, deepest first."""
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)  # another process may create it first: fine
    return missing


def write_file(path: Path, data: bytes) -> None:
    """Write a small file and flush it, ready to be published."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
