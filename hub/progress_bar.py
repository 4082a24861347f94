"""Progress bars on stderr for long CLI commands (sync pull/push): amount, rate and ETA per phase.

Implements models_registry.sync.progress.Progress. On a terminal one line per phase is redrawn in
place (at most 10 times a second); otherwise each phase prints one line when it ends, so the logs
of cron jobs stay readable.
"""

from __future__ import annotations

import shutil
import sys
import time

REDRAW_EVERY = 0.1  # seconds


class CliProgress:
    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self._label = ""
        self._total: int | None = None
        self._done = 0
        self._unit = "B"
        self._started = 0.0
        self._drawn = 0.0
        self._active = False

    def begin(self, label: str, total: int | None, unit: str = "B") -> None:
        self.end()
        self._label, self._total, self._unit = label, total, unit
        self._done, self._started, self._drawn, self._active = 0, time.monotonic(), 0.0, True

    def advance(self, n: int) -> None:
        self._done += n
        if self.interactive and time.monotonic() - self._drawn >= REDRAW_EVERY:
            self._draw()

    def end(self) -> None:
        if not self._active:
            return
        self._active = False
        if self.interactive:
            self._draw(final=True)
            self.stream.write("\n")
        elif self._done:
            self.stream.write(self._line(final=True) + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        if self.interactive and self._active:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        if self.interactive and self._active:
            self._draw()
        self.stream.flush()

    def _draw(self, final: bool = False) -> None:
        self._drawn = time.monotonic()
        width = shutil.get_terminal_size((100, 20)).columns or 100
        self.stream.write("\r\x1b[K" + self._line(final)[: max(width - 1, 40)])
        self.stream.flush()

    def _line(self, final: bool) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = self._done / elapsed
        amount = self._fmt(self._done)
        parts = [_short(self._label)]
        if self._total:
            share = min(self._done / self._total, 1.0)
            bar = "#" * int(share * 20)
            total = self._fmt(self._total) if self._unit == "B" else f"{self._total} {self._unit}"
            amount = amount if self._unit == "B" else str(self._done)
            parts.append(f"{share * 100:5.1f}% |{bar:<20}| {amount}/{total}")
        else:
            parts.append(amount)
        parts.append(f"{self._fmt(int(rate))}/s")
        if final:
            parts.append(f"in {_clock(elapsed)}")
        elif self._total and rate > 0:
            parts.append(f"ETA {_clock(max(self._total - self._done, 0) / rate)}")
        return "  ".join(parts)

    def _fmt(self, n: int) -> str:
        return human_bytes(n) if self._unit == "B" else f"{n} {self._unit}"


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]


def _clock(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
