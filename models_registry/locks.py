"""Inter-process locks: several gunicorn workers on one machine serialize writes to one repository."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockDir:
    """fcntl locks on files under one directory. Released by the kernel if a worker dies."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        path = self.root / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def try_hold(self, name: str) -> Iterator[bool]:
        """Like `hold`, without waiting: yields False (and holds nothing) if another holder has it.

        For work that must run once at a time but need not be queued (a second `sync run` skips a
        repository the first is syncing). flock locks belong to the open file, so two holders in
        one process exclude each other too."""
        path = self.root / f"{name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
