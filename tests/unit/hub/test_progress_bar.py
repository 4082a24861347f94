"""The CLI's progress display for sync: in-place bars with rate and ETA on a terminal, one line per
phase elsewhere."""

from __future__ import annotations

import io
import os
import re
import select

from hub.progress_bar import CliProgress, human_bytes


class Tty(io.StringIO):
    encoding = "utf-8"  # a terminal that shows tqdm's smooth bar

    def isatty(self) -> bool:
        return True


def test_terminal_bar_shows_share_amount_rate_and_eta_then_the_total_time(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")  # the bar is cut to the terminal's width: pin one
    out = Tty()
    p = CliProgress(out, redraw_every=0)  # draw on every advance, not at most 10 times a second
    p.begin("weights/model.bin", 4 * 1024 * 1024)
    p.advance(1024 * 1024)
    p.note("a remark")
    p.advance(3 * 1024 * 1024)
    p.end()
    text = out.getvalue()
    assert " 25.0% |█████               | 1.0 MiB/4.0 MiB" in text and "ETA " in text and "iB/s" in text
    # The note clears the bar's line, stands on its own line, and the bar is drawn again below it.
    assert re.search(r"\r +\ra remark\n\r[^\n]* 25\.0% \|", text), repr(text)
    assert text.endswith("\n") and text.count("\n") == 2  # the note's line and the phase's one line
    assert "100.0% |████████████████████| 4.0 MiB/4.0 MiB" in text and " in 00:00" in text


def test_terminal_redraws_at_most_ten_times_a_second():
    out = Tty()
    p = CliProgress(out)
    p.begin("weights/model.bin", 1000 * 1024)
    for _ in range(1000):  # well under 0.1 s
        p.advance(1024)
    p.end()
    assert out.getvalue().count("\r") <= 3, repr(out.getvalue())  # the first draw, the last, at most one between


def test_a_terminal_that_reports_no_size_still_gets_the_bar(monkeypatch):
    # A fresh pseudo-terminal says 0x0 (as under `script` or some CI runners); tqdm's own sizing
    # would then draw nothing at all.
    monkeypatch.delenv("COLUMNS", raising=False)
    master, slave = os.openpty()
    with open(slave, "w", encoding="utf-8") as tty:
        p = CliProgress(tty, redraw_every=0)
        p.begin("weights/model.bin", 2048)
        p.advance(1024)
        p.advance(1024)
        p.end()
    text = b""
    while select.select([master], [], [], 0.5)[0] and not text.endswith(b"\n"):
        text += os.read(master, 1 << 16)
    os.close(master)
    assert " 50.0% |" in text.decode() and "100.0% |" in text.decode() and " in 00:00" in text.decode(), text


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
