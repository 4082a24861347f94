"""What every benchmark script here needs: the report table, percentiles, random files, and the
CPU time of a server's process tree read from /proc (load-independent, unlike wall time).

Imported as `benchkit` (each script runs with bench/ first on sys.path).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

MiB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- report ----------------------------------------------------------------------------------

def table(rows: list[list[str]]) -> str:
    """A plain-text table; the first row is the header."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append(" | ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


# ---- files -----------------------------------------------------------------------------------

def make_random_file(path: Path, size: int) -> None:
    """Random bytes, written in 8 MiB chunks (never the whole file in memory)."""
    left = size
    with open(path, "wb") as f:
        while left > 0:
            n = min(8 * MiB, left)
            f.write(os.urandom(n))
            left -= n


# ---- process CPU -----------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 onwards), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (a gunicorn master and its workers), pid first."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))) is not None:
            kids.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_of(pids: Iterable[int], reaped_children_of: Iterable[int] = ()) -> float:
    """CPU seconds (user + system) used so far by `pids`, plus what the children they reaped used
    (cutime, cstime) for those in `reaped_children_of` (e.g. workers that run git subprocesses)."""
    reaped = set(reaped_children_of)
    ticks = 0
    for p in pids:
        fields = _stat_fields(p)
        if fields is None:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if p in reaped:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLK_TCK


def tree_cpu(pid: int, reaped_children: bool = False) -> float:
    """CPU seconds of pid and its descendants; with `reaped_children`, also of the processes the
    descendants reaped (not pid's own: its reaped children are its workers, already counted)."""
    pids = tree_pids(pid)
    return cpu_of(pids, pids[1:] if reaped_children else ())
