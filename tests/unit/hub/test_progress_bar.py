"""The CLI's progress display for sync: in-place bars with rate and ETA on a terminal, one line per
phase elsewhere."""

from __future__ import annotations

import io

from hub.progress_bar import CliProgress, human_bytes


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_shows_share_amount_rate_and_eta_then_the_total_time(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # the bar is cut to the terminal's width: pin one
    out = Tty()
    p = CliProgress(out)
    p.begin("weights/model.bin", 4 * 1024 * 1024)
    p.advance(1024 * 1024)
    p._draw()
    p.note("a remark")
    p.advance(3 * 1024 * 1024)
    p.end()
    text = out.getvalue()
    assert " 25.0% |#####               | 1.0 MiB/4.0 MiB" in text and "ETA " in text and "iB/s" in text
    assert "\r\x1b[Ka remark\n" in text
    assert text.endswith("\n") and "100.0% |####################| 4.0 MiB/4.0 MiB" in text and " in 0:00" in text


def test_without_a_terminal_each_phase_prints_one_line_and_empty_phases_none():
    out = io.StringIO()
    p = CliProgress(out)
    p.begin("git objects", None, unit="objects")
    p.begin("git objects", 12, unit="objects")
    p.advance(12)
    p.begin("empty.bin", 10)
    p.end()
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith("git objects  100.0% |####################| 12/12 objects  ")


def test_human_bytes():
    assert [human_bytes(n) for n in (5, 2048, 3 * 1024 ** 3)] == ["5 B", "2.0 KiB", "3.0 GiB"]
