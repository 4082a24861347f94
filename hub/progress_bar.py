"""Progress bars on stderr for long CLI commands (sync pull/push): amount, rate and ETA per phase.

Implements models_registry.sync.progress.Progress with tqdm, which draws the bar, redraws it at
most 10 times a second, smooths the rate and keeps notes from tearing the bar. On a terminal one
line per phase is redrawn in place, cut to the terminal's width. Elsewhere nothing is drawn while a
phase runs and each phase that did something prints one line when it ends, so the logs of cron
jobs stay readable (tqdm alone would write every redraw into the log, joined by carriage returns).

Sizes read as `human_bytes` (KiB, MiB: the units of the sync summary) rather than tqdm's "MB"
with a divisor of 1024, and the ETA and total time say what they are.
"""

from __future__ import annotations

import math
import os
import sys

from tqdm import tqdm

REDRAW_EVERY = 0.1  # seconds

_LINE = "{desc}  {amount}  {speed}"
_BAR = "{desc}  {percentage:5.1f}% |{bar:20}| {amount}  {speed}"


def _format(total: int | None, final: bool) -> str:
    return (_BAR if total else _LINE) + ("  in {elapsed}" if final else "  ETA {remaining}" if total else "")


def _columns(stream) -> int:
    """How wide a line may be: the terminal's width (or $COLUMNS) less one, 100 when it says 0 or nothing."""
    try:
        cols = int(os.environ.get("COLUMNS") or 0) or os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        cols = 0
    return max((cols or 100) - 1, 40)


class _Bar(tqdm):
    """tqdm counting bytes as `human_bytes` or another unit by name."""

    monitor_interval = 0  # each update looks at the clock (miniters=1): tqdm's watchdog thread has nothing to do

    def __init__(self, *args, fit_to=None, **kwargs) -> None:
        # Not tqdm's dynamic_ncols: a terminal that reports 0 rows (a fresh pty, `script`) makes
        # tqdm draw nothing at all. Set first: tqdm draws once inside its __init__.
        self.fit_to = fit_to
        super().__init__(*args, **kwargs)

    @property
    def format_dict(self):
        d = super().format_dict
        if self.fit_to is not None:
            self.ncols = d["ncols"] = _columns(self.fit_to)  # again at each redraw: the window may have changed
        n, total, unit = d["n"], d["total"], d["unit"]
        rate = d["rate"] or (n / d["elapsed"] if d["elapsed"] else 0)  # smoothed while running, the average at the end
        if unit == "B":
            amount = f"{human_bytes(n)}/{human_bytes(total)}" if total else human_bytes(n)
            speed = human_bytes(int(rate))
        else:
            amount = f"{n}/{total} {unit}" if total else f"{n} {unit}"
            speed = f"{int(rate)} {unit}"
        d.update(amount=amount, speed=speed + "/s")  # tqdm passes extra keys on to the format
        return d


class CliProgress:
    def __init__(self, stream=None, redraw_every: float = REDRAW_EVERY) -> None:
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.redraw_every = redraw_every
        self._bar: _Bar | None = None

    def begin(self, label: str, total: int | None, unit: str = "B") -> None:
        self.end()
        self._bar = _Bar(
            total=total or None, desc=_short(label), unit=unit, file=self.stream, position=0, leave=True,
            bar_format=_format(total, final=False), mininterval=self.redraw_every, miniters=1,
            fit_to=self.stream if self.interactive else None, nrows=20,
            # In a log: full cells only, and no drawing until the phase ends (end() writes the line).
            ascii=None if self.interactive else " #", delay=0 if self.interactive else math.inf)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def end(self) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        bar.bar_format = _format(bar.total, final=True)
        if not self.interactive and bar.n:
            self.stream.write(str(bar) + "\n")
        bar.close()  # on a terminal: the final state and a newline
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.interactive and self._bar is not None:
            self._bar.write(text, file=self.stream)  # clears the bar, writes the line, redraws the bar
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
