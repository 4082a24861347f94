"""Which process owns a scratch file: the file's name says, so that a sweep can tell the leftovers of
a dead writer from a live writer's file.

Why a name and not a lock: a staging file outlives the writer's open file (it waits, closed, for
the commit that publishes it), and a lock held on it would need a descriptor for that whole time.
A process id alone is reused; with the process's start time (in clock ticks since boot) and the
boot's id it names one process for good. Scratch folders are local to a machine (never shared by
several nodes), so /proc answers for every owner a sweep can meet.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_TAG_RE = re.compile(r"-(?P<boot>[0-9a-f]{8})\.(?P<pid>\d+)\.(?P<start>\d+)-")
_cache: dict[int, str] = {}


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8]
    except OSError:
        return "00000000"


def _start_time(pid: int) -> str | None:
    """The process's start time from /proc/PID/stat (field 22, after the parenthesised name); None
    for a process that is gone, a zombie included (killed, not yet reaped by its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def owner_tag() -> str:
    """This process's part of a scratch file name: `BOOT.PID.START` (computed again after a fork)."""
    pid = os.getpid()
    tag = _cache.get(pid)
    if tag is None:
        tag = _cache[pid] = f"{_boot_id()}.{pid}.{_start_time(pid) or 0}"
    return tag


def prefix(kind: str) -> str:
    """The name prefix for this process's scratch files of one kind (`stage`, `xorb`)."""
    return f"{kind}-{owner_tag()}-"


def owner_gone(name: str) -> bool:
    """Whether the process named in a scratch file's name is known to be dead. False for names
    without an owner (older files: only their age tells) and wherever /proc cannot answer."""
    m = _TAG_RE.search(name)
    if m is None or not Path("/proc/self/stat").exists():
        return False
    if m["boot"] != _boot_id():
        return True  # written before the machine restarted
    return _start_time(int(m["pid"])) != m["start"]
